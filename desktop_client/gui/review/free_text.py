"""The decision about a scan with free text: see what is inside, then leave it out or include it.

A report, document or annotation can hold the patient's name where no header script reaches
(issue 14). The dialog reads the scan in the background (``grouping.inspect_scan``: PDF text via
pypdf, SR text and person-name items, annotations, ROI names, private text, overlays), shows that
text with the patient's header values it contains, and offers three choices: leave it out (the
default), send it without its text (structured content only: the built-in rule), or send it with
its text — only after ticking that the text was read. The choice and a summary go into the receipt.
"""

from __future__ import annotations

import html
from typing import Iterable

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop_client.grouping import INCLUDE_AS_IS, INCLUDE_TEXT_REMOVED, inspect_scan
from desktop_client.gui.workers import TaskRunner
from desktop_client.plan.review import ReviewModel
from desktop_client.scanning.freetext import Inspection


class FreeTextDialog(QDialog):
    """Shows what text a scan holds; ``mode`` is the chosen way to include it (None: leave out)."""

    def __init__(self, review: ReviewModel, uids: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.review, self.uids = review, list(uids)
        self.mode: str | None = None
        self.inspections: dict[str, Inspection] = {}
        self.setWindowTitle("Scan with free text")
        self.resize(760, 560)
        title = QLabel(f"<b>{len(self.uids)} scan(s) contain free text</b>")
        explain = QLabel("Reports, documents and annotations can name the patient where no "
                         "anonymization script reaches. They are left out unless you decide "
                         "otherwise; your decision is recorded in the receipt.")
        explain.setWordWrap(True)
        explain.setObjectName("hint")
        self.text = QTextBrowser()
        self.text.setPlaceholderText("Reading the scan…")
        self.read_confirm = QCheckBox("I have read the text above and decide to send it as it is")
        self.read_confirm.setEnabled(False)
        self.read_confirm.toggled.connect(self._update)
        buttons = QDialogButtonBox()
        self.leave_button = buttons.addButton("Leave it out", QDialogButtonBox.ButtonRole.RejectRole)
        self.leave_button.setObjectName("primary")
        self.without_button = QPushButton("Send without the text")
        self.without_button.setToolTip("Text, person-name and date items, annotations and ROI names "
                                       "are replaced by a rule run before the scripts")
        self.with_button = QPushButton("Send with the text")
        buttons.addButton(self.without_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.with_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.leave_button.clicked.connect(self.reject)
        self.without_button.clicked.connect(lambda: self._choose(INCLUDE_TEXT_REMOVED))
        self.with_button.clicked.connect(lambda: self._choose(INCLUDE_AS_IS))
        self.removable = all(review.can_remove_text(uid) for uid in self.uids)
        self.without_button.setVisible(self.removable)
        layout = QVBoxLayout(self)
        for w in (title, explain, self.text, self.read_confirm):
            layout.addWidget(w)
        layout.addWidget(buttons)
        self._update()
        self.runner = TaskRunner(self, max_threads=1)
        scans = {uid: review.scan(uid) for uid in self.uids}
        self.task = self.runner.start(
            "inspect free text",
            lambda _report, cancel: {uid: inspect_scan(scan) for uid, scan in scans.items()
                                     if not cancel.is_set()},
            on_done=self._show, on_error=self._failed)

    def _show(self, inspections: dict[str, Inspection]) -> None:
        self.inspections = inspections
        parts = []
        for uid in self.uids:
            found = inspections.get(uid)
            if found is None:
                continue
            scan = self.review.scan(uid)
            parts.append(f"<h3>{html.escape(scan.series_description or scan.modality or uid)}</h3>")
            parts.append(f"<p>{html.escape(found.summary(values=True))}</p>")
            for finding in found.findings:
                parts.append(f"<p><b>{html.escape(finding.where)}</b><br>"
                             f"{_highlight(finding.text, found.matches.values())}</p>")
        self.text.setHtml("".join(parts) or "<p>No text was found.</p>")
        self.read_confirm.setEnabled(True)
        self._update()

    def _failed(self, exc: BaseException) -> None:
        self.text.setPlainText(f"The scan could not be read ({type(exc).__name__}); its text is "
                               "unknown, so it can only be left out.")

    def _update(self) -> None:
        self.with_button.setEnabled(self.read_confirm.isChecked())
        self.without_button.setEnabled(bool(self.inspections))

    def _choose(self, mode: str) -> None:
        self.mode = mode
        self.accept()

    def done(self, result: int) -> None:  # noqa: D401 - Qt API
        self.task.detach()
        super().done(result)


def _highlight(text: str, values: Iterable[object]) -> str:
    """The text, escaped, with the patient's header values in bold red."""
    out = html.escape(text).replace("\n", "<br>")
    for value in sorted({str(v) for v in values}, key=len, reverse=True):
        escaped = html.escape(value)
        out = out.replace(escaped, f"<b style='color:#c0392b'>{escaped}</b>")
    return out


def decide_free_text(review: ReviewModel, uids: list[str], parent: QWidget | None = None) -> bool:
    """Open the dialog and record the decision in ``review``; True when scans were included."""
    from desktop_client.gui.review.dialogs import run_modal

    dialog = FreeTextDialog(review, uids, parent)
    if not run_modal(dialog) or dialog.mode is None:
        return False
    review.include_free_text(uids, dialog.mode, dialog.inspections)
    return True
