"""Entry script of the frozen application (PyInstaller): the GUI, or ``--self-test``.

``multiprocessing.freeze_support()`` must run first: the scanner and the transfer queue start
worker processes (forkserver on Linux, spawn elsewhere) by re-running this executable, and without
it every worker would open another copy of the application.

``--self-test`` is dispatched before anything imports Qt widgets, so it runs without a display
(the self-test itself creates an offscreen ``QApplication`` as its last check).
"""

from __future__ import annotations

import multiprocessing
import sys


def main() -> int:
    multiprocessing.freeze_support()
    argv = sys.argv[1:]
    if "--self-test" in argv:
        if sys.stdout is None:
            # A windowed build (Windows, macOS) has no console streams: write the report to the
            # log folder instead; the exit status still tells pass/fail.
            from desktop_client.core.paths import log_dir

            sys.stdout = sys.stderr = open(log_dir() / "self-test.txt", "w", encoding="utf-8")  # noqa: SIM115
        from desktop_client.selftest import main as self_test

        return self_test(argv)
    from desktop_client.gui.app import main as gui

    return gui(argv)


if __name__ == "__main__":
    raise SystemExit(main())
