"""Step 6: what will be sent, in numbers, and the Upload button.

Upload creates any new subjects and queues one transfer per session in the background; the
window then switches to Transfers. Problems (a subject the server refused, an invalid spec) are
shown here, inline, and nothing is queued.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_client.gui.widgets import Card, MessageBar, header, hint, human_bytes
from desktop_client.gui.wizard.state import WizardStep
from desktop_client.plan.specs import SummaryCounts, count_rejected, draft_specs, summarize
from desktop_client.gui.workers import TaskHandle, TaskRunner
from desktop_client.transfer.spec import TransferSpec
from desktop_client.plan.draft import UploadDraft

Submit = Callable[[UploadDraft, list[TransferSpec], Callable[[], None], Callable[[str], None]], None]


class SummaryPage(WizardStep):
    title = "Summary"

    def __init__(self, runner: TaskRunner, submit: Submit,
                 receipt_options: Callable[[], tuple[str | None, bool]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self._rejected_task: TaskHandle | None = None
        self.submit = submit
        self.receipt_options = receipt_options  # () -> (receipt folder or None, write a PDF?)
        self.counts = SummaryCounts()
        self._busy = False
        outer = QVBoxLayout(self)
        outer.addWidget(header("Summary"))
        self.destination = hint("")
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
        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(["Patient", "Subject", "Session label", "Scans", "Files",
                                              "Size"])
        self.table.verticalHeader().hide()
        self.table.setAccessibleName("Sessions to upload")
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        outer.addWidget(self.table, 1)
        self.message = MessageBar()
        outer.addWidget(self.message)

    def enter(self, draft: UploadDraft) -> None:
        assert draft.target is not None and draft.project is not None
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
        self.values["size"].setText(f"{human_bytes(c.bytes)} · {c.files:,} files")
        if not draft.review_available:
            self.review_note.error("No pixel review was done (the review step is not available in "
                                   "this build): burned-in text will not be blacked out.")
        else:
            self.review_note.clear()
        self.table.setRowCount(len(draft.plans))
        for row, plan in enumerate(draft.plans):
            scans = [s for uid, s in plan.session.scans.items() if uid in plan.included]
            values = [plan.session.patient_name or "—",
                      plan.subject + (" (new)" if plan.create_subject else ""), plan.label,
                      str(len(scans)), f"{sum(s.files for s in scans):,}",
                      human_bytes(sum(s.bytes for s in scans))]
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                self.table.setItem(row, col, item)
        self.completeChanged.emit()

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
        return not self._busy and (self.counts.redacted + self.counts.without + self.counts.unsupported) > 0

    def blocking_message(self) -> str:
        if self._busy:
            return "Queuing…"
        return "" if self.is_complete() else "Every scan is excluded: there is nothing to send."

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
