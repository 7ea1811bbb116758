"""Step 4: subject, session label, script variables and scans for each selected session.

One session gets a form (``single``); several get one editable table with a column per script
variable (``bulk``) — the official client cannot ask for variables in bulk — plus labeling-scheme
pickers, CSV export/import (``csv_actions``) and duplicate checks. Subjects and existing labels
are fetched in the background when the page opens. A label that already exists in the project is
never merged into by accident: the user either ticks "Add these scans to it" or chooses another
label. An optional DicomEdit lookup table (``lookup``) is chosen here too. What stops the upload
and the remarks come from ``plan.rules``; the page only shows them (``problems``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from PySide6.QtWidgets import QLineEdit, QStackedWidget, QVBoxLayout, QWidget

from desktop_client.gui.widgets import MessageBar, header, hint
from desktop_client.gui.wizard.confirm.bulk import BulkTable
from desktop_client.gui.wizard.confirm.csv_actions import CsvActions, apply_csv, csv_text
from desktop_client.gui.wizard.confirm.lookup import LookupRow
from desktop_client.gui.wizard.confirm.problems import LOADING, ProblemsBanner
from desktop_client.gui.wizard.confirm.single import SingleSessionForm
from desktop_client.gui.wizard.select_page import format_date, study_title
from desktop_client.gui.wizard.state import WizardStep
from desktop_client.gui.workers import TaskRunner
from desktop_client.plan import labelling as rules
from desktop_client.plan.draft import SessionPlan, UploadDraft
from desktop_client.plan.review import series_filter_exclusions
from desktop_client.plan.rules import (LabelContext, bulk_problems, lookup_warning, merge_note,
                                       server_filter_notes, single_problems)
from desktop_client.plan.targets import SubjectInfo, explain_error
from desktop_client.transfer.spec import LookupTable


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
        self._filtered: dict[str, str] = {}

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
        self.single = SingleSessionForm()
        self.single.edited.connect(self._validate)
        self.bulk = BulkTable()
        self.bulk.edited.connect(self._validate)
        self.csv = CsvActions(self.bulk, self.message, self)
        self.csv.add_to(self.bulk.tools.addWidget)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.single)
        self.stack.addWidget(self.bulk)
        outer.addWidget(self.stack, 1)
        self.lookup = LookupRow()
        self.lookup.chosen.connect(self.load_lookup_table)
        self.lookup.cleared.connect(lambda: self.set_lookup_table(None))
        outer.addWidget(self.lookup)
        self.problem = ProblemsBanner()
        outer.addWidget(self.problem)
        # The parts users (and tests) reach for by name.
        self.label_edit, self.subject_combo = self.single.label_edit, self.single.subject_combo
        self.merge_check, self.tracer_combo = self.single.merge_check, self.single.tracer_combo
        self.bulk_table, self.bulk_merge_check = self.bulk.table, self.bulk.merge_check
        self.subject_scheme, self.session_scheme = self.bulk.subject_scheme, self.bulk.session_scheme
        self.lookup_row, self.lookup_label = self.lookup, self.lookup.label
        self.lookup_clear = self.lookup.clear_button
        self.exists_box, self.exists_text = self.single.exists_box, self.single.exists_text
        self.subject_note, self.other_label_button = self.single.subject_note, self.single.other_label_button
        self.shared_box, self.shared_note = self.bulk.shared_box, self.bulk.shared_note
        self.split_button = self.bulk.split_button

    @property
    def _var_edits(self) -> dict[str, QLineEdit]:
        return self.single.variables.edits

    def _cell(self, row: int, col: int) -> str:
        return self.bulk.cell(row, col)

    # Lookup table --------------------------------------------------------------------------------

    def _show_lookup_table(self) -> None:
        table = self.draft.lookup_table if self.draft is not None else None
        scripts = self.draft.settings.scripts if self.draft is not None and self.draft.settings else []
        self.lookup.show_table(table, bool(scripts))

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
        if self.draft is None or self.draft.settings is None:
            return ""
        return lookup_warning(self.draft.settings.scripts, self.draft.lookup_table)

    # Entering ------------------------------------------------------------------------------------

    def enter(self, draft: UploadDraft) -> None:
        self.draft = draft
        assert draft.target is not None and draft.project is not None and draft.settings is not None
        self.variables = []
        self.single.plan = None if draft.bulk else draft.plans[0]
        self.single.set_tracers(draft.settings.tracers or rules.DEFAULT_TRACERS)
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
            self.variables = result.variables
            self._filtered = result.filtered
            self._populate(result)

        def failed(exc: BaseException) -> None:
            self._loading = False
            self.message.error(f"The project's subjects could not be read. {explain_error(exc)} "
                               "Go back and choose the project again to retry.")
            self.completeChanged.emit()

        self.runner.call("subjects", fetch, on_done=done, on_error=failed)

    def _populate(self, fetched: Fetched) -> None:
        assert self.draft is not None and self.draft.settings is not None
        settings = self.draft.settings
        if self.draft.bulk:
            self.bulk.fill(self.draft.plans, self.variables, {s.label for s in self.subjects},
                           self.used_labels, rules.subject_scheme_of(settings.subject_scheme),
                           rules.session_scheme_of(settings.session_scheme))
        else:
            self.single.fill(self.draft.plans[0], self.subjects, self.used_labels,
                             fetched.script_label, self.variables, fetched.statuses,
                             settings.allow_create_subject)
        self._validate()

    # Actions (the bulk table's and the single form's, for one page) ------------------------------

    def apply_schemes(self, *, only_empty: bool = False) -> None:
        self.bulk.apply_schemes(only_empty=only_empty)

    def split_shared_names(self) -> None:
        self.bulk.split_shared_names()

    def choose_another_label(self) -> None:
        self.single.choose_another_label()

    def label_rows(self) -> list[Any]:
        return self.bulk.label_rows()

    def csv_text(self) -> str:
        """The bulk table as CSV (``labels.csv_table``: the CLI's ``--labels`` reads the same file)."""
        return csv_text(self.bulk)

    def load_csv_text(self, text: str) -> int:
        """Apply a CSV round-trip; returns how many sessions it named. Unknown UIDs are reported."""
        return apply_csv(self.bulk, text)

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
        return self.bulk.pending() if self.draft.bulk else [self.single.pending()]

    def problems(self) -> list[str]:
        """Everything that stops the upload, in words (``plan.rules``; empty when complete)."""
        if self.draft is None or self._loading:
            return [LOADING]
        names = [v.name for v in self.variables]
        if self.draft.bulk:
            return bulk_problems(self.pending(), self._context(), names, self.bulk.merge_check.isChecked())
        self.single.mark_label()
        return single_problems(self.pending()[0], self._context(), list(self.single.variables.edits),
                               self.single.merge_check.isChecked())

    def clashes(self) -> list[str]:
        """The chosen session labels that already exist in the project."""
        if self.draft is None or self._loading:
            return []
        return self.bulk.clashes() if self.draft.bulk else self.single.clashes()

    def notes(self) -> str:
        """Non-blocking remarks: the sessions that will be merged into, a missing lookup table."""
        bulk = self.draft is not None and self.draft.bulk
        merge = self.bulk.merge_check if bulk else self.single.merge_check
        remarks = [merge_note(self.clashes(), merge.isChecked()), self.lookup_warning(),
                   *server_filter_notes(self._filtered, self.draft.review if self.draft else {})]
        return " ".join(r for r in remarks if r)

    def _validate(self, *_args: Any) -> None:
        clashes = self.clashes()
        bulk = self.draft is not None and self.draft.bulk
        if self.draft is not None and not bulk:
            assert self.draft.project is not None
            self.single.show_clash(clashes, self.draft.project.id)
        self.bulk.refresh_merge(clashes if bulk else [])
        self.problem.show_state(self.problems(), self.notes())
        self.completeChanged.emit()

    def is_complete(self) -> bool:
        return not self.problems()

    def blocking_message(self) -> str:
        problems = self.problems()
        return problems[0] if problems else ""

    def advance(self, draft: UploadDraft, proceed: Callable[[], None]) -> None:
        draft.plans = self.pending()
        proceed()
