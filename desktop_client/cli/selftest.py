"""``xnat-upload self-test``: check that this installation can decode, redact and anonymize.

The same checks as the desktop bundle's ``--self-test`` (``desktop_client.selftest``): every codec
plugin, one sample per supported transfer syntax, a DicomEdit script, worker processes and Qt
offscreen. Exit status 0 only when every required check passes, 1 otherwise.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "self-test", help="check codecs, redaction and anonymization on built-in samples",
        description="Check that this installation can decode, redact and anonymize every supported "
                    "DICOM encoding, using small built-in synthetic samples. Needs no display and "
                    "no network; prints one line per check.")
    parser.add_argument("--no-qt", action="store_true",
                        help="skip the Qt check (for installations used only from the command line)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from desktop_client.selftest import run

    return run(qt=not args.no_qt)
