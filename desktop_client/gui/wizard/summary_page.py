"""Step 6: what will be sent, in numbers, and the Upload button.

Upload creates any new subjects and queues one transfer per session in the background; the
window then switches to Transfers. What would stop the upload is offered a way out here, in
place: a session with every scan left out can be left out of the upload, a study the receipts
show was already sent to this destination is sent again or skipped. The numbers, the rules and
the plan file all come from ``desktop_client.plan``.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_client.core.paths import data_dir
from desktop_client.gui.widgets import Card, MessageBar, clear_layout, header, hint, human_bytes
from desktop_client.gui.wizard.state import WizardStep
from desktop_client.gui.workers import TaskHandle, TaskRunner
from desktop_client.plan import planfile
from desktop_client.plan.draft import SessionPlan, UploadDraft
from desktop_client.plan.history import PreviousUpload, previous_uploads
from desktop_client.plan.rules import empty_sessions, leave_out, session_totals
from desktop_client.plan.specs import SummaryCounts, count_rejected, draft_specs, summarize
from desktop_client.transfer.spec import TransferSpec

Submit = Callable[[UploadDraft, list[TransferSpec], Callable[[], None], Callable[[str], None]], None]


def _session_name(plan: SessionPlan) -> str:
    return plan.label or plan.session.study_description or plan.session.study_instance_uid


class SummaryPage(WizardStep):
    title = "Summary"

    def __init__(self, runner: TaskRunner, submit: Submit,
                 receipt_options: Callable[[], tuple[str | None, bool]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self._rejected_task: TaskHandle | None = None
        self._history_task: TaskHandle | None = None
        self.submit = submit
        self.receipt_options = receipt_options  # () -> (receipt folder or None, write a PDF?)
        self.counts = SummaryCounts()
        self.draft: UploadDraft | None = None
        self._busy = False
        #: earlier uploads found in the receipts, by Study Instance UID, not yet answered
        self.duplicates: dict[str, PreviousUpload] = {}
        #: studies the user chose to send again although the receipts show them sent
        self._send_again: set[str] = set()
        self._checking_history = False
        outer = QVBoxLayout(self)
        outer.addWidget(header("Summary"))
        self.destination = hint("")
        self.destination.setWordWrap(True)
        outer.addWidget(self.destination)
        card = Card()
        grid = QGridLayout()
        grid.setVerticalSpacing(2)
        grid.setHorizontalSpacing(24)
        self.values: dict[str, QLabel] = {}
        items = [("redacted", "Scans with pixel redaction"), ("without", "Scans without redaction"),
                 ("excluded", "Scans excluded"), ("unsupported", "Unsupported scans (sent as they are)"),
                 ("rejected", "Rejected by the anonymization script"), ("size", "Total to send")]
        for i, (key, title) in enumerate(items):
            value = QLabel("—")
            value.setObjectName("h1")
            value.setAccessibleName(title)
            grid.addWidget(value, (i // 3) * 3, i % 3)
            grid.addWidget(hint(title), (i // 3) * 3 + 1, i % 3)
            self.values[key] = value
        grid.setRowMinimumHeight(2, 14)
        card.body.addLayout(grid)
        outer.addWidget(card)
        self.review_note = MessageBar()
        outer.addWidget(self.review_note)
        self.empty_box, self.empty_text, self.leave_out_button = self._offer(
            "Leave this session out", self.leave_out_empty)
        outer.addWidget(self.empty_box)
        self.duplicates_box = QWidget()
        self.duplicates_layout = QVBoxLayout(self.duplicates_box)
        self.duplicates_layout.setContentsMargins(0, 0, 0, 0)
        self.duplicates_box.hide()
        outer.addWidget(self.duplicates_box)
        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(["Patient", "Subject", "Session label", "Scans", "Files",
                                              "Size"])
        self.table.verticalHeader().hide()
        self.table.setAccessibleName("Sessions to upload")
        self.table.setAlternatingRowColors(True)
        header_view = self.table.horizontalHeader()
        header_view.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for col in (3, 4, 5):
            header_view.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        outer.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.message = MessageBar()
        row.addWidget(self.message, 1)
        self.save_plan_button = QPushButton("Save plan…")
        self.save_plan_button.setToolTip("Save the labels and every review decision, to run this "
                                         "upload again with: xnat-upload upload --plan FILE")
        self.save_plan_button.clicked.connect(self._choose_plan_file)
        self.save_plan_button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        row.addStretch(0)
        row.addWidget(self.save_plan_button, 0, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignRight)
        outer.addLayout(row)

    @staticmethod
    def _offer(action: str, slot: Callable[[], None]) -> tuple[QWidget, MessageBar, QPushButton]:
        """A message with one button beside it that resolves it in place."""
        box = QWidget()
        layout = QHBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        text = MessageBar()
        button = QPushButton(action)
        button.clicked.connect(slot)
        layout.addWidget(text, 1)
        layout.addWidget(button)
        box.hide()
        return box, text, button

    def enter(self, draft: UploadDraft) -> None:
        assert draft.target is not None and draft.project is not None
        self.draft = draft
        self.message.clear()
        self.counts = c = summarize(draft)
        merges = sum(1 for plan in draft.plans if plan.merge)
        self.destination.setText(f"Destination: {draft.project.title()} on {draft.target.describe()}"
                                 + (f" · {draft.settings.destination}" if draft.settings else "")
                                 + (f" · lookup table {draft.lookup_table.name}"
                                    if draft.lookup_table is not None else "")
                                 + (f" · adds scans to {merges} existing session(s)" if merges else ""))
        self.values["redacted"].setText(str(c.redacted))
        self.values["without"].setText(str(c.without))
        self.values["excluded"].setText(str(c.excluded))
        self.values["unsupported"].setText(str(c.unsupported))
        self._count_rejected(draft)
        sessions = f"{c.sessions} session{'s' if c.sessions != 1 else ''}"
        self.values["size"].setText(f"{human_bytes(c.bytes)} · {c.files:,} files · {sessions}")
        if not draft.review_available:
            self.review_note.error("No pixel review was done (the review step is not available in "
                                   "this build): burned-in text will not be blacked out.")
        else:
            self.review_note.clear()
        self._show_empty(draft)
        self.table.setRowCount(len(draft.plans))
        for row, plan in enumerate(draft.plans):
            totals = session_totals(plan, draft.review)
            scans = f"{totals.scans}" + (f" ({totals.excluded} left out)" if totals.excluded else "")
            values = [plan.session.patient_name or "—",
                      plan.subject + (" (new)" if plan.create_subject else ""), plan.label,
                      scans, f"{totals.files:,}", human_bytes(totals.bytes)]
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                self.table.setItem(row, col, item)
        self._check_history(draft)
        self.completeChanged.emit()

    # Sessions with nothing to send -----------------------------------------------------------------

    def _show_empty(self, draft: UploadDraft) -> None:
        empty = empty_sessions(draft)
        self.empty_box.setVisible(bool(empty))
        if not empty:
            return
        names = ", ".join(_session_name(p) for p in empty[:3]) + ("…" if len(empty) > 3 else "")
        if len(empty) == 1:
            self.empty_text.error(f"Every scan of session {names} is excluded: it has nothing to send.")
            self.leave_out_button.setText("Leave this session out")
        else:
            self.empty_text.error(f"Every scan of {len(empty)} sessions ({names}) is excluded: "
                                  "they have nothing to send.")
            self.leave_out_button.setText(f"Leave these {len(empty)} sessions out")

    def leave_out_empty(self) -> None:
        """Send the others; the left-out sessions keep their decisions should they come back."""
        assert self.draft is not None
        leave_out(self.draft, empty_sessions(self.draft))
        self.enter(self.draft)

    # Earlier uploads of the same studies ----------------------------------------------------------

    def _receipt_folders(self) -> list[Path]:
        receipt_dir, _pdf = self.receipt_options()
        return [data_dir() / "receipts", *([Path(receipt_dir)] if receipt_dir else [])]

    def _check_history(self, draft: UploadDraft) -> None:
        """Read the receipts in the background for earlier uploads of these studies."""
        assert draft.target is not None and draft.project is not None
        if self._history_task is not None:
            self._history_task.detach()
        sessions = [p.session for p in draft.plans]
        destination, project, folders = draft.target.destination, draft.project.id, self._receipt_folders()
        self._checking_history = True

        def done(found: dict[str, PreviousUpload]) -> None:
            self._history_task = None
            self._checking_history = False
            self.duplicates = {uid: p for uid, p in found.items() if uid not in self._send_again}
            self._show_duplicates()

        def failed(exc: BaseException) -> None:  # a warning only: the upload is not held by it
            self._history_task = None
            self._checking_history = False
            self.duplicates = {}
            self._show_duplicates()

        self._history_task = self.runner.call(
            "previous-uploads", lambda: previous_uploads(sessions, destination, project, folders),
            on_done=done, on_error=failed)

    def _show_duplicates(self) -> None:
        clear_layout(self.duplicates_layout)
        assert self.draft is not None
        plans = {p.session.study_instance_uid: p for p in self.draft.plans}
        for uid, earlier in sorted(self.duplicates.items(), key=lambda kv: kv[1].finished):
            plan = plans.get(uid)
            if plan is None:
                continue
            box, text, again = self._offer("Send again", partial(self.send_again, uid))
            skip = QPushButton("Skip")
            skip.setAccessibleName(f"Skip session {_session_name(plan)}")
            skip.clicked.connect(lambda _=False, u=uid: self.skip(u))
            row = box.layout()
            assert row is not None  # every offer box has its row
            row.addWidget(skip)
            where = "/".join(x for x in (earlier.project, earlier.session_label) if x)
            text.info(f"Session {_session_name(plan)}: this study was sent to {earlier.destination}"
                      f"{f' ({where})' if where else ''} on {earlier.day} "
                      f"(receipt {earlier.receipt}).")
            box.show()
            self.duplicates_layout.addWidget(box)
        self.duplicates_box.setVisible(bool(self.duplicates))
        self.completeChanged.emit()

    def send_again(self, study_uid: str) -> None:
        self._send_again.add(study_uid)
        self.duplicates.pop(study_uid, None)
        self._show_duplicates()

    def skip(self, study_uid: str) -> None:
        assert self.draft is not None
        self.duplicates.pop(study_uid, None)
        leave_out(self.draft, [p for p in self.draft.plans if p.session.study_instance_uid == study_uid])
        self.enter(self.draft)

    # Saving the plan ------------------------------------------------------------------------------

    def _choose_plan_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save plan", "upload-plan.json", "Plans (*.json)")
        if path:
            self.save_plan(path)

    def save_plan(self, path: str) -> None:
        assert self.draft is not None
        try:
            saved = planfile.save(planfile.from_draft(self.draft), path)
        except (OSError, ValueError) as exc:
            self.message.error(f"The plan could not be saved: {exc}.")
            return
        self.message.ok(f"Plan saved to {saved}. It names the studies and their source folders: keep "
                        f"it private. Run it again with: xnat-upload upload --plan {saved}")

    # Rejections -----------------------------------------------------------------------------------

    def _count_rejected(self, draft: UploadDraft) -> None:
        """Run the scripts over every header in the background to count rejected files."""
        if self._rejected_task is not None:
            self._rejected_task.detach()
        self.values["rejected"].setText("…")
        self.values["rejected"].setToolTip("Checking every file's header against the scripts…")

        def done(count: int) -> None:
            self._rejected_task = None
            self.values["rejected"].setText(str(count))
            self.values["rejected"].setToolTip("Files the anonymization scripts reject are not "
                                               "sent; each one is listed in the receipt.")

        def failed(exc: BaseException) -> None:
            self._rejected_task = None
            self.values["rejected"].setText("?")
            self.values["rejected"].setToolTip(f"Could not be checked before the upload: {exc}")

        self._rejected_task = self.runner.start(
            "count-rejected", lambda _report, cancel: count_rejected(draft, cancel),
            on_done=done, on_error=failed)

    def next_label(self) -> str:
        return "Upload"

    def is_complete(self) -> bool:
        return not self.blocking_message()

    def blocking_message(self) -> str:
        if self._busy:
            return "Queuing…"
        if self.draft is not None and empty_sessions(self.draft):
            return "A session has nothing to send: leave it out, or go back and include a scan."
        if self._checking_history:
            return "Checking the receipts for earlier uploads…"
        if self.duplicates:
            return "Some studies were sent here before: choose Send again or Skip for each."
        if self.counts.redacted + self.counts.without + self.counts.unsupported == 0:
            return "Every scan is excluded: there is nothing to send."
        return ""

    def advance(self, draft: UploadDraft, proceed: Callable[[], None]) -> None:
        try:
            receipt_dir, receipt_pdf = self.receipt_options()
            specs = draft_specs(draft, receipt_dir=receipt_dir, receipt_pdf=receipt_pdf)
        except ValueError as exc:
            self.message.error(f"{exc}. Go back and fix it.")
            return
        self._busy = True
        self.message.info("Queuing the upload…")
        self.completeChanged.emit()

        def ok() -> None:
            self._busy = False
            self.message.clear()
            self.completeChanged.emit()
            proceed()

        def failed(text: str) -> None:
            self._busy = False
            self.message.error(text)
            self.completeChanged.emit()

        self.submit(draft, specs, ok, failed)
