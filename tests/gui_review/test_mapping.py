"""Screen ⇄ image coordinate maths of the viewer (no Qt needed)."""

from __future__ import annotations

from desktop_client.core.geometry import Rect
from desktop_client.gui.viewer.mapping import (
    ViewTransform, fit_transform, hit_test, moved, pixel_at, rect_from_points, resized,
)


def test_fit_centres_and_roundtrips() -> None:
    t = fit_transform(640, 480, 800, 600, margin=0)
    assert t.scale == 1.25 and (t.offset_x, t.offset_y) == (0.0, 0.0)
    t = fit_transform(100, 400, 800, 600, margin=0)
    assert t.scale == 1.5 and t.offset_x == (800 - 150) / 2
    assert t.to_image(*t.to_screen(37.5, 12.25)) == (37.5, 12.25)


def test_zoom_keeps_anchor_point_fixed() -> None:
    t = ViewTransform(2.0, 10, 20)
    before = t.to_image(300, 200)
    z = t.zoomed(1.5, 300, 200)
    assert z.scale == 3.0
    after = z.to_image(300, 200)
    assert abs(before[0] - after[0]) < 1e-9 and abs(before[1] - after[1]) < 1e-9


def test_rect_from_drag_covers_touched_pixels_and_clips() -> None:
    assert rect_from_points(10.2, 5.9, 3.7, 20.1, 640, 480) == Rect(3, 5, 11, 21)
    assert rect_from_points(-5, -5, 10.5, 10.5, 640, 480) == Rect(0, 0, 11, 11)
    assert rect_from_points(630, 470, 700, 500, 640, 480) == Rect(630, 470, 640, 480)
    assert rect_from_points(4.5, 4.5, 4.5, 4.5, 640, 480) == Rect(4, 4, 5, 5)
    assert rect_from_points(-20, -20, -10, -10, 640, 480) is None


def test_pixel_at_edges() -> None:
    assert pixel_at(0.0, 0.0, 10, 10) == (0, 0)
    assert pixel_at(9.99, 9.99, 10, 10) == (9, 9)
    assert pixel_at(10.0, 5, 10, 10) is None and pixel_at(-0.01, 5, 10, 10) is None


def test_move_and_resize_stay_inside() -> None:
    r = Rect(10, 10, 20, 30)
    assert moved(r, -50, 5, 100, 100) == Rect(0, 15, 10, 35)
    assert moved(r, 500, 500, 100, 100) == Rect(90, 80, 100, 100)
    assert resized(r, "br", 40.4, 50.6, 100, 100) == Rect(10, 10, 40, 51)
    assert resized(r, "l", 35, 0, 100, 100) == Rect(19, 10, 20, 30)  # never crosses the right edge
    assert resized(r, "t", 0, -30, 100, 100) == Rect(10, 0, 20, 30)


def test_hit_test_handles_then_topmost() -> None:
    t = ViewTransform(2.0, 0, 0)
    rects = [Rect(0, 0, 100, 100), Rect(10, 10, 20, 20)]
    assert hit_test(rects, t, 30, 30) == (1, "move")     # image (15,15): inside both, topmost wins
    assert hit_test(rects, t, 100, 100) == (0, "move")
    assert hit_test(rects, t, 40, 40) == (1, "br")       # image (20,20) is rect 1's corner
    assert hit_test(rects, t, 201, 100) == (0, "r")
    assert hit_test(rects, t, 300, 300) is None
