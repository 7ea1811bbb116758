"""Review of scans before upload: single-session viewer flow and bulk group review with templates."""

from desktop_client.plan.review import ReviewModel, ScanReviewChoice, Summary
from desktop_client.gui.review.step import ReviewStep

__all__ = ["ReviewModel", "ReviewStep", "ScanReviewChoice", "Summary"]
