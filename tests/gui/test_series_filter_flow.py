"""The project's series import filter in the wizard: Review shows the series XNAT would drop as
excluded with the filter's reason, and the upload then verifies (issue 17 §3)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.gui.flow import fill_connection, row_of, scan, send_found_text_as_is, to_project_step, upload_and_wait
from tests.helpers import wait_until


def test_filtered_series_start_excluded_with_the_reason(qtbot, window, xnat_emulator,
                                                      demo_dir: Path) -> None:
    win = window
    xnat_emulator.set_config("DEMO", "seriesImportFilter", "config",
                             json.dumps({"mode": "blacklist", "list": "flair"}))
    fill_connection(win, xnat_emulator.url)
    to_project_step(qtbot, win, "DEMO")
    assert "flair" in win.project_page.values["filter"].text()
    scan(qtbot, win, [demo_dir])
    win.select_page.set_checked([row_of(win, "MR")])
    win.wizard.next()
    wait_until(qtbot, win.confirm_page.is_complete, what="Confirm")
    # Confirm already says which series XNAT would drop, before Review.
    assert win.confirm_page.notes().startswith("1 scan is left out because XNAT would drop them "
                                               "(XNAT's series import filter of project DEMO")
    win.wizard.next()
    send_found_text_as_is(qtbot, win)  # the demo's burned-in text: decided, as other flows do
    wait_until(qtbot, win.review_page.is_complete,
             what=f"the review step: {win.review_page.blocking_message()}")
    review = win.review_page.inner.review
    excluded = {review.scan(uid).series_description: choice.exclude_reason
                for uid, choice in review.choices.items() if choice.excluded}
    assert excluded == {"AX FLAIR": "XNAT's series import filter of project DEMO drops it: "
                                    "SeriesDescription 'AX FLAIR' matches blacklisted pattern "
                                    "'flair'"}
    win.wizard.next()
    wait_until(qtbot, lambda: not win.summary_page._checking_history, what="the receipts check")
    rows = upload_and_wait(qtbot, win)
    assert rows[0].state.value == "done", rows[0].error
    [entry] = xnat_emulator.prearchive_entries("DEMO")
    assert sorted(s.series_description for s in entry.scans) == ["AX T1 SE", "AX T2 TSE"]
