"""Rect.overlap: the one measure of "these two boxes are the same text line" (finder and review)."""

from __future__ import annotations

from desktop_client.core.geometry import Rect


def test_overlap_is_intersection_over_the_smaller_area() -> None:
    line = Rect(10, 10, 110, 20)
    assert line.overlap(line) == 1.0
    assert line.overlap(Rect(10, 10, 60, 20)) == 1.0  # the left half, read alone: same line
    assert line.overlap(Rect(8, 8, 60, 22)) > 0.6  # ... and padded: still the same line (the 0.6 cut)
    assert line.overlap(Rect(60, 10, 160, 20)) == 0.5
    assert line.overlap(Rect(110, 10, 120, 20)) == 0.0  # touching edges share no pixel
    assert line.overlap(Rect(0, 30, 100, 40)) == 0.0
