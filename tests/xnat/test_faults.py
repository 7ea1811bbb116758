"""Every fault knob ends in a verified upload or a clear failure — never a duplicate or a lie."""

from __future__ import annotations

import pytest

from desktop_client.xnat import (
    XnatConnectionError, XnatError, XnatServerError, XnatUploadError, upload_session,
)
from tests.helpers import wait_until
from tests.xnat.helpers import body, client_for, expected_counts, study
from tests.xnat_emulator import XnatEmulator


def _upload(emulator: XnatEmulator, entries, label: str = "S_MR_1", **kwargs):  # type: ignore[no-untyped-def]
    client = client_for(emulator, **kwargs.pop("client_kwargs", {}))
    return upload_session(client, "DEMO", "S", label, lambda: body(entries),
                          expected_counts(entries), pause=0.01, **kwargs)


def _assert_single_archived(emulator: XnatEmulator, label: str, files: int) -> None:
    assert [e.label for e in emulator.experiments("DEMO")] == [label]
    assert len(emulator.archived_files("DEMO", "S", label)) == files
    assert emulator.prearchive_entries("DEMO") == []


def test_session_expiry_during_upload_relogs_for_commit(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    entries = study({1: 3, 2: 3})
    fired: list[int] = []

    def expire(sent: int) -> None:
        if not fired:
            fired.append(sent)
            xnat_emulator.expire_sessions()

    outcome = _upload(xnat_emulator, entries, progress=expire)
    assert outcome.archived and outcome.commit_attempts == 1
    # Depending on whether the server had authenticated the import before the expiry, the 401
    # hits the import (re-sent) or the commit (repeated after re-login); both end verified.
    assert any(s == 401 for _, _, s in xnat_emulator.request_log), xnat_emulator.request_log
    _assert_single_archived(xnat_emulator, "S_MR_1", 6)


def test_401_on_the_import_itself_is_retried_with_a_fresh_body(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    xnat_emulator.faults.fail_nth_request(1, status=401, path="/services/import")
    outcome = _upload(xnat_emulator, study({1: 2}))
    assert outcome.import_attempts == 2
    _assert_single_archived(xnat_emulator, "S_MR_1", 2)


def test_idle_timeout_shorter_than_the_pause_between_calls(xnat_emulator: XnatEmulator) -> None:
    import time
    xnat_emulator.set_prearchive_code("DEMO", 4)
    xnat_emulator.session_timeout = 1.0
    client = client_for(xnat_emulator)
    time.sleep(1.2)
    entries = study({1: 2})
    outcome = upload_session(client, "DEMO", "S", "S_MR_1", lambda: body(entries), {"1": 2})
    assert outcome.verification.ok


@pytest.mark.parametrize("drop_after", [0, 700, 3000, 6000])
def test_connection_drop_mid_upload_then_resend(xnat_emulator: XnatEmulator, drop_after: int) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    entries = study({1: 4, 2: 4})
    xnat_emulator.faults.drop_connection_after(drop_after)
    outcome = _upload(xnat_emulator, entries)
    assert outcome.import_attempts == 2 and outcome.verification.found == {"1": 4, "2": 4}
    assert any(s == 0 for _, _, s in xnat_emulator.request_log)
    _assert_single_archived(xnat_emulator, "S_MR_1", 8)


def test_connection_drop_leaves_earlier_entries_in_prearchive(xnat_emulator: XnatEmulator) -> None:
    entries = study({1: 6})
    xnat_emulator.faults.drop_connection_after(3000)
    client = client_for(xnat_emulator)
    with pytest.raises(XnatConnectionError) as info:
        client.import_zip("DEMO", "S", "S_MR_1", body(entries))
    assert info.value.outcome_unknown
    [entry] = xnat_emulator.prearchive_entries("DEMO")
    stored = sum(len(s.files) for s in entry.scans)
    assert entry.status == "RECEIVING" and 0 < stored < 6
    assert not client.verify_session("DEMO", "S", "S_MR_1", {"1": 6}).ok


def test_drop_persisting_ends_in_clear_failure(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.faults.drop_connection_after(500, times=10)
    with pytest.raises(XnatConnectionError) as info:
        _upload(xnat_emulator, study({1: 3}))
    assert "lost during the upload" in info.value.user_message
    assert xnat_emulator.experiments("DEMO") == []


@pytest.mark.parametrize("status", [500, 503])
def test_error_on_nth_get_is_retried(xnat_emulator: XnatEmulator, status: int) -> None:
    client = client_for(xnat_emulator)
    xnat_emulator.faults.fail_nth_request(1, status=status, path="/data/projects")
    xnat_emulator.faults.fail_nth_request(2, status=status, path="/data/projects")
    assert [p.id for p in client.upload_projects()] == ["DEMO"]


def test_persistent_5xx_on_get_is_a_clear_server_error(xnat_emulator: XnatEmulator) -> None:
    client = client_for(xnat_emulator)
    for n in range(1, 6):
        xnat_emulator.faults.fail_nth_request(1, status=500, path="/subjects")
    with pytest.raises(XnatServerError) as info:
        client.subjects("DEMO")
    assert info.value.status == 500 and "internal error" in info.value.user_message


@pytest.mark.parametrize("status", [500, 503])
def test_error_on_import_then_resend(xnat_emulator: XnatEmulator, status: int) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    xnat_emulator.faults.fail_nth_request(1, status=status, path="/services/import")
    outcome = _upload(xnat_emulator, study({1: 2}))
    assert outcome.import_attempts == 2
    _assert_single_archived(xnat_emulator, "S_MR_1", 2)


@pytest.mark.parametrize("status", [500, 503])
def test_error_on_commit_reconciles_then_commits_once(xnat_emulator: XnatEmulator, status: int) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    xnat_emulator.faults.fail_nth_request(1, status=status, path="/data/prearchive/projects/DEMO/",
                                          method="POST")
    outcome = _upload(xnat_emulator, study({1: 2}))
    assert outcome.commit_attempts == 2 and outcome.archived
    _assert_single_archived(xnat_emulator, "S_MR_1", 2)


def test_504_after_import_body_then_resend_same_session(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    xnat_emulator.faults.gateway_timeout_after_body("/services/import")
    outcome = _upload(xnat_emulator, study({1: 3}))
    assert outcome.import_attempts == 2
    _assert_single_archived(xnat_emulator, "S_MR_1", 3)


def test_504_after_commit_while_archiving_succeeded(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    xnat_emulator.faults.gateway_timeout_after_body("/data/prearchive/projects/DEMO/")
    outcome = _upload(xnat_emulator, study({1: 3, 5: 1}))
    assert outcome.archived and outcome.commit_attempts == 1
    assert outcome.uri == "/data/archive/projects/DEMO/subjects/S/experiments/S_MR_1"
    _assert_single_archived(xnat_emulator, "S_MR_1", 4)
    assert not any(e.status == "CONFLICT" for e in xnat_emulator.prearchive_entries())


def test_504_after_commit_to_prearchive_project(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.faults.gateway_timeout_after_body("/data/prearchive/projects/DEMO/")
    outcome = _upload(xnat_emulator, study({1: 2}))
    assert not outcome.archived and outcome.commit_attempts == 2
    [entry] = xnat_emulator.prearchive_entries("DEMO")
    assert entry.status == "READY"


def test_slow_responses_within_and_beyond_timeout(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.faults.slow(0.3, path="/data/projects")
    patient = client_for(xnat_emulator, client_kwargs=None) if False else client_for(xnat_emulator)
    assert patient.upload_projects()[0].id == "DEMO"
    hasty = client_for(xnat_emulator, timeout=0.1, retries=1)
    with pytest.raises(XnatConnectionError) as info:
        hasty.upload_projects()
    assert "timed out" in info.value.user_message
    xnat_emulator.faults.slow(0)


def test_slow_commit_still_verifies(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    xnat_emulator.faults.slow(0.5, path="/data/prearchive/projects/DEMO/")
    outcome = _upload(xnat_emulator, study({1: 1}))
    assert outcome.archived
    _assert_single_archived(xnat_emulator, "S_MR_1", 1)


def test_body_limit_413_is_a_clear_failure(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.faults.body_limit = 1000
    entries = study({1: 4})
    client = client_for(xnat_emulator)
    from desktop_client.xnat import zip_stream
    size = sum(len(c) for c in zip_stream(entries))
    with pytest.raises(XnatUploadError) as info:
        client.import_zip("DEMO", "S", "S_MR_1", body(entries), content_length=size)
    assert info.value.status == 413 and "larger than the server" in info.value.user_message


def test_archive_conflict_on_commit_is_a_clear_failure_not_a_duplicate(
        xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    entries = study({1: 2})
    _upload(xnat_emulator, entries)
    with pytest.raises(XnatError) as info:
        _upload(xnat_emulator, entries)
    assert info.value.status == 500 and "FAILED" in info.value.server_message
    assert len(xnat_emulator.experiments("DEMO")) == 1
    assert len(xnat_emulator.archived_files("DEMO", "S", "S_MR_1")) == 2


def test_504_while_archiving_continues_in_background(xnat_emulator: XnatEmulator) -> None:
    """nginx gives up after proxy_timeout; the client sees ARCHIVING, waits, finds it archived."""
    xnat_emulator.set_prearchive_code("DEMO", 4)
    xnat_emulator.faults.archive_delay = 0.8
    xnat_emulator.faults.proxy_timeout = 0.2
    outcome = _upload(xnat_emulator, study({1: 2}), archive_wait=10)
    assert outcome.archived and outcome.commit_attempts == 1
    _assert_single_archived(xnat_emulator, "S_MR_1", 2)
    assert any(p.startswith("/data/prearchive/projects/DEMO/") and s == 504
               for _, p, s in xnat_emulator.request_log)


def test_archiving_longer_than_we_wait_is_a_clear_failure(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    xnat_emulator.faults.archive_delay = 3.0
    xnat_emulator.faults.proxy_timeout = 0.1
    with pytest.raises(XnatUploadError) as info:
        _upload(xnat_emulator, study({1: 1}), archive_wait=0.3)
    assert "still archiving" in info.value.user_message
    assert xnat_emulator.experiments("DEMO") == []   # not yet: no false success claimed


def test_commit_on_a_locked_session_waits_for_it(xnat_emulator: XnatEmulator) -> None:
    """A second commit while the first is archiving gets 409 "locked"; reconciling waits it out."""
    import threading

    import requests

    from desktop_client.xnat import XnatConflictError
    from desktop_client.xnat import reconcile_commit
    xnat_emulator.set_prearchive_code("DEMO", 4)
    client = client_for(xnat_emulator)
    uri = client.import_zip("DEMO", "S", "S_MR_1", body(study({1: 1})))
    xnat_emulator.faults.archive_delay = 1.5
    first = threading.Thread(target=lambda: requests.post(
        xnat_emulator.url + uri, params={"action": "commit"}, auth=("admin", "admin")))
    first.start()
    wait_until(None, lambda: xnat_emulator.prearchive_entries("DEMO")[0].status == "ARCHIVING", 10,
               "the first commit to start archiving")
    with pytest.raises(XnatConflictError) as info:
        client.commit(uri)
    assert "locked" in info.value.server_message
    result = reconcile_commit(client, "DEMO", "S", "S_MR_1", uri, info.value, poll=0.05,
                              archive_wait=5)
    first.join()
    assert result is not None and result.archived
    _assert_single_archived(xnat_emulator, "S_MR_1", 1)
