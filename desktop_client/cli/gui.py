"""``xnat-upload gui``: start the desktop application (the same as ``xnat-desktop``)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gui", help="open the desktop application",
                                   description="Open the desktop application.")
    from desktop_client.gui.app import add_arguments

    add_arguments(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from desktop_client.gui.app import run

    return run(args)
