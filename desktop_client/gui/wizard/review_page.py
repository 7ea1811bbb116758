"""Step 5: the pixel review, provided by ``desktop_client.gui.review.ReviewStep``.

The review widget is imported lazily. When it cannot be imported this page says so plainly and
the Summary records that no pixel review took place; it never pretends a review happened.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Callable

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from desktop_client.gui.widgets import Card, header, hint
from desktop_client.gui.wizard.state import WizardStep
from desktop_client.scanning.model import Session
from desktop_client.plan.draft import SessionPlan, UploadDraft
from desktop_client.plan.privatetext import draft_chain

if TYPE_CHECKING:  # imported at run time inside a try: a missing review module must not stop the app
    from desktop_client.gui.review import ReviewStep

log = logging.getLogger(__name__)


def included_session(plan: SessionPlan) -> Session:
    """The session as it will be uploaded: only the scans ticked on the Confirm step."""
    return dataclasses.replace(plan.session, scans={uid: scan for uid, scan in plan.session.scans.items()
                                                    if uid in plan.included})


class ReviewPage(WizardStep):
    title = "Review images"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.inner: ReviewStep | None = None
        self.unavailable_reason = ""
        #: What the review was last built from (compared only): included scans per study, filters.
        self._shown: tuple[object, ...] = ()
        try:
            from desktop_client.gui.review import ReviewStep
        except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
            log.warning("pixel review step unavailable: %s", exc)
            self.unavailable_reason = f"{type(exc).__name__}: {exc}"
            self._placeholder()
        else:
            self.inner = ReviewStep(self)
            self.inner.completeChanged.connect(self.completeChanged)
            self.layout_.addWidget(self.inner)

    def _placeholder(self) -> None:
        box = QWidget()
        v = QVBoxLayout(box)
        v.addWidget(header("Review images"))
        card = Card()
        card.body.addWidget(QLabel("<b>The pixel review step is not available in this build.</b>"))
        card.body.addWidget(hint("Burned-in text in the images will not be checked or blacked out. "
                                 "Only the header anonymization scripts will be applied. If the "
                                 "images may contain burned-in patient details, do not upload them "
                                 "from this build."))
        card.body.addWidget(hint(f"Reason: {self.unavailable_reason}"))
        v.addWidget(card)
        v.addStretch(1)
        self.layout_.addWidget(box)

    @property
    def available(self) -> bool:
        return self.inner is not None

    def enter(self, draft: UploadDraft) -> None:
        draft.review_available = self.available
        if self.inner is None:
            return
        filters = list(draft.settings.series_filters) if draft.settings is not None else []
        # What the destination's scripts leave of each scan's private text is checked, not claimed.
        chain = draft_chain(draft)
        key = (tuple((p.session.study_instance_uid, tuple(sorted(p.included))) for p in draft.plans),
               tuple(map(id, filters)), chain.scripts, chain.known)
        if key != self._shown:
            # A changed selection rebuilds the review with every decision taken so far (they are
            # keyed by SeriesInstanceUID, so they follow their scans whatever else changed).
            self._shown = key
            self.inner.set_sessions([included_session(p) for p in draft.plans], dict(draft.review),
                                    set(draft.reviewed_groups), filters, chain)

    def leave(self, draft: UploadDraft) -> None:
        """Keep the decisions whichever way the user leaves (Back or a step label, not only Next)."""
        if self.inner is None or self.inner.review is None:
            return
        draft.review.update(self.inner.choices())
        draft.reviewed_groups |= set(self.inner.review.reviewed_groups)
        draft.private_checks.update(self.inner.review.private_checks)

    def is_complete(self) -> bool:
        return True if self.inner is None else bool(self.inner.is_complete())

    def blocking_message(self) -> str:
        return "" if self.inner is None or self.inner.is_complete() else str(self.inner.blocking_message())

    def advance(self, draft: UploadDraft, proceed: Callable[[], None]) -> None:
        self.leave(draft)
        proceed()
