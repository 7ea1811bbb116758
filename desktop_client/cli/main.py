"""Entry point of ``xnat-upload`` (and ``python -m desktop_client``).

Each sub-command lives in its own module exposing ``register(subparsers)``; the module list below
is the whole command set. Errors a user can act on are raised as ``UserError`` and printed to
stderr as one sentence with a non-zero exit code; nothing else is caught, so real bugs keep their
tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from desktop_client import __version__
from desktop_client.cli.common import UserError

COMMAND_MODULES = (
    "desktop_client.cli.gui",
    "desktop_client.cli.scan",
    "desktop_client.cli.demo",
    "desktop_client.cli.anonymize",
    "desktop_client.cli.redact",
    "desktop_client.cli.detect",
    "desktop_client.cli.upload",
    "desktop_client.cli.templates",
    "desktop_client.cli.selftest",
    "desktop_client.cli.privacy",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xnat-upload",
        description="Scan, review, redact, anonymize and upload DICOM sessions to XNAT.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from desktop_client.cli.privacy import apply_user_settings

    apply_user_settings()
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"xnat-upload: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (``| head``): not an error worth a traceback.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("xnat-upload: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
