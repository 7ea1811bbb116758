"""The upload being prepared: what each wizard step decided, in one place.

Steps read what earlier steps chose from the ``UploadDraft`` and write their own decisions back
when the user moves on; the Summary step turns the draft into transfer specifications.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from desktop_client.gui.targets import ProjectInfo, ProjectSettings, UploadTarget
from desktop_client.scanning.model import ScanResult, Session
from desktop_client.transfer.spec import LookupTable


@dataclass
class SessionPlan:
    """How one selected study will be uploaded."""

    session: Session
    subject: str = ""
    subject_group: str = ""
    create_subject: bool = False
    label: str = ""
    tracer: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    included: set[str] = field(default_factory=set)
    #: the label already exists and the user chose to add these scans to that session
    merge: bool = False

    def __post_init__(self) -> None:
        if not self.included:
            self.included = set(self.session.scans)


@dataclass
class UploadDraft:
    target: UploadTarget | None = None
    project: ProjectInfo | None = None
    settings: ProjectSettings | None = None
    #: Compiled DicomEdit scripts (site then project); empty when none apply.
    scripts: list[Any] = field(default_factory=list)
    scan_result: ScanResult | None = None
    plans: list[SessionPlan] = field(default_factory=list)
    #: Review choices keyed by SeriesInstanceUID (from the Review step, when it exists).
    review: dict[str, Any] = field(default_factory=dict)
    review_available: bool = False
    #: The DicomEdit lookup table the user chose for the scripts' ``lookup[...]`` (all sessions).
    lookup_table: LookupTable | None = None

    @property
    def bulk(self) -> bool:
        return len(self.plans) > 1

    def reset_from(self, step: str) -> None:
        """Forget everything decided at ``step`` and after (the user went back and changed it)."""
        order = ["target", "project", "data"]
        index = order.index(step)
        if index <= 0:
            self.project = None
            self.settings = None
            self.scripts = []
            self.lookup_table = None
        if index <= 1:
            self.plans = []
            self.review = {}
        if index <= 2:
            self.review = {}


class WizardStep(QWidget):
    """A page of the upload wizard.

    ``completeChanged`` tells the wizard to re-check ``is_complete``; ``blocking_message`` says
    in words why Next is disabled. ``enter`` runs when the page is shown with the current draft,
    ``advance`` when the user presses Next: it may do background work and calls ``proceed`` (or
    shows an inline error and does not).
    """

    completeChanged = Signal()
    title = ""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")

    def enter(self, draft: UploadDraft) -> None:
        """Show the page for ``draft``."""

    def is_complete(self) -> bool:
        return True

    def blocking_message(self) -> str:
        return ""

    def advance(self, draft: UploadDraft, proceed: Any) -> None:
        """Write this page's decisions into ``draft`` and call ``proceed()``."""
        proceed()

    def next_label(self) -> str:
        return "Next"
