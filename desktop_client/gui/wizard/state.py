"""The wizard page base class; the draft it fills is ``desktop_client.plan.draft.UploadDraft``."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from desktop_client.plan.draft import UploadDraft


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

    def leave(self, draft: UploadDraft) -> None:
        """The page is left by any way (Back, a step label, Next): keep work not yet in ``draft``."""

    def advance(self, draft: UploadDraft, proceed: Callable[[], None]) -> None:
        """Write this page's decisions into ``draft`` and call ``proceed()``."""
        proceed()

    def next_label(self) -> str:
        return "Next"
