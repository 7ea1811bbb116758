"""Start the desktop application (``xnat-desktop``, ``xnat-upload gui``).

Nothing here touches the network or opens a socket: the transfer queue only resumes transfers
the user queued earlier, and a server is contacted only when the user logs in.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import sys
from typing import TYPE_CHECKING, Sequence

from desktop_client import APP_NAME, APP_SLUG, __version__
from desktop_client.core.paths import log_dir, set_temp_dir

if TYPE_CHECKING:  # imported where used: the parser and ``--version`` load no Qt
    from desktop_client.gui.main_window import MainWindow
    from desktop_client.transfer import DestinationSpec, TransferQueue

#: How often a window that found the transfer queue busy tries to take it over.
RETRY_QUEUE_MS = 5_000


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xnat-desktop", description=f"{APP_NAME} (desktop application)")
    add_arguments(parser)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--demo", action="store_true",
                        help="open straight into Select data with the local archive folder and the "
                             "built-in demo study")
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="folders, files or archives to put in Select data")


def setup_logging(level: str) -> None:
    """Log to a rotating file in the log dir (never patient data; see the logging policy)."""
    from desktop_client.core.logscrub import ScrubbingFormatter
    from desktop_client.core.privacy import make_private

    make_private(log_dir() / "xnat-desktop.log")  # private from the first line (issue 14)
    handler = logging.handlers.RotatingFileHandler(log_dir() / "xnat-desktop.log", maxBytes=5_000_000,
                                                   backupCount=3, encoding="utf-8")
    # Tracebacks of unexpected errors quote paths, whose folder names carry patient names and
    # IDs: every path outside the installation becomes a keyed token (issue 14).
    handler.setFormatter(ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("desktop_client")
    root.addHandler(handler)
    root.setLevel(level)


def create_window(demo: bool = False, paths: Sequence[str] = ()) -> MainWindow:
    """Build the application objects and the main window (used by ``main`` and the tests)."""
    from PySide6.QtWidgets import QApplication

    from desktop_client.gui.connections import ConnectionStore
    from desktop_client.gui.main_window import MainWindow
    from desktop_client.plan.settings import load_settings
    from desktop_client.gui.theme import apply_theme
    from desktop_client.transfer import TransferQueue, default_credentials
    from desktop_client.transfer.queue import QueueBusy

    app = QApplication.instance()
    assert isinstance(app, QApplication), "create a QApplication first"
    settings = load_settings()
    from desktop_client.core.processes import use_private_runtime_dir
    from desktop_client.plan.settings import apply_privacy_settings

    apply_privacy_settings(settings)
    use_private_runtime_dir()  # every process pool's sockets in a private folder (issue 14)
    set_temp_dir(settings.temp_folder or None)
    apply_theme(app, settings.theme)
    store = ConnectionStore()

    def credentials(dest: DestinationSpec) -> str | None:
        conn = next((c for c in store.connections if c.url.rstrip("/") == dest.url.rstrip("/")
                     and c.username == dest.username), None)
        typed = store.password(conn) if conn is not None else None
        return typed or default_credentials(dest)

    queue = TransferQueue(concurrency=settings.concurrency, credentials=credentials)
    window = MainWindow(settings, queue, store)
    try:
        queue.start()
    except QueueBusy as exc:
        _run_queue_when_free(window, queue, str(exc))
    from desktop_client.gui.main_window import window_state

    state = window_state()
    first_launch = not state.value("app/launched", False, type=bool)
    state.setValue("app/launched", True)
    if demo or paths or (first_launch and not any(not c.is_local for c in store.connections)):
        window.start_demo(list(paths))
    return window


def _run_queue_when_free(window: MainWindow, queue: TransferQueue, reason: str) -> None:
    """Another process (a command-line upload, a second window) runs the transfer queue: say so
    where the user looks, keep the window usable, and take the queue over once it is free."""
    from PySide6.QtCore import QTimer

    from desktop_client.transfer.queue import QueueBusy

    window.statusBar().showMessage(f"Transfers are not run by this window: {reason}.")
    timer = QTimer(window)  # the window owns it; ``retry`` keeps its wrapper
    timer.setInterval(RETRY_QUEUE_MS)

    def retry() -> None:
        try:
            queue.start()
        except QueueBusy:
            return
        timer.stop()
        window.statusBar().showMessage("The other instance has finished: this window now runs the transfers.",
                                       10_000)

    timer.timeout.connect(retry)
    timer.start()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(args)


def run(args: argparse.Namespace) -> int:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from desktop_client.plan.settings import load_settings
    from desktop_client.gui.theme import app_icon

    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication), "a QCoreApplication (no widgets) is already running"
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_SLUG)
    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    setup_logging(load_settings().log_level)
    window = create_window(demo=args.demo, paths=args.paths)
    window.show()
    _close_on_signals(window)
    # Named, not __name__: run as ``python -m desktop_client.gui.app`` this module is __main__.
    logging.getLogger("desktop_client.gui.app").info("main window shown")
    code = app.exec()
    window.queue.stop()
    return int(code)


def _close_on_signals(window: MainWindow) -> None:
    """SIGTERM (a logout, ``kill``) and SIGINT (Ctrl+C in the terminal) close the window as Quit
    does: transfers are paused where they can resume, worker processes are shut down (no leaked
    semaphores) and the layout is saved.

    Python runs signal handlers only between bytecodes, and Qt's event loop is C++: a short
    timer hands control back to the interpreter now and then so that the handler runs.
    """
    import signal

    from PySide6.QtCore import QTimer

    def handler(_signum: int, _frame: object) -> None:
        QTimer.singleShot(0, window.close)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    ticker = QTimer(window)  # the window owns it (and stops it when it goes)
    ticker.setInterval(200)
    ticker.timeout.connect(lambda: None)
    ticker.start()


if __name__ == "__main__":
    raise SystemExit(main())
