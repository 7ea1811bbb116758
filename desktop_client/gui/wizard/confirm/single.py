"""One session's form: subject, session label (with what to do when it exists), tracer, script
variables, and its scans with a tick each. Labels are suggested by ``plan.labelling``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_client.gui.widgets import Card, hint, human_bytes, table_item
from desktop_client.gui.wizard.confirm.variables import VariableEdits
from desktop_client.plan import labelling as rules
from desktop_client.plan.draft import SessionPlan
from desktop_client.plan.rules import has_pet
from desktop_client.plan.targets import SubjectInfo


class SingleSessionForm(QSplitter):
    """The form (left) and the scan table (right); ``edited`` after any change."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("confirmSplitter")
        #: the session shown (the draft's own plan: the tracer follows the combo, as typed)
        self.plan: SessionPlan | None = None
        self.subjects: list[SubjectInfo] = []
        self.used_labels: set[str] = set()
        self.script_label = ""
        self.auto_label = ""
        card = Card()
        self.form = QFormLayout()
        self.subject_combo = QComboBox()
        self.subject_combo.setEditable(True)
        self.subject_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.subject_combo.setAccessibleName("Subject")
        subject_entry = QLineEdit()
        subject_entry.setPlaceholderText("Choose or type a new subject label")
        self.subject_combo.setLineEdit(subject_entry)
        self.subject_combo.currentTextChanged.connect(self._subject_changed)
        self.group_edit = QLineEdit()
        self.group_edit.setPlaceholderText("optional group for a new subject")
        self.subject_note = hint("")
        self.label_edit = QLineEdit()
        self.label_edit.setAccessibleName("Session label")
        # A merge is agreed for one label: editing it asks again (connected before ``edited``).
        self.label_edit.textChanged.connect(lambda _text: self.merge_check.setChecked(False))
        self.label_edit.textChanged.connect(lambda _text: self.edited.emit())
        self.label_note = hint("Letters, digits, '-' and '_' only.")
        self.exists_box = QWidget()
        exists = QVBoxLayout(self.exists_box)
        exists.setContentsMargins(0, 0, 0, 0)
        self.exists_text = QLabel()
        self.exists_text.setWordWrap(True)
        exists.addWidget(self.exists_text)
        choice = QHBoxLayout()
        self.merge_check: QCheckBox = QCheckBox("&Add these scans to it")
        self.merge_check.setToolTip("Merge: the session keeps its scans and gets these as well")
        self.merge_check.toggled.connect(lambda _on: self.edited.emit())
        self.other_label_button = QPushButton("Choose another label")
        self.other_label_button.clicked.connect(self.choose_another_label)
        choice.addWidget(self.merge_check)
        choice.addWidget(self.other_label_button)
        choice.addStretch(1)
        exists.addLayout(choice)
        self.tracer_combo = QComboBox()
        self.tracer_combo.setEditable(True)
        self.tracer_combo.currentTextChanged.connect(self._refresh_auto_label)
        self.tracer_label = QLabel("PET &tracer")
        self.tracer_label.setBuddy(self.tracer_combo)
        subject_label = QLabel("&Subject")
        subject_label.setBuddy(self.subject_combo)
        label_label = QLabel("Session &label")
        label_label.setBuddy(self.label_edit)
        self.form.addRow(subject_label, self.subject_combo)
        self.form.addRow("", self.subject_note)
        self.form.addRow("New subject's group", self.group_edit)
        self.form.addRow(label_label, self.label_edit)
        self.form.addRow("", self.label_note)
        self.form.addRow("", self.exists_box)
        self.form.setRowVisible(self.exists_box, False)
        self.form.addRow(self.tracer_label, self.tracer_combo)
        self.variables = VariableEdits(self.form, self.edited.emit)
        card.body.addLayout(self.form)
        card.body.addStretch(1)
        self.addWidget(card)

        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(QLabel("<b>Scans</b> — untick the ones to leave out"))
        self.scan_table = QTableWidget(0, 7)
        self.scan_table.setHorizontalHeaderLabels(["", "#", "Description", "Modality", "Files", "Size",
                                                   "Status"])
        self.scan_table.setAccessibleName("Scans of the session")
        self.scan_table.verticalHeader().hide()
        self.scan_table.setAlternatingRowColors(True)
        self.scan_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.scan_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.scan_table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.scan_table.itemChanged.connect(lambda _item: self.edited.emit())
        rv.addWidget(self.scan_table, 1)
        self.addWidget(right)
        self.setSizes([420, 560])

    def set_tracers(self, tracers: Sequence[str]) -> None:
        self.tracer_combo.clear()
        self.tracer_combo.addItems(list(tracers))
        self.tracer_combo.setCurrentIndex(-1)

    def fill(self, plan: SessionPlan, subjects: list[SubjectInfo], used_labels: set[str],
             script_label: str, variables: Sequence[Any], statuses: dict[str, str],
             allow_create: bool) -> None:
        """Show ``plan`` with the project's subjects and labels (read in the background)."""
        self.plan, self.subjects, self.used_labels = plan, subjects, used_labels
        self.script_label = script_label
        self.subject_combo.setEditable(allow_create)
        self.subject_combo.blockSignals(True)
        self.subject_combo.clear()
        self.subject_combo.addItems([s.label for s in subjects])
        subject = rules.initial_subject(plan, subjects, allow_create)
        self.subject_combo.setCurrentText(subject)
        self.subject_combo.blockSignals(False)
        self.group_edit.setText(plan.subject_group)
        self.auto_label = "" if plan.label else self._default_label(plan, subject)
        self.label_edit.setText(plan.label or self.auto_label)
        self.merge_check.setChecked(plan.merge)
        pet = has_pet(plan)
        self.tracer_combo.setVisible(pet)
        self.tracer_label.setVisible(pet)
        if plan.tracer:
            self.tracer_combo.setCurrentText(plan.tracer)
        self.variables.show(variables, plan.variables)
        self._fill_scans(plan, statuses)
        self._subject_changed(subject)

    def _default_label(self, plan: SessionPlan, subject: str) -> str:
        if self.script_label:
            return self.script_label
        return rules.default_session_label(subject, plan.session, self.used_labels, plan.included,
                                           plan.tracer)

    def _fill_scans(self, plan: SessionPlan, statuses: dict[str, str]) -> None:
        scans = plan.session.sorted_scans()
        self.scan_table.blockSignals(True)
        self.scan_table.setRowCount(len(scans))
        for row, scan in enumerate(scans):
            check = QTableWidgetItem()
            check.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            check.setCheckState(Qt.CheckState.Checked if scan.series_instance_uid in plan.included
                                else Qt.CheckState.Unchecked)
            check.setData(Qt.ItemDataRole.UserRole, scan.series_instance_uid)
            self.scan_table.setItem(row, 0, check)
            status = statuses.get(scan.series_instance_uid, "")
            values = [str(scan.series_number if scan.series_number is not None else "—"),
                      scan.series_description or "—", scan.modality or "—", f"{scan.files:,}",
                      human_bytes(scan.bytes), status.split(":")[0]]
            for col, value in enumerate(values, start=1):
                item = QTableWidgetItem(value)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                if col == 6 and value != "Valid":
                    item.setToolTip(status)
                self.scan_table.setItem(row, col, item)
        self.scan_table.blockSignals(False)

    def included(self) -> set[str]:
        return {table_item(self.scan_table, r, 0).data(Qt.ItemDataRole.UserRole)
                for r in range(self.scan_table.rowCount())
                if table_item(self.scan_table, r, 0).checkState() == Qt.CheckState.Checked}

    def choose_another_label(self) -> None:
        """Replace a label that already exists with the next free ``<subject>_<MOD>_<n>``."""
        assert self.plan is not None
        subject = self.subject_combo.currentText().strip()
        self.merge_check.setChecked(False)
        self.label_edit.setText(rules.default_session_label(subject, self.plan.session, self.used_labels,
                                                            self.included(), self.plan.tracer))

    def _refresh_auto_label(self, *_args: Any) -> None:
        """Keep the suggested label in step with the subject and tracer until the user edits it."""
        if self.plan is not None and self.label_edit.text() == self.auto_label:
            plan = self.plan
            plan.tracer = self.tracer_combo.currentText().strip() if has_pet(plan) else ""
            self.auto_label = self._default_label(plan, self.subject_combo.currentText().strip())
            self.label_edit.setText(self.auto_label)
        self.edited.emit()

    def _subject_changed(self, text: str) -> None:
        existing = {s.label for s in self.subjects}
        new = bool(text) and text not in existing
        self.form.setRowVisible(self.group_edit, new)
        if not text:
            self.subject_note.setText("")
        elif new:
            self.subject_note.setText("New subject — it will be created on upload.")
        else:
            self.subject_note.setText("Existing subject.")
        self._refresh_auto_label()

    def pending(self) -> SessionPlan:
        """The plan as the form stands (the draft is written on Next)."""
        assert self.plan is not None
        subject = self.subject_combo.currentText().strip()
        label = self.label_edit.text().strip()
        create = subject not in {s.label for s in self.subjects}
        pending = replace(self.plan, subject=subject, create_subject=create,
                          subject_group=self.group_edit.text().strip() if create else "",
                          label=label, merge=label in self.used_labels and self.merge_check.isChecked(),
                          variables=self.variables.values(), included=self.included())
        pending.tracer = self.tracer_combo.currentText().strip() if has_pet(pending) else ""
        return pending

    def clashes(self) -> list[str]:
        return sorted(({self.label_edit.text().strip()} - {""}) & self.used_labels)

    def show_clash(self, clashes: list[str], project: str) -> None:
        """Say that the label exists, with the choice between merging and another label."""
        self.form.setRowVisible(self.exists_box, bool(clashes))
        if clashes:
            self.exists_text.setText(f"Session “{clashes[0]}” already exists in project {project}.")

    def mark_label(self) -> None:
        """Outline a label XNAT would refuse (the problem line says why)."""
        label = self.label_edit.text().strip()
        self.label_edit.setProperty("invalid", bool(label) and not rules.is_valid_label(label))
        self.label_edit.style().polish(self.label_edit)
