"""The main window: a sidebar (Upload, Transfers, Settings) and the page it selects.

It owns the long-lived parts — the task runner, the connection store and the transfer queue —
and wires the wizard's Upload to the queue. Window geometry and every splitter position are
remembered in QSettings (an ini file in the app's config dir, so tests stay isolated).
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QSystemTrayIcon,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_client import APP_NAME, __version__
from desktop_client.core.paths import config_dir
from desktop_client.gui.connections import ConnectionStore
from desktop_client.gui.settings_page import SettingsPage
from desktop_client.plan.settings import AppSettings
from desktop_client.plan.targets import explain_error
from desktop_client.gui.theme import app_icon, apply_theme
from desktop_client.gui.transfers_page import TransfersPage
from desktop_client.gui.wizard.confirm import ConfirmPage
from desktop_client.gui.wizard.connect_page import ConnectPage
from desktop_client.gui.wizard.project_page import ProjectPage
from desktop_client.gui.wizard.review_page import ReviewPage
from desktop_client.gui.wizard.select_page import SelectPage
from desktop_client.gui.wizard.summary_page import SummaryPage
from desktop_client.gui.wizard.wizard import UploadWizard
from desktop_client.gui.workers import TaskRunner
from desktop_client.plan.draft import UploadDraft

if TYPE_CHECKING:  # the transfer package loads its parts lazily; the window needs only their types
    from desktop_client.transfer import TransferQueue, TransferSpec

log = logging.getLogger(__name__)

PAGES = ("Upload", "Transfers", "Settings")


def warm_imports() -> None:
    """Import the core modules the screens use before the window is shown, then freeze them.

    Importing a module holds Python's import lock (and compiling it the interpreter), so a first
    import from a worker while the user works can stall the UI thread; doing it once at start,
    before the event loop runs, keeps every later interaction smooth. None of these modules opens
    a socket or touches the network when imported.

    ``gc.freeze()`` then moves everything that exists at start (modules, classes, Qt wrappers)
    out of the cyclic collector's reach: a full collection, which holds the interpreter for its
    whole duration, otherwise walks all of them and measurably stalled the UI thread (~0.5 s)
    while a 10,000-file scan was allocating.
    """
    import keyring  # noqa: F401
    import requests  # noqa: F401

    import desktop_client.dicomedit  # noqa: F401
    import desktop_client.grouping  # noqa: F401
    import desktop_client.scanning  # noqa: F401
    import desktop_client.xnat  # noqa: F401

    gc.collect()
    gc.freeze()


def window_state() -> QSettings:
    from desktop_client.core.privacy import make_private

    make_private(config_dir() / "window.ini")  # Qt writes it with the umask otherwise
    return QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings, queue: TransferQueue, store: ConnectionStore | None = None,
                 runner: TaskRunner | None = None) -> None:
        super().__init__()
        warm_imports()
        self.settings = settings
        self.queue = queue
        self.store = store or ConnectionStore()
        self.runner = runner or TaskRunner(self)
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        self.setMinimumSize(900, 600)
        self.resize(self._first_size())

        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        side = QWidget()
        side.setObjectName("sidebar")
        side.setFixedWidth(190)
        sv = QVBoxLayout(side)
        sv.setContentsMargins(0, 0, 0, 8)
        title = QLabel("XNAT Uploader")
        title.setObjectName("appTitle")
        sv.addWidget(title)
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setAccessibleName("Sections")
        for i, name in enumerate(PAGES):
            item = QListWidgetItem(name)
            item.setToolTip(f"{name} (Alt+{i + 1})")
            self.nav.addItem(item)
        sv.addWidget(self.nav, 1)
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.quit_action.setToolTip("Quit (Ctrl+Q): running transfers pause and resume at the next start")
        self.quit_action.triggered.connect(self.close)
        self.addAction(self.quit_action)
        quit_button = QToolButton()
        quit_button.setObjectName("sideButton")
        quit_button.setDefaultAction(self.quit_action)
        quit_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        sv.addWidget(quit_button)
        version = QLabel(f"  v{__version__}")
        version.setObjectName("appTitle")
        sv.addWidget(version)
        row.addWidget(side)

        self.pages = QStackedWidget()
        row.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self.connect_page = ConnectPage(self.store, self.runner)
        self.project_page = ProjectPage(self.runner)
        self.select_page = SelectPage(self.runner)
        self.confirm_page = ConfirmPage(self.runner)
        self.review_page = ReviewPage()
        self.summary_page = SummaryPage(self.runner, self._submit, self._receipt_options)
        self.wizard = UploadWizard([self.connect_page, self.project_page, self.select_page,
                                    self.confirm_page, self.review_page, self.summary_page])
        self.transfers = TransfersPage(queue, self.runner, self.store)
        self.settings_page = SettingsPage(settings, self.store)
        if self.store.get(settings.default_destination) is not None:
            self.connect_page.select(settings.default_destination)
        for page in (self.wizard, self.transfers, self.settings_page):
            self.pages.addWidget(page)
        self.nav.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.nav.setCurrentRow(0)
        for i in range(len(PAGES)):
            QShortcut(QKeySequence(f"Alt+{i + 1}"), self, lambda i=i: self.nav.setCurrentRow(i))
        self.settings_page.changed.connect(self._settings_changed)
        self.transfers.notify.connect(self.notify)
        self.wizard.stepChanged.connect(self._step_changed)
        self.select_page.demoRequested.connect(self._demo_from_select)
        self.wizard.uploaded.connect(self._after_upload)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.styleHints().colorSchemeChanged.connect(self._system_scheme_changed)
        self._demo_requested = False
        self._start_paths: list[str] = []
        self._tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self._tray = QSystemTrayIcon(app_icon(), self)
            self._tray.show()
        self.statusBar().showMessage("Ready", 3000)
        self._restore_layout()

    @staticmethod
    def _first_size() -> QSize:
        """1180×760, or less on a smaller screen (a 1280×720 laptop): the window must fit,
        title bar and Next button included, before the user ever resizes it."""
        screen = QGuiApplication.primaryScreen()
        if screen is None:
            return QSize(1180, 760)
        available = screen.availableGeometry()
        # Leave room for the window frame and title bar the window manager adds.
        return QSize(min(1180, available.width() - 16), min(760, available.height() - 40))

    # Layout memory -----------------------------------------------------------------------------

    def _splitters(self) -> list[QSplitter]:
        return [s for s in self.findChildren(QSplitter) if s.objectName()]

    def _restore_layout(self) -> None:
        state = window_state()
        geometry = state.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        for splitter in self._splitters():
            value = state.value(f"splitters/{splitter.objectName()}")
            if value is not None:
                splitter.restoreState(value)

    def save_layout(self) -> None:
        state = window_state()
        state.setValue("window/geometry", self.saveGeometry())
        for splitter in self._splitters():
            state.setValue(f"splitters/{splitter.objectName()}", splitter.saveState())
        state.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.save_layout()
        self.transfers.shutdown()
        self.runner.shutdown()
        super().closeEvent(event)

    # Upload ------------------------------------------------------------------------------------

    def _receipt_options(self) -> tuple[str | None, bool]:
        folder = str(self.settings.receipts_path()) if self.settings.receipts_folder else None
        return folder, self.settings.receipts_pdf

    def _submit(self, draft: UploadDraft, specs: list[TransferSpec], ok: Callable[[], None],
                failed: Callable[[str], None]) -> None:
        """Create new subjects, then queue every spec (in the background)."""
        target, project = draft.target, draft.project
        assert target is not None and project is not None
        plans = list(draft.plans)

        def work() -> list[str]:
            created: set[str] = set()
            for plan in plans:
                if plan.create_subject and plan.subject not in created:
                    target.create_subject(project.id, plan.subject, plan.subject_group)
                    created.add(plan.subject)
            return [self.queue.submit(spec) for spec in specs]

        def done(ids: list[str]) -> None:
            ok()
            self.statusBar().showMessage(f"Queued {len(ids)} upload(s).", 5000)
            self.nav.setCurrentRow(1)
            self.transfers.set_batch(ids)
            self.transfers.reload(select=ids[0] if ids else None)

        def error(exc: BaseException) -> None:
            failed(f"Nothing was queued. {explain_error(exc)}")

        self.runner.call("submit", work, on_done=done, on_error=error)

    def _after_upload(self) -> None:
        """Back on Select data with nothing ticked, so the same sessions are not queued twice."""
        count = len(self.draft.plans)
        self.select_page.set_checked([])
        self.select_page.message.ok(f"Queued {count} upload(s) — see Transfers. Tick other sessions "
                                    "or add more data to upload again.")

    # Demo and defaults -------------------------------------------------------------------------

    def start_demo(self, paths: list[str] | None = None) -> None:
        """Open straight into Select data with the local archive and the demo study (or ``paths``)."""
        self._demo_requested = True
        self._start_paths = list(paths or [])
        self.nav.setCurrentRow(0)
        self.connect_page.select(self.store.connections[0].id)
        self.wizard.next()

        def project_ready() -> None:
            if self.wizard.index == 1 and self.project_page.is_complete():
                self.project_page.completeChanged.disconnect(project_ready)
                self.wizard.next()

        self.project_page.completeChanged.connect(project_ready)
        project_ready_now = self.wizard.index == 1 and self.project_page.is_complete()
        if project_ready_now:
            project_ready()

    def _step_changed(self, index: int) -> None:
        if (self.wizard.current is self.select_page and not self.select_page.paths
                and self._demo_requested):
            self._demo_requested = False
            if self._start_paths:
                self.select_page.add_paths(self._start_paths)
            else:
                self.load_demo_data()

    def _demo_from_select(self) -> None:
        if not self.select_page.paths:
            self.load_demo_data()

    def load_demo_data(self) -> None:
        """Generate (first time) or reuse the cached demo study and scan it."""
        self.select_page.message.info("Preparing the demo study (first time only)…")
        self.select_page.progress_box.show()
        self.select_page.progress.setRange(0, 0)

        def work() -> Path:
            from desktop_client.demo import ensure_demo_dataset

            return ensure_demo_dataset()

        def done(path: Path) -> None:
            self.select_page.scanFinished.connect(self._preselect_demo)
            self.select_page.add_paths([str(path)])

        def failed(exc: BaseException) -> None:
            self.select_page.progress_box.hide()
            self.select_page.message.error(f"The demo study could not be prepared: {exc}")

        self.runner.call("demo-data", work, on_done=done, on_error=failed)

    def _preselect_demo(self) -> None:
        """Tick the first demo study so the flow can go on at once."""
        self.select_page.scanFinished.disconnect(self._preselect_demo)
        if self.select_page._sessions and not self.select_page.checked_sessions():
            self.select_page.set_checked([0])

    # Settings and notifications ----------------------------------------------------------------

    def _settings_changed(self, settings: AppSettings) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, settings.theme)
        logging.getLogger("desktop_client").setLevel(settings.log_level)
        self.queue.concurrency = settings.concurrency

    def _system_scheme_changed(self, *_args: object) -> None:
        """Follow the system's light/dark switch while the app runs (theme "system" only)."""
        app = QApplication.instance()
        if self.settings.theme == "system" and isinstance(app, QApplication):
            apply_theme(app, "system")

    def notify(self, text: str) -> None:
        """Tell the user a transfer ended: a system notification if there is a tray, else the status bar."""
        self.statusBar().showMessage(text, 10000)
        if self._tray is not None and self.settings.notifications:
            self._tray.showMessage(APP_NAME, text, app_icon(), 8000)

    def show_page(self, name: str) -> None:
        self.nav.setCurrentRow(PAGES.index(name))

    @property
    def draft(self) -> UploadDraft:
        return self.wizard.draft
