"""Upload units like the official client's, behind a proxy (issue 17 §1).

The XNAT destination is driven with real prepared objects against the emulator, behind the
loopback timeout proxy (tests/timeout_proxy.py) playing nginx with a short read timeout.
"""

from __future__ import annotations

import io
from collections import Counter

import pydicom
import pytest

from desktop_client.destinations.base import SendContext, UnitInfo
from desktop_client.destinations.xnat import XnatDestination
from desktop_client.transfer.pipeline import ObjectOutcome
from desktop_client.xnat import XnatConcurrentSendError, XnatUploadError, zip_stream
from desktop_client.xnat.requests_sizing import MB, Limits, RequestSizer
from tests.dicomfactory import study_entries
from tests.helpers import wait_until
from tests.timeout_proxy import TimeoutProxy
from tests.xnat.helpers import client_for
from tests.xnat_emulator import XnatEmulator


def test_sizer_starts_small_grows_when_fast_and_shrinks_when_slow() -> None:
    sizer = RequestSizer(budget=20.0)
    assert sizer.limits() == Limits(100, 20 * MB)
    sizer.record(1.0, 100, 5 * MB)  # filled its file limit in 1 s: may double
    assert sizer.limits() == Limits(200, 40 * MB)
    sizer.record(1.0, 3, 1 * MB)  # a small tail request says nothing about larger ones
    assert sizer.limits() == Limits(200, 40 * MB)
    sizer.record(40.0, 200, 10 * MB)  # twice the budget: halve
    assert sizer.limits() == Limits(100, 20 * MB)
    sizer.timed_out()
    assert sizer.limits() == Limits(25, 5 * MB)
    for _ in range(10):
        sizer.timed_out()
    assert sizer.limits() == Limits(5, 1 * MB)  # never below the floor
    for _ in range(20):
        sizer.record(0.01, 10_000, 10_000 * MB)
    assert sizer.limits() == Limits(1000, 48 * MB)  # nor above the ceiling


def _objects(entries: list[tuple[str, bytes]]) -> dict[str, list[ObjectOutcome]]:
    by_series: dict[str, list[ObjectOutcome]] = {}
    for name, data in entries:
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
        by_series.setdefault(str(ds.SeriesInstanceUID), []).append(ObjectOutcome(
            "ok", name, str(ds.SeriesInstanceUID), str(ds.SeriesNumber), data=data,
            size=len(data), sop_instance_uid=str(ds.SOPInstanceUID),
            sop_class_uid=str(ds.SOPClassUID)))
    return by_series


def _send_session(dest: XnatDestination, entries: list[tuple[str, bytes]]) -> SendContext:
    study = str(pydicom.dcmread(io.BytesIO(entries[0][1])).StudyInstanceUID)
    ctx = SendContext(transfer_id="t1", project="DEMO", subject="SUBJ", session_label="SESS",
                      study_instance_uid=study)
    dest.open(ctx)
    for idx, (uid, objects) in enumerate(_objects(entries).items()):
        unit = UnitInfo(idx, uid, objects[0].scan_id, 0, 1)
        dest.send_unit(ctx, unit, iter(objects))
    dest.finish(ctx)
    return ctx


def test_slow_server_behind_proxy_finishes_with_every_file_exactly_once(
        xnat_emulator: XnatEmulator) -> None:
    entries = study_entries({1: 150, 2: 30})
    xnat_emulator.faults.import_file_delay = 0.02  # 100 files ≈ 2 s > the proxy's 1 s
    with TimeoutProxy(("127.0.0.1", xnat_emulator.port), read_timeout=1.0) as proxy:
        dest = XnatDestination(proxy.url, "admin", "admin")
        dest.settle_quiet, dest.settle_poll = 0.6, 0.1
        ctx = _send_session(dest, entries)
        verification = dest.verify(ctx, {objs[0].scan_id: objs
                                         for objs in _objects(entries).values()})
        dest.close()
    assert proxy.timeouts >= 1  # the first 100-file request did time out at the proxy
    assert verification.ok, verification.details
    assert dest.sizer.limits().files < 100  # and the requests got smaller
    # Each object exactly once on the server, although parts were sent twice.
    [entry] = xnat_emulator.prearchive_entries("DEMO")
    stored = Counter(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID
                     for p in xnat_emulator.prearchive_files(entry))
    sent = {str(pydicom.dcmread(io.BytesIO(d), stop_before_pixels=True).SOPInstanceUID)
            for _, d in entries}
    assert set(stored) == sent and set(stored.values()) == {1}
    # Nothing was ever answered "Concurrent file sends": every re-send waited for the server.
    assert not [r for r in xnat_emulator.request_log if r[2] == 400]


def test_content_length_on_every_upload_body(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.faults.refuse_chunked = True  # a proxy that answers chunked bodies with 411
    dest = XnatDestination(xnat_emulator.url, "admin", "admin")
    entries = study_entries({1: 3, 2: 2})
    ctx = _send_session(dest, entries)
    assert ctx.state["final_uri"]
    assert all(status != 411 for _, _, status in xnat_emulator.request_log)
    dest.close()


def test_concurrent_send_answer_is_recognised_and_waited_out(xnat_emulator: XnatEmulator) -> None:
    """Two overlapping sends of the same files: XNAT's 400 is typed, not a permanent failure."""
    import threading

    entries = study_entries({1: 40})
    xnat_emulator.faults.import_file_delay = 0.02
    first = client_for(xnat_emulator)
    second = client_for(xnat_emulator)
    body = b"".join(zip_stream(entries))
    running = threading.Thread(target=lambda: first.import_zip("DEMO", "S", "E", iter([body]),
                                                                content_length=len(body)))
    running.start()
    try:
        wait_until(None, lambda: xnat_emulator.prearchive_entries("DEMO"), 5, "the first send to arrive")
        with pytest.raises(XnatConcurrentSendError) as info:
            second.import_zip("DEMO", "S", "E", iter([body]), content_length=len(body))
        assert info.value.status == 400 and "Concurrent file sends" in info.value.server_message
        assert isinstance(info.value, XnatUploadError)
    finally:
        running.join()
    # Once the first request is done the same files go through.
    assert second.import_zip("DEMO", "S", "E", iter([body]), content_length=len(body))


def test_early_rejection_mid_stream_shows_the_servers_message(xnat_emulator: XnatEmulator) -> None:
    """XNAT refuses an entry while the client is still sending and Tomcat closes the
    connection after swallowing 2 MB: the user sees XNAT's reason, not "connection lost"."""
    xnat_emulator.faults.swallow_limit = 2 * MB
    good = study_entries({1: 1})
    filler = [(f"s1/pad{i}.dcm", bytes(1 * MB)) for i in range(12)]  # not DICOM: refused at once
    body = b"".join(zip_stream(good + filler))
    client = client_for(xnat_emulator)
    with pytest.raises(Exception) as info:
        client.import_zip("DEMO", "S", "E", iter([body[i:i + 65536]
                                                  for i in range(0, len(body), 65536)]),
                          content_length=len(body))
    assert "unable to read DICOM object s1/pad0.dcm" in str(info.value)


def test_destination_waits_out_a_concurrent_send_then_sends_once(xnat_emulator: XnatEmulator) -> None:
    """A request the client had given up on is still running when the unit is sent again:
    XNAT answers "Concurrent file sends"; the destination waits until the prearchive entry is
    quiet and sends again instead of failing the unit."""
    import threading

    entries = study_entries({1: 30})
    xnat_emulator.faults.import_file_delay = 0.03
    study = str(pydicom.dcmread(io.BytesIO(entries[0][1])).StudyInstanceUID)
    objects = next(iter(_objects(entries).values()))
    # The earlier, abandoned request: the very bytes the destination will send, same names.
    names = [(f"{o.scan_id}/{o.sop_instance_uid}.dcm", o.data) for o in objects]
    body = b"".join(zip_stream(names))
    earlier = client_for(xnat_emulator)
    running = threading.Thread(target=lambda: earlier.import_zip(
        "DEMO", "SUBJ", "SESS", iter([body]), content_length=len(body)))
    running.start()
    wait_until(None, lambda: xnat_emulator.prearchive_entries("DEMO"), 5, "the earlier send to arrive")
    dest = XnatDestination(xnat_emulator.url, "admin", "admin")
    dest.settle_quiet, dest.settle_poll = 0.5, 0.1
    ctx = SendContext(transfer_id="t2", project="DEMO", subject="SUBJ", session_label="SESS",
                      study_instance_uid=study)
    ctx.state["sending"] = True  # a resumed transfer: the session on the server is its own
    dest.open(ctx)
    dest.send_unit(ctx, UnitInfo(0, objects[0].series_uid, objects[0].scan_id, 0, 1), iter(objects))
    running.join()
    assert ("POST", "/data/services/import", 400) in xnat_emulator.request_log
    dest.finish(ctx)
    assert dest.verify(ctx, {objects[0].scan_id: objects}).ok
    [entry] = xnat_emulator.prearchive_entries("DEMO")
    assert len(xnat_emulator.prearchive_files(entry)) == 30
    dest.close()
