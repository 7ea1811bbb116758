"""The Confirm step's parts work on their own, over ``desktop_client.plan`` (no page needed)."""

from __future__ import annotations

from pathlib import Path

from desktop_client.gui.wizard.confirm.bulk import LABEL, SUBJECT, BulkTable
from desktop_client.gui.wizard.confirm.csv_actions import apply_csv, csv_text
from desktop_client.gui.wizard.confirm.problems import LOADING, ProblemsBanner
from desktop_client.plan.draft import SessionPlan
from desktop_client.scanning import scan_paths


class _Var:
    name, description, initial_value = "visit", "Visit", "V0"


def test_bulk_table_fills_from_schemes_and_round_trips_csv(qtbot, demo_dir: Path) -> None:
    sessions = sorted(scan_paths([str(demo_dir)]).sessions, key=lambda s: s.study_instance_uid)[:3]
    table = BulkTable()
    qtbot.addWidget(table)
    plans = [SessionPlan(session=s) for s in sessions]
    plans[0].label = "TYPED"
    table.fill(plans, [_Var()], set(), set(), "manual", "auto")
    # Starts filled (the manual subject scheme becomes automatic); typed labels are kept.
    assert all(table.cell(r, SUBJECT) for r in range(3)) and table.cell(0, LABEL) == "TYPED"
    text = csv_text(table).replace("TYPED", "FROM_CSV")
    assert apply_csv(table, text) == 3 and table.cell(0, LABEL) == "FROM_CSV"
    pending = table.pending()
    assert pending[0].label == "FROM_CSV" and all(p.variables == {"visit": "V0"} for p in pending)


def test_problems_banner_shows_the_first_problem_or_the_notes(qtbot) -> None:
    banner = ProblemsBanner()
    qtbot.addWidget(banner)
    banner.show_state(["Choose a subject.", "Type a label."], "ignored")
    assert banner.text == "Choose a subject. (and 1 more)"
    banner.show_state([], "These scans will be added.")
    assert banner.text == "These scans will be added."
    banner.show_state([LOADING], "x")
    assert banner.isHidden()
