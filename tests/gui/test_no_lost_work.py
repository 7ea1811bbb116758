"""No lost work, no dead ends: each trap a user fell into, driven through the real window."""

from __future__ import annotations

from pathlib import Path

from desktop_client.core.geometry import Rect
from tests.gui.flow import scan, send_found_text_as_is, to_project_step
from tests.helpers import wait_until


def _to_review(qtbot, win) -> None:
    win.wizard.next()
    wait_until(qtbot, lambda: not win.confirm_page._loading, what="Confirm")
    wait_until(qtbot, win.confirm_page.is_complete, what=f"Confirm: {win.confirm_page.blocking_message()}")
    win.wizard.next()
    assert win.wizard.index == 4
    wait_until(qtbot, lambda: win.review_page.inner.review is not None, what="the review model")


def test_decisions_survive_going_back_and_unticking_a_session(qtbot, window, demo_dir: Path) -> None:
    win = window
    to_project_step(qtbot, win, "LOCAL")
    scan(qtbot, win, [demo_dir])
    win.select_page._check_all(True)
    _to_review(qtbot, win)
    review = win.review_page.inner.review
    second, third = review.sessions[1], review.sessions[2]
    boxed = next(uid for uid in (s.series_instance_uid for s in second.sorted_scans())
                 if review.is_supported(uid))
    dropped = third.sorted_scans()[0].series_instance_uid
    review.set_rectangles(boxed, [Rect(0, 0, 64, 20)], confirmed=True)
    review.exclude([dropped], "scout")

    # Back to Select data (a step label, not Next), untick the first session, and come back.
    win.wizard.jump(2)
    first_uid = review.sessions[0].study_instance_uid
    rows = [i for i, s in enumerate(win.select_page._sessions) if s.study_instance_uid != first_uid]
    win.select_page.set_checked(rows)
    win.wizard.next()
    # A step label cannot skip past Review to an upload built on the old choices.
    win.wizard.jump(5)
    assert win.wizard.index == 3
    wait_until(qtbot, lambda: not win.confirm_page._loading, what="Confirm")
    wait_until(qtbot, win.confirm_page.is_complete, what=f"Confirm: {win.confirm_page.blocking_message()}")
    win.wizard.next()
    wait_until(qtbot, lambda: win.review_page.inner.review is not None, what="the review model")
    again = win.review_page.inner.review
    assert first_uid not in {s.study_instance_uid for s in again.sessions}
    assert again.choices[boxed].rectangles == [Rect(0, 0, 64, 20)] and again.choices[boxed].confirmed
    assert again.choices[dropped].excluded and again.choices[dropped].exclude_reason == "scout"
    send_found_text_as_is(qtbot, win)  # burned-in text holds Review until someone decides (issue 13)
    win.wizard.next()
    assert win.wizard.index == 5
    assert win.summary_page.counts.redacted >= 1
    from desktop_client.plan.specs import draft_specs

    specs = {s.session.study_instance_uid: s for s in draft_specs(win.draft)}
    assert specs[second.study_instance_uid].choice(boxed).rectangles
    assert specs[third.study_instance_uid].choice(dropped).excluded


def _bulk_to_review(qtbot, win, demo_dir: Path) -> None:
    to_project_step(qtbot, win, "LOCAL")
    scan(qtbot, win, [demo_dir])
    win.select_page._check_all(True)
    _to_review(qtbot, win)


def _to_summary_from_review(qtbot, win) -> None:
    send_found_text_as_is(qtbot, win)  # burned-in text holds Review until someone decides (issue 13)
    win.wizard.next()
    assert win.wizard.index == 5
    wait_until(qtbot, lambda: not win.summary_page._checking_history, what="the receipts check")


def test_a_session_with_every_scan_excluded_can_be_left_out(qtbot, window, demo_dir: Path) -> None:
    win = window
    _bulk_to_review(qtbot, win, demo_dir)
    review = win.review_page.inner.review
    gone = review.sessions[0]
    review.exclude(list(gone.scans), "not for this project")
    _to_summary_from_review(qtbot, win)
    summary = win.summary_page
    # Counts reflect the exclusion: the session sends nothing and is not counted as sent.
    assert summary.counts.sessions == 4 and summary.counts.sessions_left_out == 1
    assert summary.counts.excluded >= len(gone.scans)
    row = next(r for r, p in enumerate(win.draft.plans)
               if p.session.study_instance_uid == gone.study_instance_uid)
    assert summary.table.item(row, 3).text() == f"0 ({len(gone.scans)} left out)"
    assert summary.table.item(row, 4).text() == "0"
    # Not a dead end: the offer is in place, and Upload waits for it.
    assert summary.empty_box.isVisible() and "nothing to send" in summary.empty_text.text
    assert not win.wizard.next_button.isEnabled()
    summary.leave_out_button.click()
    assert gone.study_instance_uid not in {p.session.study_instance_uid for p in win.draft.plans}
    assert len(win.draft.plans) == 4 and not summary.empty_box.isVisible()
    wait_until(qtbot, lambda: win.wizard.next_button.isEnabled(), what=win.wizard.reason.text())
    # The decisions of the left-out session are kept, should the user bring it back.
    assert all(win.draft.review[uid].excluded for uid in gone.scans)
    # The Summary counts what the specs send (free text nobody included stays out of both).
    from desktop_client.plan.specs import draft_specs

    specs = draft_specs(win.draft)
    sent = sum(1 for spec in specs for uid in spec.session.scans if not spec.choice(uid).excluded)
    counts = summary.counts
    assert counts.redacted + counts.without + counts.unsupported == sent
    assert counts.files == sum(scan.files for spec in specs for uid, scan in spec.session.scans.items()
                               if not spec.choice(uid).excluded)


def test_saved_plan_from_the_summary_re_runs_headless(qtbot, window, demo_dir: Path, tmp_path: Path,
                                                      capsys) -> None:
    import json

    from desktop_client.cli.main import main

    win = window
    _bulk_to_review(qtbot, win, demo_dir)
    review = win.review_page.inner.review
    boxed = next(uid for uid in review.refs if review.is_supported(uid))
    dropped = next(uid for uid in review.refs if uid != boxed)
    review.set_rectangles(boxed, [Rect(0, 0, 64, 20)], confirmed=True)
    review.exclude([dropped], "scout")
    _to_summary_from_review(qtbot, win)
    path = tmp_path / "plan.json"
    win.summary_page.save_plan(str(path))
    assert "Plan saved" in win.summary_page.message.text
    capsys.readouterr()
    assert main(["upload", "--plan", str(path), "--dry-run", "--json"]) == 0
    planned = json.loads(capsys.readouterr().out)
    scans = {s["series_instance_uid"]: s for p in planned["sessions"] for s in p["scans"]}
    assert scans[boxed]["rectangles"] == [str(Rect(0, 0, 64, 20))] and scans[dropped]["excluded"]
    labels = sorted((p["subject"], p["session"]) for p in planned["sessions"])
    assert labels == sorted((p.subject, p.label) for p in win.draft.plans)


def test_sending_a_study_again_is_warned_from_the_receipts(qtbot, window, demo_dir: Path) -> None:
    from tests.gui.flow import row_of, to_confirm, to_summary, upload_and_wait

    win = window
    to_project_step(qtbot, win, "LOCAL")
    scan(qtbot, win, [demo_dir])
    to_confirm(qtbot, win, "MR")
    to_summary(qtbot, win)
    assert not win.summary_page.duplicates_box.isVisible()
    [first] = upload_and_wait(qtbot, win)
    assert first.state.value == "done", first.error

    # The same study, the same destination: the receipt says it went there already.
    assert win.wizard.index == 2
    win.select_page.set_checked([row_of(win, "MR")])
    win.wizard.next()
    wait_until(qtbot, lambda: not win.confirm_page._loading, what="Confirm")
    win.confirm_page.choose_another_label()  # the label exists: the next free one (…_MR_2)
    to_summary(qtbot, win)
    summary = win.summary_page
    win.pages.setCurrentIndex(0)  # the user goes back to the Upload page
    assert summary.duplicates_box.isVisible() and len(summary.duplicates) == 1
    [earlier] = summary.duplicates.values()
    text = summary.duplicates_box.findChildren(type(summary.empty_text))[0].text
    assert "this study was sent to" in text and earlier.day in text and str(earlier.receipt) in text
    assert earlier.receipt.is_file() and not win.wizard.next_button.isEnabled()
    assert "Send again or Skip" in win.wizard.reason.text()
    summary.send_again(next(iter(summary.duplicates)))
    assert not summary.duplicates_box.isVisible() and win.wizard.next_button.isEnabled()
    # Skip instead takes the session out of this upload.
    summary.enter(win.draft)
    wait_until(qtbot, lambda: not summary._checking_history, what="the receipts check")
    assert not summary.duplicates  # "Send again" is remembered for this study
    summary._send_again.clear()
    summary.enter(win.draft)
    wait_until(qtbot, lambda: not summary._checking_history, what="the receipts check")
    summary.skip(next(iter(summary.duplicates)))
    assert win.draft.plans == [] and not win.wizard.next_button.isEnabled()


def test_the_demo_manifest_is_not_reported_as_a_skipped_file(qtbot, window, demo_dir: Path) -> None:
    from desktop_client.demo import MANIFEST_NAME

    assert (demo_dir / MANIFEST_NAME).is_file()
    to_project_step(qtbot, window, "LOCAL")
    scan(qtbot, window, [demo_dir])
    assert any(Path(s.path).name == MANIFEST_NAME for s in window.select_page.result.skipped)
    assert "skipped" not in window.select_page.skipped_link.text()
    assert window.select_page.skipped_tree.topLevelItemCount() == 0


def test_bulk_labels_start_filled_and_namesakes_can_be_split(qtbot, window, tmp_path: Path) -> None:
    from tests.dicomfactory import write_study

    write_study(tmp_path / "a", series=1, files=1, patient_name="DOE^JANE", patient_id="P1", seed=1)
    write_study(tmp_path / "b", series=1, files=1, patient_name="DOE^JANE", patient_id="P2", seed=2)
    win = window
    to_project_step(qtbot, win, "LOCAL")
    scan(qtbot, win, [tmp_path / "a", tmp_path / "b"])
    win.select_page._check_all(True)
    win.wizard.next()
    confirm = win.confirm_page
    wait_until(qtbot, lambda: not confirm._loading, what="Confirm")
    # Filled without pressing Apply: a subject and a session label on every row.
    subjects = [confirm._cell(r, 3) for r in range(2)]
    assert all(subjects) and all(confirm._cell(r, 4) for r in range(2)) and confirm.is_complete()
    # Two Patient IDs share a name: they were given one subject, and the user is told so.
    assert subjects[0] == subjects[1]
    assert confirm.shared_box.isVisible() and "P1, P2" in confirm.shared_note.text
    confirm.split_button.click()
    split = [confirm._cell(r, 3) for r in range(2)]
    assert split[0] != split[1] and not confirm.split_button.isVisible()
    assert confirm.is_complete(), confirm.blocking_message()


def test_a_forward_jump_passes_what_changed_on_the_way(qtbot, window, demo_dir: Path) -> None:
    """Summary → Select data (step label), untick a session, Summary (step label): the unticked
    session is not uploaded, because the jump runs each step's Next on the way."""
    win = window
    _bulk_to_review(qtbot, win, demo_dir)
    _to_summary_from_review(qtbot, win)
    assert len(win.draft.plans) == 5
    win.wizard.jump(2)
    first = win.select_page._sessions[0].study_instance_uid
    win.select_page.set_checked(list(range(1, len(win.select_page._sessions))))
    win.wizard.jump(5)
    wait_until(qtbot, lambda: win.wizard.index == 5, timeout=300,
             what=f"the jump ({win.wizard.reason.text()})")
    assert first not in {p.session.study_instance_uid for p in win.draft.plans}
    assert len(win.draft.plans) == 4
