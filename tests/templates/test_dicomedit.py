"""Rectangles → alterPixels statements, in the form XNAT's DicomEdit 6 accepts, and back."""

from __future__ import annotations

import pytest

from desktop_client.core.geometry import BLACK, Fill, Rect
from desktop_client.templates import rectangles_from_dicomedit, to_dicomedit


def test_official_client_form() -> None:
    script = to_dicomedit([Rect(10, 20, 110, 60), Rect(0, 0, 640, 30)])
    assert script == (
        'version "6.1"\n'
        'alterPixels["rectangle", "l=10, t=20, r=110, b=60", "solid", "v=0"]\n'
        'alterPixels["rectangle", "l=0, t=0, r=640, b=30", "solid", "v=0"]\n'
    )


def test_empty_and_duplicates() -> None:
    assert to_dicomedit([]) == ""
    assert to_dicomedit([Rect(1, 1, 1, 9)]) == ""
    assert to_dicomedit([Rect(0, 0, 5, 5), Rect(0, 0, 5, 5)], version=False).count("alterPixels") == 1


def test_fills() -> None:
    assert '"v=100"]' in to_dicomedit([Rect(0, 0, 2, 2)], Fill.grey(100))
    assert '"r=255, g=0, b=0"]' in to_dicomedit([Rect(0, 0, 2, 2)], Fill.colour(255, 0, 0))


def test_roundtrip_and_dicomedit_property_rules() -> None:
    rects = [Rect(3, 4, 50, 60), Rect(0, 0, 640, 30)]
    assert [r for r, _ in rectangles_from_dicomedit(to_dicomedit(rects))] == rects
    # Whitespace is insignificant, long keys accepted, reversed corners normalised.
    parsed = rectangles_from_dicomedit('alterPixels[ "Rectangle" , "left = 50,top=60, right=3 , bottom=4",'
                                       ' "SOLID", "r=1,g=2,b=3" ]')
    assert parsed == [(Rect(3, 4, 50, 60), Fill.colour(1, 2, 3))]
    assert rectangles_from_dicomedit('alterPixels["rectangle", "l=0,t=0,r=1,b=1", "solid", "v=0"]')[0][1] == BLACK


def test_refusals() -> None:
    with pytest.raises(ValueError, match="rectangle/solid"):
        rectangles_from_dicomedit('alterPixels["circle", "l=0,t=0,r=1,b=1", "solid", "v=0"]')
    with pytest.raises(ValueError, match="whole-number b"):
        rectangles_from_dicomedit('alterPixels["rectangle", "l=0,t=0,r=1", "solid", "v=0"]')


def test_our_dicomedit_engine_reads_the_script_back_as_the_same_pixel_edits() -> None:
    """The text we write is accepted by the DicomEdit 6 engine and yields the same rectangles."""
    from pydicom.dataset import Dataset

    from desktop_client.core.geometry import PixelEdit
    from desktop_client.dicomedit import compile_script

    rects = [Rect(10, 20, 110, 60), Rect(0, 0, 640, 30)]
    ds = Dataset()
    ds.Rows, ds.Columns, ds.Modality = 480, 640, "US"
    outcome = compile_script(to_dicomedit(rects)).apply(ds)
    assert outcome.error is None
    assert [e.rect for e in outcome.pixel_edits] == rects
    assert all(isinstance(e, PixelEdit) and e.shape == "rectangle" for e in outcome.pixel_edits)
    # "v=0" is the stored value XNAT's handlers write; the app's own upload path passes BLACK
    # (darkest displayable) PixelEdits directly and never goes through this text.
    assert {e.fill for e in outcome.pixel_edits} == {Fill.grey(0)}
