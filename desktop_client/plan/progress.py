"""What is left to review, in one line the Review screen keeps in view (no Qt).

"3 groups not reviewed · 2 scans held back until you decide": counted from the review
model, so the GUI's status line and anything else that asks (a headless check of a saved plan)
say the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop_client.plan.review import ReviewModel, ScanReviewChoice


def decided(choice: ScanReviewChoice) -> bool:
    """Has a person decided about this scan's pixels (boxes, checked, accepted, or left out)?"""
    return bool(choice.text_decision) or bool(choice.rectangles)


@dataclass(frozen=True)
class ReviewProgress:
    groups_not_reviewed: int = 0
    text_without_decision: int = 0

    @property
    def done(self) -> bool:
        return not (self.groups_not_reviewed or self.text_without_decision)

    def text(self) -> str:
        """The status line ("" when nothing is left)."""
        parts = []
        if self.groups_not_reviewed:
            n = self.groups_not_reviewed
            parts.append(f"{n} group{'s' if n != 1 else ''} not reviewed")
        if self.text_without_decision:
            n = self.text_without_decision
            # held for text found, a header saying burned in, a stopped search or header text the
            # scripts keep: one count, each scan says its own reason
            parts.append(f"{n} scan{'s' if n != 1 else ''} held back until you decide")
        return " · ".join(parts)


def review_progress(model: ReviewModel) -> ReviewProgress:
    """Count what is left.

    A Valid group is reviewed once opened (``model.reviewed_groups``) or once any of its scans
    has a decision; a scan held back is one the gate holds back
    (``ReviewModel.held_back``, the one hold-back rule).
    """
    return ReviewProgress(groups_not_reviewed(model), len(model.held_back()))


def groups_not_reviewed(model: ReviewModel) -> int:
    """Valid groups nobody opened and none of whose scans has a decision (``review_progress``'s
    first count alone: the Review screen keeps the gate's verdicts itself and must not run the
    gate over every scan again each time it recounts)."""
    return sum(1 for g in model.grouping.valid
               if model.group_id(g) not in model.reviewed_groups
               and not any(decided(model.choices[u]) for u in model.group_members(g)))
