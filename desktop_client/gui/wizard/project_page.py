"""Step 2: the project to upload into, with its upload rules shown before any data is picked.

The list is filled in the background (recent projects first, then alphabetical) and filtered as
the user types. Choosing a project fetches its settings and scripts in the background; the panel
shows what the official client shows, and clicking a script shows its text inline.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop_client.plan.settings import load_recent_projects, remember_project
from desktop_client.plan.targets import ProjectInfo, ProjectSettings, explain_error
from desktop_client.gui.widgets import Card, MessageBar, header, hint
from desktop_client.gui.wizard.state import WizardStep
from desktop_client.gui.workers import TaskRunner
from desktop_client.plan.draft import UploadDraft

if TYPE_CHECKING:  # dicomedit is loaded when a project's scripts are compiled, not with the page
    from desktop_client.dicomedit import Script

log = logging.getLogger(__name__)

_YES, _NO = "✔ yes", "✖ no"


def compile_scripts(settings: ProjectSettings) -> list[Script]:
    """Compile the site and project scripts (blocking); a bad script raises with its message."""
    if not settings.scripts:
        return []
    from desktop_client.dicomedit import compile_script

    return [compile_script(text) for text in settings.scripts]


class ProjectPage(WizardStep):
    title = "Project"

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self._draft: UploadDraft | None = None
        self._projects: list[ProjectInfo] = []
        self._settings: ProjectSettings | None = None
        self._scripts: list[Script] | None = None
        self._loading = False
        self._request = 0
        self._shown_target: object | None = None
        self._recent: set[str] = set()

        outer = QVBoxLayout(self)
        outer.addWidget(header("Choose a project"))
        self.subtitle = hint("")
        outer.addWidget(self.subtitle)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("projectSplitter")
        outer.addWidget(splitter, 1)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search projects (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._fill_list)
        self.search.returnPressed.connect(self._pick_first)
        lv.addWidget(self.search)
        QShortcut(QKeySequence.StandardKey.Find, self, self.search.setFocus)
        self.list = QListWidget()
        self.list.setObjectName("projectList")
        self.list.setAccessibleName("Projects")
        self.list.currentItemChanged.connect(self._on_pick)
        lv.addWidget(self.list, 1)
        splitter.addWidget(left)

        panel = Card()
        panel.body.addWidget(QLabel("<b>Project settings</b>"))
        form = QFormLayout()
        self.values: dict[str, QLabel] = {}
        for key, title in (("project", "Project"), ("destination", "Destination"),
                           ("subjects", "Subject creation allowed"),
                           ("date", "Date verification required"), ("bulk", "Bulk upload allowed"),
                           ("filter", "Series import filter")):
            label = QLabel("—")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.values[key] = label
            form.addRow(title, label)
        self.site_button = QPushButton("—")
        self.site_button.setFlat(True)
        self.site_button.clicked.connect(lambda: self._show_script("site"))
        self.project_button = QPushButton("—")
        self.project_button.setFlat(True)
        self.project_button.clicked.connect(lambda: self._show_script("project"))
        form.addRow("Site anonymization script", self.site_button)
        form.addRow("Project anonymization script", self.project_button)
        panel.body.addLayout(form)
        self.script_view = QPlainTextEdit()
        self.script_view.setReadOnly(True)
        self.script_view.setAccessibleName("Anonymization script text")
        self.script_view.hide()
        panel.body.addWidget(self.script_view, 1)
        self.message = MessageBar()
        panel.body.addWidget(self.message)
        panel.body.addStretch(0)
        splitter.addWidget(panel)
        splitter.setSizes([300, 600])

    # Loading -------------------------------------------------------------------------------------

    def enter(self, draft: UploadDraft) -> None:
        self._draft = draft
        if draft.target is None:
            return
        self.subtitle.setText(f"Destination: {draft.target.describe()}")
        if draft.target is not self._shown_target or not self._projects:
            self._shown_target = draft.target
            self._load_projects()
        self.search.setFocus()

    def _load_projects(self) -> None:
        assert self._draft is not None and self._draft.target is not None
        target = self._draft.target
        self._projects = []
        self.list.clear()
        self._loading = True
        self.message.info("Loading projects…")
        self.completeChanged.emit()

        def done(projects: list[ProjectInfo]) -> None:
            self._loading = False
            recent = load_recent_projects(target.connection.id)
            rank = {p: i for i, p in enumerate(recent)}
            self._projects = sorted(projects, key=lambda p: (rank.get(p.id, len(rank)), p.id.lower()))
            self._recent = set(recent)
            if not projects:
                self.message.error("There are no projects on this server that you may upload to. "
                                   "Ask the project owner for member or owner access.")
            else:
                self.message.clear()
            self._fill_list()
            if self._draft and self._draft.project:
                self._select_id(self._draft.project.id)
            elif self._projects:
                self.list.setCurrentRow(0)
            self.completeChanged.emit()

        def failed(exc: BaseException) -> None:
            self._loading = False
            self.message.error(f"The project list could not be loaded. {explain_error(exc)}")
            self.completeChanged.emit()

        self.runner.call("projects", target.projects, on_done=done, on_error=failed)

    def _fill_list(self) -> None:
        text = self.search.text().strip().lower()
        current = self.current_project()
        self.list.blockSignals(True)
        self.list.clear()
        recent = self._recent
        for project in self._projects:
            hay = f"{project.id} {project.name} {project.secondary_id}".lower()
            if text and text not in hay:
                continue
            label = project.title() + ("   · recent" if project.id in recent else "")
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, project)
            self.list.addItem(item)
        target = self._draft.target if self._draft else None
        typed = self.search.text().strip()
        if (typed and target is not None and target.can_create_projects
                and not any(p.id == typed for p in self._projects)):
            item = QListWidgetItem(f"Create project folder “{typed}”")
            item.setData(Qt.ItemDataRole.UserRole, ProjectInfo(id=typed, name=typed))
            self.list.addItem(item)
        self.list.blockSignals(False)
        if current is not None:
            self._select_id(current.id)

    def _select_id(self, project_id: str) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole).id == project_id:
                self.list.setCurrentRow(row)
                return

    def _pick_first(self) -> None:
        if self.list.count():
            self.list.setCurrentRow(0)
            self.list.setFocus()

    def current_project(self) -> ProjectInfo | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _on_pick(self, *_args: Any) -> None:
        project = self.current_project()
        self._settings = None
        self._scripts = None
        self.script_view.hide()
        if project is None or self._draft is None or self._draft.target is None:
            self.completeChanged.emit()
            return
        self._request += 1
        request = self._request
        target = self._draft.target
        self._loading = True
        self.values["project"].setText(project.title())
        for key in ("destination", "subjects", "date", "bulk", "filter"):
            self.values[key].setText("…")
        self.message.info("Reading the project's settings…")
        self.completeChanged.emit()

        def fetch() -> tuple[ProjectSettings, list[Script] | BaseException]:
            settings = target.project_settings(project.id)
            try:
                scripts: list[Script] | BaseException = compile_scripts(settings)
            except Exception as exc:  # noqa: BLE001 - shown inline, blocks Next
                scripts = exc
            return settings, scripts

        def done(result: tuple[ProjectSettings, list[Script] | BaseException]) -> None:
            if request != self._request:
                return
            self._loading = False
            settings, scripts = result
            self._settings = settings
            self._show_settings(settings)
            if isinstance(scripts, BaseException):
                self._scripts = None
                self.message.error(f"The project's anonymization script cannot be used: {scripts}. "
                                   "Ask the project owner to fix it; nothing can be uploaded until then.")
            else:
                self._scripts = scripts
                self.message.clear()
            self.completeChanged.emit()

        def failed(exc: BaseException) -> None:
            if request != self._request:
                return
            self._loading = False
            self.message.error(f"The project's settings could not be read. {explain_error(exc)}")
            self.completeChanged.emit()

        self.runner.call("project-settings", fetch, on_done=done, on_error=failed)

    def _show_settings(self, s: ProjectSettings) -> None:
        self.values["destination"].setText(s.destination)
        self.values["subjects"].setText(_YES if s.allow_create_subject else _NO)
        self.values["date"].setText(_YES if s.require_date else _NO)
        self.values["bulk"].setText(_YES if s.allow_bulk else _NO + " (one session at a time)")
        self.values["filter"].setText(s.series_filter or "none")
        for button, text in ((self.site_button, s.site_script), (self.project_button, s.project_script)):
            button.setText("✔ present — show" if text else "✖ none")
            button.setEnabled(bool(text))

    def _show_script(self, which: str) -> None:
        if self._settings is None:
            return
        text = self._settings.site_script if which == "site" else self._settings.project_script
        self.script_view.setPlainText(text or "")
        self.script_view.setVisible(bool(text))

    # Wizard --------------------------------------------------------------------------------------

    def is_complete(self) -> bool:
        return (not self._loading and self.current_project() is not None
                and self._settings is not None and self._scripts is not None)

    def blocking_message(self) -> str:
        if self._loading:
            return "Loading…"
        if self.current_project() is None:
            return "Choose a project."
        if self._scripts is None:
            return "This project's anonymization script cannot be used."
        return ""

    def advance(self, draft: UploadDraft, proceed: Callable[[], None]) -> None:
        project = self.current_project()
        assert project is not None and self._settings is not None and draft.target is not None
        if draft.project is None or draft.project.id != project.id:
            draft.reset_from("project")
        draft.project = project
        draft.settings = self._settings
        draft.scripts = list(self._scripts or [])
        try:
            remember_project(draft.target.connection.id, project.id)
        except OSError:  # the recent list is a convenience; the upload must not depend on it
            log.warning("the recent-projects list could not be saved")
        proceed()
