"""Step 4: subject, session label, script variables and scans for each selected session.

One session gets a form (subject, label, variables, tracer, a scan table with checkboxes). Several
sessions get one editable table with a column per script variable — the official client cannot
ask for variables in bulk — plus labeling-scheme pickers, CSV export/import and duplicate checks.
Subjects and existing labels are fetched in the background when the page opens. A label that
already exists in the project is never merged into by accident: the user either ticks "Add these
scans to it" or chooses another label. An optional DicomEdit lookup table for the scripts'
``lookup[...]`` is chosen here too (shown by file name and entry count, never by its contents).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_client.plan.targets import SubjectInfo, explain_error
from desktop_client.gui.widgets import Card, MessageBar, header, hint, human_bytes
from desktop_client.gui.wizard.select_page import format_date, study_title
from desktop_client.gui.wizard.state import WizardStep
from desktop_client.gui.workers import TaskRunner
from desktop_client.labels import LabelRow, export_csv, import_csv, shared_names
from desktop_client.scanning.model import Session
from desktop_client.transfer.spec import LookupTable
from desktop_client.plan import labelling as rules
from desktop_client.plan.draft import SessionPlan, UploadDraft
from desktop_client.plan.review import series_filter_exclusions
from desktop_client.plan.rules import LabelContext, bulk_problems, has_pet, single_problems

BULK_FIXED = ["Patient Name", "Study", "Study Date", "Subject", "Session label", "Tracer"]
_SUBJECT, _LABEL, _TRACER = 3, 4, 5
_LOOKUP = re.compile(r"\blookup\s*\[")


@dataclass
class Fetched:
    """What the Confirm step reads in the background before it can show anything."""

    subjects: list[SubjectInfo]
    used_labels: set[str]
    script_label: str
    variables: list[Any]
    statuses: dict[str, str]
    #: series XNAT's series import filter would drop → the filter's reason (issue 17 §3)
    filtered: dict[str, str] = field(default_factory=dict)


class ConfirmPage(WizardStep):
    title = "Confirm details"

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.draft: UploadDraft | None = None
        self.subjects: list[SubjectInfo] = []
        self.used_labels: set[str] = set()
        self.variables: list[Any] = []
        self._loading = False
        self._var_edits: dict[str, QLineEdit] = {}
        self._script_label = ""
        self._auto_label = ""
        self._statuses: dict[str, str] = {}
        self._filtered: dict[str, str] = {}
        #: the existing labels the bulk "add to existing sessions" tick was given for
        self._merge_clashes: list[str] = []
        #: patient names whose Patient IDs each get their own automatic subject
        self._split: set[str] = set()

        outer = QVBoxLayout(self)
        self.heading = header("Confirm details")
        outer.addWidget(self.heading)
        self.subtitle = hint("")
        outer.addWidget(self.subtitle)
        from desktop_client.scripts import LABELS_VISIBLE_WARNING

        self.labels_warning = hint(LABELS_VISIBLE_WARNING)
        outer.addWidget(self.labels_warning)
        self.message = MessageBar()
        outer.addWidget(self.message)
        self.stack = QStackedWidget()
        outer.addWidget(self.stack, 1)
        self.stack.addWidget(self._build_single())
        self.stack.addWidget(self._build_bulk())
        outer.addWidget(self._build_lookup_row())
        self.problem = MessageBar()
        outer.addWidget(self.problem)

    # Single session ------------------------------------------------------------------------------

    def _build_single(self) -> QWidget:
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("confirmSplitter")
        card = Card()
        self.form = QFormLayout()
        self.subject_combo = QComboBox()
        self.subject_combo.setEditable(True)
        self.subject_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.subject_combo.setAccessibleName("Subject")
        self.subject_combo.lineEdit().setPlaceholderText("Choose or type a new subject label")
        self.subject_combo.currentTextChanged.connect(self._subject_changed)
        self.group_edit = QLineEdit()
        self.group_edit.setPlaceholderText("optional group for a new subject")
        self.subject_note = hint("")
        self.label_edit = QLineEdit()
        self.label_edit.setAccessibleName("Session label")
        # A merge is agreed for one label: editing it asks again (connected before _validate).
        self.label_edit.textChanged.connect(lambda _text: self.merge_check.setChecked(False))
        self.label_edit.textChanged.connect(self._validate)
        self.label_note = hint("Letters, digits, '-' and '_' only.")
        self.exists_box = QWidget()
        exists = QVBoxLayout(self.exists_box)
        exists.setContentsMargins(0, 0, 0, 0)
        self.exists_text = QLabel()
        self.exists_text.setWordWrap(True)
        exists.addWidget(self.exists_text)
        choice = QHBoxLayout()
        self.merge_check = QCheckBox("&Add these scans to it")
        self.merge_check.setToolTip("Merge: the session keeps its scans and gets these as well")
        self.merge_check.toggled.connect(self._validate)
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
        card.body.addLayout(self.form)
        card.body.addStretch(1)
        splitter.addWidget(card)

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
        self.scan_table.itemChanged.connect(self._validate)
        rv.addWidget(self.scan_table, 1)
        splitter.addWidget(right)
        splitter.setSizes([420, 560])
        return splitter

    # Bulk ----------------------------------------------------------------------------------------

    def _build_bulk(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
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
        row.addWidget(s1)
        row.addWidget(self.subject_scheme)
        row.addWidget(s2)
        row.addWidget(self.session_scheme)
        self.apply_schemes_button = QPushButton("Apply")
        self.apply_schemes_button.clicked.connect(self.apply_schemes)
        row.addWidget(self.apply_schemes_button)
        row.addStretch(1)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(self._export_csv)
        self.import_button = QPushButton("Import CSV…")
        self.import_button.clicked.connect(self._import_csv)
        row.addWidget(self.export_button)
        row.addWidget(self.import_button)
        v.addLayout(row)
        # The automatic subject scheme gives one subject per patient name: different patients
        # sharing a name would silently become one subject. Say so, and offer to split them.
        self.shared_box = QWidget()
        shared = QHBoxLayout(self.shared_box)
        shared.setContentsMargins(0, 0, 0, 0)
        self.shared_note = QLabel()
        self.shared_note.setObjectName("info")
        self.shared_note.setWordWrap(True)
        self.split_button = QPushButton("Give each Patient ID its own subject")
        self.split_button.clicked.connect(self.split_shared_names)
        shared.addWidget(self.shared_note, 1)
        shared.addWidget(self.split_button)
        self.shared_box.hide()
        v.addWidget(self.shared_box)
        self.bulk_table = QTableWidget(0, len(BULK_FIXED))
        self.bulk_table.setAccessibleName("Sessions to upload")
        self.bulk_table.verticalHeader().hide()
        self.bulk_table.setAlternatingRowColors(True)
        self.bulk_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.bulk_table.horizontalHeader().setStretchLastSection(True)
        self.bulk_table.itemChanged.connect(self._validate)
        v.addWidget(self.bulk_table, 1)
        self.bulk_merge_check = QCheckBox("Add the scans to sessions that already e&xist")
        self.bulk_merge_check.toggled.connect(self._bulk_merge_toggled)
        self.bulk_merge_check.hide()
        v.addWidget(self.bulk_merge_check)
        return page

    def _bulk_merge_toggled(self, on: bool) -> None:
        self._merge_clashes = self.clashes() if on else []
        self._validate()

    # Lookup table --------------------------------------------------------------------------------

    def _build_lookup_row(self) -> QWidget:
        self.lookup_row = QWidget()
        row = QHBoxLayout(self.lookup_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.lookup_label = QLabel()
        self.lookup_label.setToolTip("A DicomEdit lookup table (keyType/key = value lines) for the "
                                     "scripts' lookup[…]; receipts record its checksum only")
        self.lookup_button = QPushButton("Lookup &table…")
        self.lookup_button.clicked.connect(self._choose_lookup_table)
        self.lookup_clear = QPushButton("Clear")
        self.lookup_clear.setAccessibleName("Clear the lookup table")
        self.lookup_clear.clicked.connect(lambda: self.set_lookup_table(None))
        row.addWidget(self.lookup_label)
        row.addWidget(self.lookup_button)
        row.addWidget(self.lookup_clear)
        row.addStretch(1)
        return self.lookup_row

    def _show_lookup_table(self) -> None:
        table = self.draft.lookup_table if self.draft is not None else None
        scripts = self.draft.settings.scripts if self.draft is not None and self.draft.settings else []
        # Only scripts read a lookup table: without any, the chooser would only confuse.
        self.lookup_row.setVisible(bool(scripts) or table is not None)
        if table is None:
            self.lookup_label.setText("Lookup table: none")
        else:
            count = table.entries
            self.lookup_label.setText(f"Lookup table: {table.name} · {count:,} "
                                      f"entr{'y' if count == 1 else 'ies'}")
        self.lookup_clear.setVisible(table is not None)

    def _choose_lookup_table(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Lookup table", "",
                                              "Lookup tables (*.txt *.properties *.lut);;All files (*)")
        if path:
            self.load_lookup_table(path)

    def load_lookup_table(self, path: str) -> None:
        """Read and check the file in the background (it may be on a slow share)."""
        def failed(exc: BaseException) -> None:
            self.message.error(f"The lookup table cannot be used: {explain_error(exc)}")

        self.runner.call("lookup-table", lambda: LookupTable.read(path),
                         on_done=self.set_lookup_table, on_error=failed)

    def set_lookup_table(self, table: LookupTable | None) -> None:
        if self.draft is None:
            return
        self.draft.lookup_table = table
        self.message.clear()
        self._show_lookup_table()
        self._validate()

    def lookup_warning(self) -> str:
        """Non-blocking: a script asks lookup[…] but there is no table to answer."""
        if self.draft is None or self.draft.settings is None or self.draft.lookup_table is not None:
            return ""
        if any(_LOOKUP.search(text) for text in self.draft.settings.scripts):
            return ("The anonymization script uses lookup[…] but no lookup table is chosen: the "
                    "values it would look up stay as they are. Choose one with “Lookup table…”.")
        return ""

    # Entering ------------------------------------------------------------------------------------

    def enter(self, draft: UploadDraft) -> None:
        self.draft = draft
        assert draft.target is not None and draft.project is not None and draft.settings is not None
        self.variables = []
        tracers = draft.settings.tracers or rules.DEFAULT_TRACERS
        self.tracer_combo.clear()
        self.tracer_combo.addItems(tracers)
        self.tracer_combo.setCurrentIndex(-1)
        where = f"into {draft.project.title()} · {draft.target.describe()}"
        if draft.bulk:
            self.subtitle.setText(f"{len(draft.plans)} sessions {where}")
        else:
            s = draft.plans[0].session
            self.subtitle.setText(f"{study_title(s)} · {s.patient_name or 'no patient name'} · "
                                  f"{format_date(s.study_date)} {where}")
        self.stack.setCurrentIndex(1 if draft.bulk else 0)
        self._show_lookup_table()
        self.heading.setText("Confirm details" + (f" — {len(draft.plans)} sessions" if draft.bulk else ""))
        self._loading = True
        self.message.info("Reading the project's subjects and session labels…")
        self.completeChanged.emit()
        target, project = draft.target, draft.project.id

        settings = draft.settings
        plan = draft.plans[0] if not draft.bulk else None

        scripts = list(draft.scripts)

        def fetch() -> Fetched:
            subjects, used = target.subjects(project), target.session_labels(project)
            script_label = ""
            statuses: dict[str, str] = {}
            if plan is not None:
                subject = rules.initial_subject(plan, subjects, settings.allow_create_subject)
                script_label = rules.script_session_label(settings.scripts, plan.session, project,
                                                    subject, used)
                statuses = {uid: rules.scan_status(scan) for uid, scan in plan.session.scans.items()}
            filtered = series_filter_exclusions([p.session for p in draft.plans],
                                                settings.series_filters)  # reads headers: here
            return Fetched(subjects, used, script_label, rules.user_variables(scripts), statuses,
                           filtered)

        def done(result: Fetched) -> None:
            self._loading = False
            self.message.clear()
            self.subjects, self.used_labels = result.subjects, result.used_labels
            self._script_label, self.variables = result.script_label, result.variables
            self._statuses = result.statuses
            self._filtered = result.filtered
            self._populate()

        def failed(exc: BaseException) -> None:
            self._loading = False
            self.message.error(f"The project's subjects could not be read. {explain_error(exc)} "
                               "Go back and choose the project again to retry.")
            self.completeChanged.emit()

        self.runner.call("subjects", fetch, on_done=done, on_error=failed)

    def _populate(self) -> None:
        assert self.draft is not None and self.draft.settings is not None
        settings = self.draft.settings
        self.subject_combo.setEditable(settings.allow_create_subject)
        if self.draft.bulk:
            scheme = rules.subject_scheme_of(settings.subject_scheme)
            # Start filled: a project without a configured scheme gets suggestions to edit.
            scheme = "auto" if scheme == "manual" else scheme
            self.subject_scheme.setCurrentIndex(max(0, self.subject_scheme.findData(scheme)))
            sscheme = rules.session_scheme_of(settings.session_scheme)
            self.session_scheme.setCurrentIndex(max(0, self.session_scheme.findData(sscheme)))
            self._fill_bulk()
            self.apply_schemes(only_empty=True)
            self.bulk_merge_check.setChecked(any(p.merge for p in self.draft.plans))
        else:
            self._fill_single(self.draft.plans[0])
        self._validate()

    def _fill_single(self, plan: SessionPlan) -> None:
        self.subject_combo.blockSignals(True)
        self.subject_combo.clear()
        self.subject_combo.addItems([s.label for s in self.subjects])
        assert self.draft is not None and self.draft.settings is not None
        subject = rules.initial_subject(plan, self.subjects, self.draft.settings.allow_create_subject)
        self.subject_combo.setCurrentText(subject)
        self.subject_combo.blockSignals(False)
        self.group_edit.setText(plan.subject_group)
        self._auto_label = "" if plan.label else self._default_label(plan, subject)
        self.label_edit.setText(plan.label or self._auto_label)
        self.merge_check.setChecked(plan.merge)
        pet = has_pet(plan)
        self.tracer_combo.setVisible(pet)
        self.tracer_label.setVisible(pet)
        if plan.tracer:
            self.tracer_combo.setCurrentText(plan.tracer)
        for edit in self._var_edits.values():
            self.form.removeRow(edit)
        self._var_edits = {}
        for var in self.variables:
            edit = QLineEdit(plan.variables.get(var.name, getattr(var, "initial_value", "") or ""))
            edit.setAccessibleName(var.name)
            edit.textChanged.connect(self._validate)
            edit.setToolTip(f"Script variable “{var.name}”")
            self._var_edits[var.name] = edit
            self.form.addRow(var.description or var.name, edit)
        self._fill_scans(plan)
        self._subject_changed(subject)

    def _default_label(self, plan: SessionPlan, subject: str) -> str:
        if self._script_label:
            return self._script_label
        return rules.default_session_label(subject, plan.session, self.used_labels, plan.included,
                                           plan.tracer)

    def _fill_scans(self, plan: SessionPlan) -> None:
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
            status = self._statuses.get(scan.series_instance_uid, "")
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

    def choose_another_label(self) -> None:
        """Replace a label that already exists with the next free ``<subject>_<MOD>_<n>``."""
        assert self.draft is not None
        plan = self.draft.plans[0]
        subject = self.subject_combo.currentText().strip()
        included = {self.scan_table.item(r, 0).data(Qt.ItemDataRole.UserRole)
                    for r in range(self.scan_table.rowCount())
                    if self.scan_table.item(r, 0).checkState() == Qt.CheckState.Checked}
        self.merge_check.setChecked(False)
        self.label_edit.setText(rules.default_session_label(subject, plan.session, self.used_labels,
                                                            included, plan.tracer))

    def _existing_text(self, label: str) -> str:
        assert self.draft is not None and self.draft.project is not None
        return f"Session “{label}” already exists in project {self.draft.project.id}"

    def _refresh_auto_label(self, *_args: Any) -> None:
        """Keep the suggested label in step with the subject and tracer until the user edits it."""
        if (self.draft is not None and not self.draft.bulk and self.draft.plans
                and self.label_edit.text() == self._auto_label):
            plan = self.draft.plans[0]
            plan.tracer = self.tracer_combo.currentText().strip() if has_pet(plan) else ""
            self._auto_label = self._default_label(plan, self.subject_combo.currentText().strip())
            self.label_edit.setText(self._auto_label)
        self._validate()

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

    def _fill_bulk(self) -> None:
        assert self.draft is not None
        names = [v.name for v in self.variables]
        headers = BULK_FIXED + [getattr(v, "description", "") or v.name for v in self.variables]
        self.bulk_table.blockSignals(True)
        self.bulk_table.setColumnCount(len(headers))
        self.bulk_table.setHorizontalHeaderLabels(headers)
        self.bulk_table.setRowCount(len(self.draft.plans))
        for row, plan in enumerate(self.draft.plans):
            s = plan.session
            fixed = [s.patient_name or "—", study_title(s), format_date(s.study_date)]
            for col, value in enumerate(fixed):
                item = QTableWidgetItem(value)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                self.bulk_table.setItem(row, col, item)
            self.bulk_table.setItem(row, _SUBJECT, QTableWidgetItem(plan.subject))
            self.bulk_table.setItem(row, _LABEL, QTableWidgetItem(plan.label))
            tracer = QTableWidgetItem(plan.tracer)
            if not has_pet(plan):
                tracer.setFlags(Qt.ItemFlag.ItemIsEnabled)
                tracer.setText("")
                tracer.setToolTip("No PET scans in this session")
            self.bulk_table.setItem(row, _TRACER, tracer)
            for i, name in enumerate(names):
                var = self.variables[i]
                value = plan.variables.get(name, getattr(var, "initial_value", "") or "")
                self.bulk_table.setItem(row, len(BULK_FIXED) + i, QTableWidgetItem(value))
        self.bulk_table.blockSignals(False)

    def apply_schemes(self, *, only_empty: bool = False) -> None:
        """Fill the subject and session columns from the chosen labeling schemes.

        ``only_empty`` keeps what is already typed (sessions added after going back get labels,
        the others keep theirs).
        """
        assert self.draft is not None
        sessions = [p.session for p in self.draft.plans]
        existing = {s.label for s in self.subjects}
        subject_scheme = self.subject_scheme.currentData()
        typed = [self._cell(r, _SUBJECT) for r in range(len(sessions))]
        typed_labels = [self._cell(r, _LABEL) for r in range(len(sessions))]
        if subject_scheme == "manual":
            subjects = typed
        else:
            schemed = rules.subjects_by_scheme(subject_scheme, sessions, existing, self._split)
            subjects = [t if only_empty and t else new for t, new in zip(typed, schemed)]
        used = self.used_labels | ({t for t in typed_labels if t} if only_empty else set())
        labels = rules.sessions_by_scheme(self.session_scheme.currentData(), sessions, subjects, used)
        self.bulk_table.blockSignals(True)
        for row in range(len(sessions)):
            if subject_scheme != "manual" and not (only_empty and typed[row]):
                self.bulk_table.item(row, _SUBJECT).setText(subjects[row])
            if self.session_scheme.currentData() != "manual" and not (only_empty and typed_labels[row]):
                self.bulk_table.item(row, _LABEL).setText(labels[row])
        self.bulk_table.blockSignals(False)
        self._show_shared_names()
        self._validate()

    def _show_shared_names(self) -> None:
        assert self.draft is not None
        shared = shared_names([p.session for p in self.draft.plans])
        merged = {n: ids for n, ids in shared.items() if n not in self._split}
        auto = self.subject_scheme.currentData() == "auto"
        self.shared_box.setVisible(auto and bool(shared))
        if merged:
            names = "; ".join(f"{name or '(no name)'} ({len(ids)} Patient IDs: {', '.join(i or '—' for i in ids)})"
                              for name, ids in sorted(merged.items())[:3])
            more = f" and {len(merged) - 3} more" if len(merged) > 3 else ""
            self.shared_note.setText(f"Different patients share a name and were given one subject: "
                                     f"{names}{more}.")
        else:
            self.shared_note.setText(f"{len(shared)} shared name(s) split: each Patient ID has its "
                                     "own subject.")
        self.split_button.setVisible(bool(merged))

    def split_shared_names(self) -> None:
        """One automatic subject per Patient ID for the names shared by several patients."""
        assert self.draft is not None
        self._split |= set(shared_names([p.session for p in self.draft.plans]))
        self.apply_schemes()

    def _cell(self, row: int, col: int) -> str:
        item = self.bulk_table.item(row, col)
        return item.text().strip() if item else ""

    # CSV -----------------------------------------------------------------------------------------

    def label_rows(self) -> list[LabelRow]:
        """The bulk table as it stands, in the CSV's terms."""
        assert self.draft is not None
        names = [v.name for v in self.variables]
        return [LabelRow.from_session(plan.session, self._cell(row, _SUBJECT), self._cell(row, _LABEL),
                                      self._cell(row, _TRACER),
                                      {n: self._cell(row, len(BULK_FIXED) + i) for i, n in enumerate(names)})
                for row, plan in enumerate(self.draft.plans)]

    def csv_text(self) -> str:
        """The bulk table as CSV (``labels.csv_table``: the CLI's ``--labels`` reads the same file)."""
        out = io.StringIO()
        export_csv(self.label_rows(), out, [v.name for v in self.variables])
        return out.getvalue()

    def load_csv_text(self, text: str) -> int:
        """Apply a CSV round-trip; returns how many sessions it named. Unknown UIDs are reported."""
        assert self.draft is not None
        result = import_csv(text, self.label_rows())
        names = [v.name for v in self.variables]
        self.bulk_table.blockSignals(True)
        for row, (plan, data) in enumerate(zip(self.draft.plans, result.rows)):
            if data.study_uid in result.unchecked:
                continue
            self.bulk_table.item(row, _SUBJECT).setText(data.subject)
            self.bulk_table.item(row, _LABEL).setText(data.session)
            if has_pet(plan):
                self.bulk_table.item(row, _TRACER).setText(data.tracer)
            for i, name in enumerate(names):
                self.bulk_table.item(row, len(BULK_FIXED) + i).setText(data.variables.get(name, ""))
        self.bulk_table.blockSignals(False)
        self._validate()
        if result.errors:
            more = f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
            raise ValueError(result.errors[0].rstrip(".") + more)
        if result.unknown:
            raise ValueError(f"{len(result.unknown)} row(s) name studies that are not selected; "
                             "they were ignored")
        return len(self.draft.plans) - len(result.unchecked)

    def _export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export labels", "labels.csv", "CSV (*.csv)")
        if path:
            export_csv(self.label_rows(), Path(path), [v.name for v in self.variables])
            self.message.info(f"Saved {path}. This file contains patient names and IDs: keep it private.")

    def _import_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import labels", "", "CSV (*.csv)")
        if not path:
            return
        try:
            matched = self.load_csv_text(Path(path).read_text(encoding="utf-8-sig"))
            self.message.ok(f"Labels read for {matched} session(s).")
        except (OSError, UnicodeDecodeError, ValueError, csv.Error) as exc:
            self.message.error(f"The CSV could not be used: {exc}.")

    # Validation ----------------------------------------------------------------------------------

    def _context(self) -> LabelContext:
        assert self.draft is not None and self.draft.project is not None
        return LabelContext(project=self.draft.project.id,
                            existing_subjects={s.label for s in self.subjects},
                            used_labels=self.used_labels,
                            allow_new_subjects=bool(self.draft.settings
                                                    and self.draft.settings.allow_create_subject))

    def pending(self) -> list[SessionPlan]:
        """The plans as the form or table stands now (the draft is written on Next)."""
        assert self.draft is not None
        existing = {s.label for s in self.subjects}
        if not self.draft.bulk:
            plan = self.draft.plans[0]
            subject = self.subject_combo.currentText().strip()
            label = self.label_edit.text().strip()
            create = subject not in existing
            included = {self.scan_table.item(r, 0).data(Qt.ItemDataRole.UserRole)
                        for r in range(self.scan_table.rowCount())
                        if self.scan_table.item(r, 0).checkState() == Qt.CheckState.Checked}
            pending = replace(plan, subject=subject, create_subject=create,
                              subject_group=self.group_edit.text().strip() if create else "",
                              label=label, merge=label in self.used_labels and self.merge_check.isChecked(),
                              variables={n: e.text().strip() for n, e in self._var_edits.items()},
                              included=included)
            pending.tracer = self.tracer_combo.currentText().strip() if has_pet(pending) else ""
            return [pending]
        out = []
        for row, plan in enumerate(self.draft.plans):
            subject, label = self._cell(row, _SUBJECT), self._cell(row, _LABEL)
            out.append(replace(plan, subject=subject, create_subject=subject not in existing,
                               label=label,
                               merge=label in self.used_labels and self.bulk_merge_check.isChecked(),
                               tracer=self._cell(row, _TRACER) if has_pet(plan) else "",
                               variables={v.name: self._cell(row, len(BULK_FIXED) + i)
                                          for i, v in enumerate(self.variables)}))
        return out

    def problems(self) -> list[str]:
        """Everything that stops the upload, in words (``plan.rules``; empty when complete)."""
        if self.draft is None or self._loading:
            return ["Loading…"]
        names = [v.name for v in self.variables]
        if self.draft.bulk:
            return bulk_problems(self.pending(), self._context(), names,
                                 self.bulk_merge_check.isChecked())
        label = self.label_edit.text().strip()
        self.label_edit.setProperty("invalid", bool(label) and not rules.is_valid_label(label))
        self.label_edit.style().polish(self.label_edit)
        return single_problems(self.pending()[0], self._context(), list(self._var_edits),
                               self.merge_check.isChecked())

    def clashes(self) -> list[str]:
        """The chosen session labels that already exist in the project."""
        if self.draft is None or self._loading:
            return []
        if self.draft.bulk:
            labels = {self._cell(r, _LABEL) for r in range(len(self.draft.plans))}
        else:
            labels = {self.label_edit.text().strip()}
        return sorted((labels - {""}) & self.used_labels)

    def notes(self) -> str:
        """Non-blocking remarks: the sessions that will be merged into, a missing lookup table."""
        clashes = self.clashes()
        merge = self.bulk_merge_check if self.draft is not None and self.draft.bulk else self.merge_check
        remarks = []
        if clashes and merge.isChecked():
            more = "…" if len(clashes) > 5 else ""
            which = "session" if len(clashes) == 1 else "sessions"
            remarks.append(f"These scans will be added to the existing {which} "
                           f"{', '.join(clashes[:5])}{more}.")
        if self.lookup_warning():
            remarks.append(self.lookup_warning())
        remarks.extend(self._server_filter_notes())
        return " ".join(remarks)

    def _server_filter_notes(self) -> list[str]:
        """Scans left out because XNAT's series import filter would drop them (issue 17 §3):
        the filter's verdicts, unless a decision taken in Review says otherwise."""
        review = self.draft.review if self.draft is not None else {}
        dropped = {uid: reason for uid, reason in self._filtered.items()
                   if uid not in review or review[uid].excluded}
        dropped.update({uid: c.exclude_reason for uid, c in review.items()
                        if c.excluded and c.exclude_reason.startswith("XNAT's ")})
        if not dropped:
            return []
        reasons = list(dropped.values())
        noun = "scan is" if len(reasons) == 1 else "scans are"
        return [f"{len(reasons)} {noun} left out because XNAT would drop them ({reasons[0]}"
                f"{'; …' if len(reasons) > 1 else ''}); include them in Review to send anyway."]

    def _validate(self, *_args: Any) -> None:
        clashes = self.clashes()
        if self.draft is not None and not self.draft.bulk:
            self.form.setRowVisible(self.exists_box, bool(clashes))
            if clashes:
                self.exists_text.setText(self._existing_text(clashes[0]) + ".")
        if self.bulk_merge_check.isChecked() and clashes != self._merge_clashes:
            self.bulk_merge_check.setChecked(False)  # other labels now clash: ask again
        self.bulk_merge_check.setVisible(bool(clashes) and self.draft is not None and self.draft.bulk)
        problems = self.problems()
        if problems and problems != ["Loading…"]:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            self.problem.error(problems[0] + more)
        elif not problems and self.notes():
            self.problem.info(self.notes())
        else:
            self.problem.clear()
        self.completeChanged.emit()

    def is_complete(self) -> bool:
        return not self.problems()

    def blocking_message(self) -> str:
        problems = self.problems()
        return problems[0] if problems else ""

    def advance(self, draft: UploadDraft, proceed: Callable[[], None]) -> None:
        draft.plans = self.pending()
        proceed()
