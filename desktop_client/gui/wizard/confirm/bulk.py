"""Several sessions: one editable table (subject, label, tracer and a column per script variable),
filled from the labeling schemes of ``plan.labelling``, with the shared-name warning and the
"add to sessions that already exist" agreement."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_client.gui.widgets import MessageBar, table_item
from desktop_client.gui.wizard.confirm.variables import column_title, initial_value
from desktop_client.gui.wizard.select_page import format_date, study_title
from desktop_client.labels import LabelRow, shared_names
from desktop_client.plan import labelling as rules
from desktop_client.plan.draft import SessionPlan
from desktop_client.plan.rules import has_pet

BULK_FIXED = ["Patient Name", "Study", "Study Date", "Subject", "Session label", "Tracer"]
SUBJECT, LABEL, TRACER = 3, 4, 5


class BulkTable(QWidget):
    """The sessions' table with the scheme pickers above it; ``edited`` after any change."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plans: list[SessionPlan] = []
        self.variables: list[Any] = []
        self.existing_subjects: set[str] = set()
        self.used_labels: set[str] = set()
        #: patient names whose Patient IDs each get their own automatic subject
        self.split: set[str] = set()
        #: the existing labels the "add to existing sessions" tick was given for
        self.merge_clashes: list[str] = []
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        #: the scheme pickers' row; the page adds the CSV actions at its end
        self.tools = QHBoxLayout()
        self.subject_scheme = QComboBox()
        for key, text in rules.SUBJECT_SCHEMES.items():
            self.subject_scheme.addItem(text, key)
        self.session_scheme = QComboBox()
        for key, text in rules.SESSION_SCHEMES.items():
            self.session_scheme.addItem(text, key)
        s1 = QLabel("Subject la&bels")
        s1.setBuddy(self.subject_scheme)
        s2 = QLabel("Session labe&ls")
        s2.setBuddy(self.session_scheme)
        self.tools.addWidget(s1)
        self.tools.addWidget(self.subject_scheme)
        self.tools.addWidget(s2)
        self.tools.addWidget(self.session_scheme)
        self.apply_schemes_button = QPushButton("Apply")
        self.apply_schemes_button.clicked.connect(lambda: self.apply_schemes())
        self.tools.addWidget(self.apply_schemes_button)
        self.tools.addStretch(1)
        v.addLayout(self.tools)
        # The automatic subject scheme gives one subject per patient name: different patients
        # sharing a name would silently become one subject. Say so, and offer to split them.
        self.shared_box = QWidget()
        shared = QHBoxLayout(self.shared_box)
        shared.setContentsMargins(0, 0, 0, 0)
        self.shared_note = MessageBar()
        self.split_button = QPushButton("Give each Patient ID its own subject")
        self.split_button.clicked.connect(self.split_shared_names)
        shared.addWidget(self.shared_note, 1)
        shared.addWidget(self.split_button)
        self.shared_box.hide()
        v.addWidget(self.shared_box)
        self.table = QTableWidget(0, len(BULK_FIXED))
        self.table.setAccessibleName("Sessions to upload")
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemChanged.connect(lambda _item: self.edited.emit())
        v.addWidget(self.table, 1)
        self.merge_check = QCheckBox("Add the scans to sessions that already e&xist")
        self.merge_check.toggled.connect(self._merge_toggled)
        self.merge_check.hide()
        v.addWidget(self.merge_check)

    def _merge_toggled(self, on: bool) -> None:
        self.merge_clashes = self.clashes() if on else []
        self.edited.emit()

    def fill(self, plans: list[SessionPlan], variables: Sequence[Any], existing_subjects: set[str],
             used_labels: set[str], subject_scheme: str, session_scheme: str) -> None:
        """Show ``plans`` (labels typed earlier kept; empty ones filled from the schemes)."""
        self.plans, self.variables = plans, list(variables)
        self.existing_subjects, self.used_labels = existing_subjects, used_labels
        # Start filled: a project without a configured scheme gets suggestions to edit.
        subject_scheme = "auto" if subject_scheme == "manual" else subject_scheme
        self.subject_scheme.setCurrentIndex(max(0, self.subject_scheme.findData(subject_scheme)))
        self.session_scheme.setCurrentIndex(max(0, self.session_scheme.findData(session_scheme)))
        self._fill_rows()
        self.apply_schemes(only_empty=True)
        self.merge_check.setChecked(any(p.merge for p in plans))

    def _fill_rows(self) -> None:
        headers = BULK_FIXED + [column_title(v) for v in self.variables]
        self.table.blockSignals(True)
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(self.plans))
        for row, plan in enumerate(self.plans):
            s = plan.session
            fixed = [s.patient_name or "—", study_title(s), format_date(s.study_date)]
            for col, value in enumerate(fixed):
                item = QTableWidgetItem(value)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                self.table.setItem(row, col, item)
            self.table.setItem(row, SUBJECT, QTableWidgetItem(plan.subject))
            self.table.setItem(row, LABEL, QTableWidgetItem(plan.label))
            tracer = QTableWidgetItem(plan.tracer)
            if not has_pet(plan):
                tracer.setFlags(Qt.ItemFlag.ItemIsEnabled)
                tracer.setText("")
                tracer.setToolTip("No PET scans in this session")
            self.table.setItem(row, TRACER, tracer)
            for i, var in enumerate(self.variables):
                value = plan.variables.get(var.name, initial_value(var))
                self.table.setItem(row, len(BULK_FIXED) + i, QTableWidgetItem(value))
        self.table.blockSignals(False)

    def apply_schemes(self, *, only_empty: bool = False) -> None:
        """Fill the subject and session columns from the chosen labeling schemes.

        ``only_empty`` keeps what is already typed (sessions added after going back get labels,
        the others keep theirs).
        """
        sessions = [p.session for p in self.plans]
        subject_scheme = self.subject_scheme.currentData()
        typed = [self.cell(r, SUBJECT) for r in range(len(sessions))]
        typed_labels = [self.cell(r, LABEL) for r in range(len(sessions))]
        if subject_scheme == "manual":
            subjects = typed
        else:
            schemed = rules.subjects_by_scheme(subject_scheme, sessions, self.existing_subjects, self.split)
            subjects = [t if only_empty and t else new for t, new in zip(typed, schemed)]
        used = self.used_labels | ({t for t in typed_labels if t} if only_empty else set())
        labels = rules.sessions_by_scheme(self.session_scheme.currentData(), sessions, subjects, used)
        self.table.blockSignals(True)
        for row in range(len(sessions)):
            if subject_scheme != "manual" and not (only_empty and typed[row]):
                table_item(self.table, row, SUBJECT).setText(subjects[row])
            if self.session_scheme.currentData() != "manual" and not (only_empty and typed_labels[row]):
                table_item(self.table, row, LABEL).setText(labels[row])
        self.table.blockSignals(False)
        self._show_shared_names()
        self.edited.emit()

    def _show_shared_names(self) -> None:
        shared = shared_names([p.session for p in self.plans])
        merged = {n: ids for n, ids in shared.items() if n not in self.split}
        auto = self.subject_scheme.currentData() == "auto"
        self.shared_box.setVisible(auto and bool(shared))
        if merged:
            names = "; ".join(f"{name or '(no name)'} ({len(ids)} Patient IDs: {', '.join(i or '—' for i in ids)})"
                              for name, ids in sorted(merged.items())[:3])
            more = f" and {len(merged) - 3} more" if len(merged) > 3 else ""
            self.shared_note.info(f"Different patients share a name and were given one subject: "
                                  f"{names}{more}.")
        else:
            self.shared_note.info(f"{len(shared)} shared name(s) split: each Patient ID has its "
                                  "own subject.")
        self.split_button.setVisible(bool(merged))

    def split_shared_names(self) -> None:
        """One automatic subject per Patient ID for the names shared by several patients."""
        self.split |= set(shared_names([p.session for p in self.plans]))
        self.apply_schemes()

    def cell(self, row: int, col: int) -> str:
        item = self.table.item(row, col)
        return item.text().strip() if item else ""

    def set_cell(self, row: int, col: int, text: str) -> None:
        table_item(self.table, row, col).setText(text)

    def variable_column(self, index: int) -> int:
        return len(BULK_FIXED) + index

    def label_rows(self) -> list[LabelRow]:
        """The table as it stands, in the CSV's terms."""
        return [LabelRow.from_session(plan.session, self.cell(row, SUBJECT), self.cell(row, LABEL),
                                      self.cell(row, TRACER),
                                      {v.name: self.cell(row, self.variable_column(i))
                                       for i, v in enumerate(self.variables)})
                for row, plan in enumerate(self.plans)]

    def pending(self) -> list[SessionPlan]:
        """The plans as the table stands (the draft is written on Next)."""
        out = []
        for row, plan in enumerate(self.plans):
            subject, label = self.cell(row, SUBJECT), self.cell(row, LABEL)
            out.append(replace(plan, subject=subject, create_subject=subject not in self.existing_subjects,
                               label=label,
                               merge=label in self.used_labels and self.merge_check.isChecked(),
                               tracer=self.cell(row, TRACER) if has_pet(plan) else "",
                               variables={v.name: self.cell(row, self.variable_column(i))
                                          for i, v in enumerate(self.variables)}))
        return out

    def clashes(self) -> list[str]:
        labels = {self.cell(r, LABEL) for r in range(len(self.plans))}
        return sorted((labels - {""}) & self.used_labels)

    def refresh_merge(self, clashes: list[str]) -> None:
        """Other labels now clash: the agreement to merge is asked again."""
        if self.merge_check.isChecked() and clashes != self.merge_clashes:
            self.merge_check.setChecked(False)
        self.merge_check.setVisible(bool(clashes))
