"""Step 3: pick folders, files or archives, scan them in the background, choose sessions.

*Load plan…* starts from a plan saved on Summary (or by ``xnat-upload --save-plan``): its sources
are scanned again in the background, and only when ``plan.planfile.resolve`` finds the very data
the plan was made for are its sessions ticked, their labels and every review decision restored.

Scanning runs in a worker (the scanner itself fans out to processes) and reports progress at
most every 50 ms, so the window stays responsive for 10,000-file folders. Every skipped file is
listed inline with its reason. When the project requires date verification, each session needs
its study day typed (or the explicit "I don't know the dates" opt-out), as in the official client.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_client.gui.widgets import MessageBar, header, hint, table_item
from desktop_client.labels import date_prompt, verify_study_day
from desktop_client.gui.wizard.state import WizardStep
from desktop_client.gui.workers import TaskHandle, TaskRunner
from desktop_client.scanning import ScanProgress
from desktop_client.scanning.model import ScanResult, Session
from desktop_client.demo.manifest import MANIFEST_NAME
from desktop_client.plan import planfile
from desktop_client.plan.draft import SessionPlan, UploadDraft
from desktop_client.plan.review import ScanReviewChoice

COLUMNS = ["", "Patient Name", "Patient ID", "Study Description (ID)", "Modalities", "Scans",
           "Files", "Study Date", "Verify day"]
_VERIFY = COLUMNS.index("Verify day")


def format_date(value: str) -> str:
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 and value.isdigit() else value or "—"


def study_title(session: Session) -> str:
    description = session.study_description or session.study_instance_uid
    return f"{description} ({session.study_id or '-'})"


class SelectPage(WizardStep):
    title = "Select data"
    scanFinished = Signal()
    demoRequested = Signal()

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.paths: list[str] = []
        self.result: ScanResult | None = None
        self._task: TaskHandle | None = None
        self._require_date = False
        self._single = False
        self._sessions: list[Session] = []
        self._draft: UploadDraft | None = None
        #: a plan file whose sources are being scanned again
        self._pending_plan: planfile.PlanFile | None = None
        #: a plan resolved against the scan: its sessions' plans and review decisions
        self._loaded: tuple[planfile.PlanFile, list[SessionPlan], dict[str, ScanReviewChoice]] | None = None
        self.setAcceptDrops(True)

        outer = QVBoxLayout(self)
        outer.addWidget(header("Select data"))
        outer.addWidget(hint("Add folders, DICOM files or zip/tar archives (or drop them here). "
                             "They are read in place and never modified."))
        bar = QHBoxLayout()
        self.add_folder_button = QPushButton("Add &folder…")
        self.add_folder_button.setToolTip("Add a folder (Ctrl+O)")
        self.add_folder_button.clicked.connect(self._pick_folder)
        self.add_files_button = QPushButton("Add files or &archives…")
        self.add_files_button.clicked.connect(self._pick_files)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        self.load_plan_button = QPushButton("Load &plan…")
        self.load_plan_button.setToolTip("Start from a plan saved on Summary: its folders are scanned "
                                         "again and its labels and review decisions restored")
        self.load_plan_button.clicked.connect(self._pick_plan)
        for b in (self.add_folder_button, self.add_files_button, self.clear_button,
                  self.load_plan_button):
            bar.addWidget(b)
        self.paths_label = QLabel("Nothing selected yet.")
        self.paths_label.setObjectName("hint")
        self.paths_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar.addWidget(self.paths_label, 1)
        outer.addLayout(bar)
        QShortcut(QKeySequence.StandardKey.Open, self, self._pick_folder)

        progress_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Scan progress")
        self.progress_label = QLabel()
        self.cancel_button = QPushButton("Cancel scan")
        self.cancel_button.clicked.connect(self.cancel_scan)
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.progress_label)
        progress_row.addWidget(self.cancel_button)
        self.progress_box = QWidget()
        self.progress_box.setLayout(progress_row)
        self.progress_box.hide()
        outer.addWidget(self.progress_box)

        self.message = MessageBar()
        outer.addWidget(self.message)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("selectSplitter")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Sessions found")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(self._item_changed)
        self.splitter.addWidget(self.table)
        self.skipped_tree = QTreeWidget()
        self.skipped_tree.setHeaderLabels(["Skipped file", "Reason"])
        self.skipped_tree.setRootIsDecorated(False)
        self.skipped_tree.setAccessibleName("Skipped files")
        self.skipped_tree.hide()
        self.splitter.addWidget(self.skipped_tree)
        self.empty = QLabel("<p style='font-size:13pt'>Drop folders, DICOM files or archives here</p>"
                            "<p>or use <b>Add folder…</b> (Ctrl+O) — or "
                            "<a href='demo'>try the built-in demo study</a>.</p>")
        self.empty.setObjectName("dropZone")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                           | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.empty.linkActivated.connect(lambda _link: self.demoRequested.emit())
        self.body = QStackedWidget()
        self.body.addWidget(self.empty)
        self.body.addWidget(self.splitter)
        outer.addWidget(self.body, 1)

        foot = QHBoxLayout()
        self.skipped_link = QLabel()
        self.skipped_link.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                                  | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.skipped_link.linkActivated.connect(self._toggle_skipped)
        foot.addWidget(self.skipped_link)
        foot.addStretch(1)
        self.select_all = QPushButton("Select &all")
        self.select_all.clicked.connect(lambda: self._check_all(True))
        self.select_none = QPushButton("Select none")
        self.select_none.clicked.connect(lambda: self._check_all(False))
        self.unknown_dates = QCheckBox("I don't know the dates of these sessions")
        self.unknown_dates.toggled.connect(self._refresh_verify)
        self.unknown_dates.hide()
        foot.addWidget(self.unknown_dates)
        foot.addWidget(self.select_all)
        foot.addWidget(self.select_none)
        outer.addLayout(foot)
        self._fill_table()

    # Selection -----------------------------------------------------------------------------------

    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder")
        if folder:
            self.add_paths([folder])

    def _pick_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add files or archives", "",
                                                "DICOM, archives or any file (*)")
        if files:
            self.add_paths(files)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.add_paths(paths)
            event.acceptProposedAction()

    def add_paths(self, paths: list[str]) -> None:
        """Add to the selection and rescan everything (unchanged files come from the scan cache)."""
        self._forget_plan()
        self.body.setCurrentWidget(self.splitter)
        for p in paths:
            p = os.path.abspath(p)
            if p not in self.paths:
                self.paths.append(p)
        self._show_paths()
        self.start_scan()

    def clear(self) -> None:
        self.cancel_scan()
        self._forget_plan()
        self.paths = []
        self.result = None
        self._sessions = []
        self._show_paths()
        self._fill_table()
        self.message.clear()
        self.completeChanged.emit()

    # Saved plans ---------------------------------------------------------------------------------

    def _pick_plan(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load plan", "", "Plans (*.json)")
        if path:
            self.load_plan(path)

    def load_plan(self, path: str) -> None:
        """Read a plan file and scan its sources again; ``_plan_scanned`` checks and applies it.

        A plan made for another destination or project is refused here: its labels and the
        scripts its decisions were reviewed under belong to that one."""
        try:
            plan = planfile.load(path)
        except ValueError as exc:
            self.message.error(f"The plan cannot be loaded: {exc}.")
            return
        mismatch = self._other_destination(plan)
        if mismatch:
            self.message.error(mismatch)
            return
        self.cancel_scan()
        self._forget_plan()
        self._pending_plan = plan
        self.paths = list(plan.sources)
        self.body.setCurrentWidget(self.splitter)
        self._show_paths()
        self.start_scan()

    def _other_destination(self, plan: planfile.PlanFile) -> str:
        """Why ``plan`` cannot be used with the destination and project chosen, or ""."""
        draft = self._draft
        if draft is None or draft.target is None or draft.project is None:
            return "Choose the destination and project first, then load the plan."
        dest = draft.target.destination
        if (plan.destination.kind, plan.destination.url) != (dest.kind, dest.url):
            return (f"This plan is for {plan.destination.url}, not {dest.url}: choose that "
                    "destination on the first step, then load the plan again.")
        if plan.project != draft.project.id:
            return (f"This plan is for project {plan.project}, not {draft.project.id}: choose that "
                    "project, then load the plan again.")
        # A local folder's scripts come from Settings: the upload would run today's, not the plan's.
        if (plan.scripts is not None and draft.settings is not None
                and plan.scripts != draft.settings.named_scripts):
            return ("The anonymization scripts changed since this plan was made: review the upload "
                    "again (or restore the scripts in Settings), then save a new plan.")
        return ""

    def _plan_scanned(self, plan: planfile.PlanFile, result: ScanResult) -> None:
        """Apply a plan to its fresh scan, or refuse it when the data are not what it was made for."""
        if result.cancelled:
            self.message.info("The scan was cancelled: the plan was not applied. Load it again.")
            return
        try:
            plans, decisions = planfile.resolve(plan, list(result.sessions))
        except ValueError as exc:
            self.message.error(f"The plan cannot be used: {exc}.")
            return
        if self._single and len(plans) > 1:
            self.message.error(f"The plan has {len(plans)} sessions and this project takes one at a "
                               "time: choose a project that allows bulk uploads.")
            return
        self._loaded = (plan, plans, decisions)
        chosen = {p.session.study_instance_uid for p in plans}
        self.set_checked([row for row, s in enumerate(self._sessions) if s.study_instance_uid in chosen])
        self.message.ok(f"Plan loaded: {len(plans)} session(s) with their labels and "
                        f"{len(decisions)} review decision(s). Check them on the next steps.")

    def _forget_plan(self) -> None:
        self._pending_plan = None
        self._loaded = None

    def _show_paths(self) -> None:
        if not self.paths:
            self.paths_label.setText("Nothing selected yet.")
            return
        names = ", ".join(Path(p).name or p for p in self.paths[:3])
        more = f" and {len(self.paths) - 3} more" if len(self.paths) > 3 else ""
        self.paths_label.setText(names + more)
        self.paths_label.setToolTip("\n".join(self.paths))

    # Scanning ------------------------------------------------------------------------------------

    @property
    def scanning(self) -> bool:
        return self._task is not None

    def start_scan(self) -> None:
        self.cancel_scan()
        if not self.paths:
            return
        paths = list(self.paths)
        self.progress.setRange(0, 0)
        self.progress_label.setText("Looking for files…")
        self.progress_box.show()
        self.message.clear()
        self.completeChanged.emit()

        def work(report: Callable[[ScanProgress], None], cancel: threading.Event) -> ScanResult:
            from desktop_client.scanning import scan_paths

            return scan_paths(paths, progress=report, cancel=cancel)

        def progress(p: ScanProgress) -> None:
            total = max(int(p.files_total), 1)
            self.progress.setRange(0, total)
            self.progress.setValue(int(p.files_done))
            self.progress_label.setText(f"{p.files_done:,} of {p.files_total:,} files · "
                                        f"{p.instances:,} DICOM · {p.skipped:,} skipped")

        def done(result: ScanResult) -> None:
            self._task = None
            self.progress_box.hide()
            self.set_result(result)
            plan, self._pending_plan = self._pending_plan, None
            if plan is not None:
                self._plan_scanned(plan, result)
            self.scanFinished.emit()

        def failed(exc: BaseException) -> None:
            self._task = None
            self._pending_plan = None
            self.progress_box.hide()
            self.message.error(f"The scan failed: {exc}. Check that the files are readable and try again.")
            self.completeChanged.emit()
            self.scanFinished.emit()

        self._task = self.runner.start("scan", work, on_done=done, on_error=failed, on_progress=progress)

    def cancel_scan(self) -> None:
        if self._task is not None:
            self._task.detach()
            self._task = None
            self.progress_box.hide()
            self.message.info("Scan cancelled. Add the files again to restart it.")
            self.completeChanged.emit()

    def set_result(self, result: ScanResult) -> None:
        self.result = result
        self._sessions = list(result.sessions)
        self._fill_table()
        if result.cancelled:
            self.message.info("The scan was cancelled; the list shows what was found until then.")
        elif not result.sessions:
            self.message.error("No DICOM files were found in the selection. Pick the folder that "
                               "holds the images (any DICOM file, zip or tar archive works).")
        else:
            files = sum(s.files for s in result.sessions)
            cached = f", {result.from_cache:,} unchanged since the last scan" if result.from_cache else ""
            self.message.ok(f"Found {len(result.sessions)} session(s), {files:,} DICOM file(s) in "
                            f"{result.elapsed:.1f} s{cached}.")
        self.completeChanged.emit()

    # Table ---------------------------------------------------------------------------------------

    def _fill_table(self) -> None:
        self.body.setCurrentWidget(self.splitter if self.paths else self.empty)
        for button in (self.select_all, self.select_none):
            button.setVisible(len(self._sessions) > 1)
        self.table.blockSignals(True)
        self.table.setRowCount(len(self._sessions))
        for row, session in enumerate(self._sessions):
            check = QTableWidgetItem()
            check.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled
                           | Qt.ItemFlag.ItemIsSelectable)
            checked = len(self._sessions) == 1
            check.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            check.setData(Qt.ItemDataRole.AccessibleTextRole, "Upload this session")
            self.table.setItem(row, 0, check)
            values = [session.patient_name or "—", session.patient_id or "—", study_title(session),
                      ", ".join(session.modalities) or "—", str(len(session.scans)),
                      f"{session.files:,}", format_date(session.study_date)]
            for col, value in enumerate(values, start=1):
                item = QTableWidgetItem(value)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                self.table.setItem(row, col, item)
            self.table.setItem(row, _VERIFY, self._verify_item(session))
        self.table.blockSignals(False)
        self.table.setColumnHidden(_VERIFY, not self._require_date)
        # The demo study's own manifest (its list of fake burned-in text) is not a skipped
        # file the user needs to hear about.
        skipped = [s for s in (self.result.skipped if self.result else [])
                   if Path(s.path).name != MANIFEST_NAME]
        if skipped:
            self.skipped_link.setText(f'<a href="#">{len(skipped):,} file(s) skipped — show why</a>')
        else:
            self.skipped_link.setText("")
        self.skipped_tree.clear()
        self.skipped_tree.addTopLevelItems([QTreeWidgetItem([s.path, s.reason]) for s in skipped])
        self.skipped_tree.hide()
        self._refresh_verify()

    def _verify_item(self, session: Session) -> QTableWidgetItem:
        item = QTableWidgetItem("")
        prefix = date_prompt(session.study_date)
        item.setToolTip(f"Type the day of the study: {prefix}DD" if prefix else
                        "This session has no study date: use “I don't know the dates”.")
        item.setData(Qt.ItemDataRole.AccessibleTextRole, "Type the study day")
        return item

    def _toggle_skipped(self, _link: str = "") -> None:
        self.skipped_tree.setVisible(not self.skipped_tree.isVisible())
        if self.skipped_tree.isVisible():
            self.skipped_tree.resizeColumnToContents(0)

    def _check_all(self, on: bool) -> None:
        if on and self._single:
            self.message.info("This project takes one session at a time; tick the one to upload.")
            return
        self.table.blockSignals(True)
        for row in range(self.table.rowCount()):
            table_item(self.table, row, 0).setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self.table.blockSignals(False)
        self.completeChanged.emit()

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == 0 and self._single and item.checkState() == Qt.CheckState.Checked:
            self.table.blockSignals(True)
            for row in range(self.table.rowCount()):
                if row != item.row():
                    table_item(self.table, row, 0).setCheckState(Qt.CheckState.Unchecked)
            self.table.blockSignals(False)
        if item.column() == _VERIFY:
            self._refresh_verify()
        self.completeChanged.emit()

    def _refresh_verify(self) -> None:
        need = self._require_date and not self.unknown_dates.isChecked()
        self.table.setColumnHidden(_VERIFY, not need)
        self.unknown_dates.setVisible(self._require_date)
        self.completeChanged.emit()

    def checked_sessions(self) -> list[Session]:
        return [s for row, s in enumerate(self._sessions)
                if table_item(self.table, row, 0).checkState() == Qt.CheckState.Checked]

    def set_checked(self, indexes: list[int]) -> None:
        for row in range(self.table.rowCount()):
            table_item(self.table, row, 0).setCheckState(
                Qt.CheckState.Checked if row in indexes else Qt.CheckState.Unchecked)

    def type_day(self, row: int, text: str) -> None:
        """Set the typed study day of ``row`` (what the user types in the Verify column)."""
        table_item(self.table, row, _VERIFY).setText(text)

    def _unverified(self) -> list[Session]:
        if not self._require_date or self.unknown_dates.isChecked():
            return []
        bad = []
        for row, session in enumerate(self._sessions):
            if table_item(self.table, row, 0).checkState() != Qt.CheckState.Checked:
                continue
            if not verify_study_day(session.study_date, table_item(self.table, row, _VERIFY).text()):
                bad.append(session)
        return bad

    # Wizard --------------------------------------------------------------------------------------

    def enter(self, draft: UploadDraft) -> None:
        self._draft = draft
        settings = draft.settings
        self._require_date = bool(settings and settings.require_date)
        self._single = bool(settings and not settings.allow_bulk)
        self._refresh_verify()
        if self._single and len(self.checked_sessions()) > 1:
            self._check_all(False)

    def is_complete(self) -> bool:
        return not self.scanning and bool(self.checked_sessions()) and not self._unverified()

    def blocking_message(self) -> str:
        if self.scanning:
            return "Scanning…"
        if not self.paths:
            return "Add folders, files or archives."
        if not self.checked_sessions():
            return "Tick the sessions to upload."
        if self._unverified():
            return "Type the study day of each ticked session (or tick “I don't know the dates”)."
        return ""

    def advance(self, draft: UploadDraft, proceed: Callable[[], None]) -> None:
        chosen = self.checked_sessions()
        old = {p.session.study_instance_uid: p for p in draft.plans}
        # Review decisions are kept (by SeriesInstanceUID) whatever the new selection is.
        draft.scan_result = self.result
        draft.sources = list(self.paths)
        # A plan is kept (with the labels typed for it) only for the very same scanned session;
        # a rescan produces new Session objects whose scans may differ.
        draft.plans = [old[s.study_instance_uid] if s.study_instance_uid in old
                       and old[s.study_instance_uid].session is s else SessionPlan(session=s)
                       for s in chosen]
        if self._loaded is not None:
            # Once: what the user changes on the next steps is theirs, not overwritten on return.
            plan, plans, decisions = self._loaded
            self._loaded = None
            loaded = {p.session.study_instance_uid: p for p in plans}
            draft.plans = [loaded.get(p.session.study_instance_uid, p) for p in draft.plans]
            draft.review.update(decisions)
            if plan.lookup_table is not None:
                draft.lookup_table = plan.lookup_table
        proceed()
