"""Confirm's non-blocking remarks are planning rules (``plan.rules``), not widget code."""

from __future__ import annotations

from pathlib import Path

from desktop_client.plan.review import ScanReviewChoice
from desktop_client.plan.rules import lookup_warning, merge_note, server_filter_notes


def test_lookup_warning_only_when_a_script_looks_up_without_a_table() -> None:
    scripts = ['(0010,0020) := lookup["pid", (0010,0020)]']
    assert "no lookup table is chosen" in lookup_warning(scripts, None)
    assert lookup_warning(scripts, object()) == ""
    assert lookup_warning(["(0010,0010) := \"X\""], None) == ""


def test_server_filter_notes_follow_review_decisions() -> None:
    filtered = {"a": "XNAT's series filter drops LOCALIZER", "b": "XNAT's series filter drops SCOUT"}
    [note] = server_filter_notes(filtered, {})
    assert note.startswith("2 scans are left out because XNAT would drop them")
    # Included in Review: the filter's verdict no longer leaves it out.
    [note] = server_filter_notes(filtered, {"a": ScanReviewChoice()})
    assert note.startswith("1 scan is left out") and "SCOUT" in note
    assert server_filter_notes({}, {"c": ScanReviewChoice(excluded=True, exclude_reason="scout")}) == []


def test_merge_note_needs_clashes_and_the_agreement() -> None:
    assert merge_note(["S1_MR"], True) == "These scans will be added to the existing session S1_MR."
    assert merge_note(["S1_MR"], False) == "" and merge_note([], True) == ""
    many = merge_note([f"L{i}" for i in range(7)], True)
    assert "existing sessions L0, L1, L2, L3, L4…" in many


def test_the_confirm_step_is_small_modules() -> None:
    """Issue 16: ``confirm_page.py`` ends as a few small widgets under ``gui/wizard/confirm/``."""
    wizard = Path(__file__).resolve().parents[2] / "desktop_client" / "gui" / "wizard"
    assert not (wizard / "confirm_page.py").exists()
    sizes = {p.name: len(p.read_text().splitlines()) for p in (wizard / "confirm").glob("*.py")}
    assert {"page.py", "single.py", "bulk.py", "csv_actions.py", "variables.py",
            "problems.py"} <= set(sizes)
    assert max(sizes.values()) < 300, sizes
