"""The upload being prepared: every decision taken so far, in one place (no Qt).

The GUI's wizard steps read what earlier steps chose from the ``UploadDraft`` and write their own
decisions back when the user moves on; the CLI fills one from its options or a saved plan file.
``plan.specs`` turns a draft into transfer specifications, whoever filled it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from desktop_client.plan.review import ScanReviewChoice
from desktop_client.plan.targets import ProjectInfo, ProjectSettings, UploadTarget
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
    #: Review decisions keyed by SeriesInstanceUID. Kept for every scan ever reviewed, whether
    #: or not its session is selected now, so going back and changing the selection loses nothing.
    review: dict[str, ScanReviewChoice] = field(default_factory=dict)
    #: Review groups the user opened (``ReviewModel.group_id``), kept with the decisions.
    reviewed_groups: set[str] = field(default_factory=set)
    review_available: bool = False
    #: The folders, files and archives the user selected (a saved plan re-scans them).
    sources: list[str] = field(default_factory=list)
    #: The DicomEdit lookup table the user chose for the scripts' ``lookup[...]`` (all sessions).
    lookup_table: LookupTable | None = None
    #: What the destination's scripts leave of each image scan's private text and overlays
    #: (``plan.privatetext.PrivateTextCheck`` by SeriesInstanceUID; Review fills it).
    private_checks: dict[str, Any] = field(default_factory=dict)

    @property
    def bulk(self) -> bool:
        return len(self.plans) > 1

    def reset_from(self, step: str) -> None:
        """Forget what was decided at ``step`` and after (the user went back and changed it).

        A new destination or project changes scripts and labels, never what the user decided
        about the pixels of a scan: review decisions are only dropped for scans no longer scanned.
        """
        index = ["target", "project"].index(step)
        if index <= 0:
            self.project = None
            self.settings = None
            self.scripts = []
            self.lookup_table = None
        if index <= 1:
            self.plans = []
            self.private_checks = {}  # checked against the scripts of the destination left behind
