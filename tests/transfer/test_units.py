"""Smaller pieces: chunk planning, spool privacy, retry policy, crash recovery, script state."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pydicom

from desktop_client.core.paths import cache_dir
from desktop_client.core.privacy import BOOK
from desktop_client.transfer import (DestinationSpec, RetryPolicy, ScriptSource, State,
                                     TransferQueue, TransferSpec)
from desktop_client.transfer.spec import scan_ids
from desktop_client.transfer.pipeline import ObjectOutcome, needs_single_applicator, pixel_script
from desktop_client.transfer.spool import Spool, clean_spool_dir, spool_dir
from desktop_client.transfer.store import QueueStore, plan_units
from desktop_client.core.geometry import PixelEdit, Rect
from tests.dicomfactory import write_study
from tests.helpers import session_of


def _spec(session, root: Path, **kw) -> TransferSpec:
    return TransferSpec(session=session, destination=DestinationSpec.parse(str(root)),
                        project="P", subject="S", session_label="E", **kw)


def test_units_follow_chunk_limits(tmp_path: Path) -> None:
    session = session_of(write_study(tmp_path / "src", series=2, files=5))
    spec = _spec(session, tmp_path / "a", max_chunk_files=2)
    units = list(plan_units(spec))
    assert [len(u[3]) for u in units] == [2, 2, 1, 2, 2, 1]
    assert {(u[1], u[2]) for u in units if u[0] == units[0][0]} == {(0, 3), (1, 3), (2, 3)}
    one_file = session.sorted_scans()[0].instances[0].size
    spec = _spec(session, tmp_path / "a", max_chunk_bytes=one_file * 3)
    assert [len(u[3]) for u in plan_units(spec)] == [3, 2, 3, 2]


def test_scan_ids_are_unique_like_xnat(tmp_path: Path) -> None:
    session = session_of(write_study(tmp_path / "src", series=2, files=1))
    for scan in session.scans.values():
        scan.series_number = 7
    assert sorted(scan_ids(_spec(session, tmp_path)).values()) == ["7", "7-CT1"]


def test_spool_spills_privately_and_cleans_up(tmp_path: Path) -> None:
    spool = Spool(memory_limit=10)
    for i in range(3):
        spool.add(ObjectOutcome("ok", f"src{i}", "s", "1", data=bytes([i]) * 8, md5=str(i)))
    files = list(spool_dir().iterdir())
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(spool_dir().stat().st_mode) == 0o700
    assert [o.data for o in spool.outcomes()] == [bytes([i]) * 8 for i in range(3)]
    assert [o.data for o in spool.outcomes()] == [bytes([i]) * 8 for i in range(3)]  # retry
    spool.close()
    assert not list(spool_dir().iterdir())
    leftover = spool_dir() / "unit-dead"
    leftover.write_bytes(b"x")
    clean_spool_dir()
    assert not (cache_dir() / "transfer-spool").exists()


def test_retry_delay_is_exponential_and_capped() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=5.0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_recover_requeues_running_units(tmp_path: Path) -> None:
    session = session_of(write_study(tmp_path / "src", series=1, files=2))
    store = QueueStore(tmp_path / "q.sqlite3")
    spec = _spec(session, tmp_path / "a")
    transfer_id = store.add_transfer(spec, plan_units(spec))
    store.update(transfer_id, state=State.RUNNING)
    store.set_unit(transfer_id, 0, State.RUNNING)
    assert store.recover() == [transfer_id]
    assert store.get(transfer_id).state is State.QUEUED
    assert store.units(transfer_id)[0].state is State.QUEUED
    assert stat.S_IMODE((tmp_path / "q.sqlite3").stat().st_mode) == 0o600
    store.close()


def test_pixel_script_text() -> None:
    text = pixel_script([PixelEdit(Rect(1, 2, 30, 40))])
    assert text == 'version "6.1"\nalterPixels["rectangle", "l=1, t=2, r=30, b=40", "solid", "v=0"]\n'


def test_rejected_objects_are_skipped_and_listed(tmp_path: Path) -> None:
    src = write_study(tmp_path / "src", series=1, files=3)
    session = session_of(src)
    script = ScriptSource("site", 'version "6.3"\n(0020,0013) = "2" ? reject[]\n'
                                  '(0010,0010) := "ANON"\n')
    q = TransferQueue(tmp_path / "q.sqlite3", workers=0)
    q.start()
    try:
        transfer_id = q.submit(_spec(session, tmp_path / "a", scripts=[script]))
        assert q.wait(transfer_id, timeout=60) is State.DONE, q.status(transfer_id).error
        receipt = json.loads(q.receipt_paths(transfer_id)[0].read_text())
        scan = receipt["scans"][0]
        assert len(scan["sent"]) == 2 and len(scan["rejected"]) == 1
        rejected = next(i for i in session.iter_instances() if i.path.endswith("s1_0002.dcm"))
        # Sources are named by keyed reference, never by path (issue 14).
        assert scan["rejected"][0]["source"] == BOOK.ref(rejected.location.path, None, rejected.size)
    finally:
        q.close()
    assert len(list((tmp_path / "a").glob("P/S/E/SCANS/*/DICOM/*.dcm"))) == 2


def test_new_uids_reach_the_file_meta(tmp_path: Path) -> None:
    src = write_study(tmp_path / "src", series=1, files=2)
    script = ScriptSource("project", '(0008,0018) := hashUID[(0008,0018)]\n')
    q = TransferQueue(tmp_path / "q.sqlite3", workers=0)
    q.start()
    try:
        transfer_id = q.submit(_spec(session_of(src), tmp_path / "a", scripts=[script]))
        assert q.wait(transfer_id, timeout=60) is State.DONE
    finally:
        q.close()
    originals = {pydicom.dcmread(p).SOPInstanceUID for p in src.glob("*.dcm")}
    for path in (tmp_path / "a").glob("P/S/E/SCANS/*/DICOM/*.dcm"):
        ds = pydicom.dcmread(path)
        assert ds.SOPInstanceUID.startswith("2.25.") and ds.SOPInstanceUID not in originals
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID


def test_stateful_script_runs_through_one_applicator(tmp_path: Path) -> None:
    """mapUID tables are per applicator: with two workers every object still gets one mapping."""
    script = 'version "6.6"\n(0020,000D) := mapUID[(0020,000D), "1.2.3"]\n'
    assert needs_single_applicator([ScriptSource("p", script)])
    assert not needs_single_applicator([ScriptSource("p", '(0020,000D) := hashUID[(0020,000D)]\n')])
    src = write_study(tmp_path / "src", series=2, files=4)
    q = TransferQueue(tmp_path / "q.sqlite3", workers=2)
    q.start()
    try:
        transfer_id = q.submit(_spec(session_of(src), tmp_path / "a",
                                     scripts=[ScriptSource("project", script)], max_chunk_files=1))
        assert q.wait(transfer_id, timeout=120) is State.DONE, q.status(transfer_id).error
        assert any(e.event == "serial" for e in q.log(transfer_id))
    finally:
        q.close()
    studies = {pydicom.dcmread(p).StudyInstanceUID
               for p in (tmp_path / "a").glob("P/S/E/SCANS/*/DICOM/*.dcm")}
    assert len(studies) == 1 and next(iter(studies)).startswith("1.2.3.")


def test_queue_file_holds_no_patient_name_or_id(tmp_path: Path) -> None:
    session = session_of(write_study(tmp_path / "src", series=1, files=2,
                                     patient_name="SECRET^NAME", patient_id="SECRETID"))
    q = TransferQueue(tmp_path / "q.sqlite3", workers=0)
    q.submit(_spec(session, tmp_path / "a"))
    q.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("q.sqlite3*"))
    assert b"SECRET" not in raw


def test_destination_forms() -> None:
    import pytest

    from desktop_client.transfer import DestinationKind

    assert DestinationSpec.parse("https://xnat.example.org/xnat/").url == "https://xnat.example.org/xnat"
    cstore = DestinationSpec.parse("dicom://ORTHANC@127.0.0.1:4242", calling_aet="ME")
    assert cstore.kind is DestinationKind.CSTORE
    assert cstore.cstore_address() == ("ORTHANC", "127.0.0.1", 4242)
    stow = DestinationSpec.parse("dicomweb+http://127.0.0.1:8042/dicom-web/")
    assert (stow.kind, stow.url) == (DestinationKind.STOWRS, "http://127.0.0.1:8042/dicom-web")
    assert stow.display == "dicomweb+http://127.0.0.1:8042/dicom-web"
    assert DestinationSpec.parse("relative/folder").kind is DestinationKind.LOCAL
    for bad in ("dicom://toolongaetitle_over16@h:1", "dicom://A@h:99999", "ftp://x", "",
                "dicom://A@h"):
        with pytest.raises(ValueError):
            DestinationSpec.parse(bad)
