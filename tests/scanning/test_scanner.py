"""Scanner: inputs, every skip reason, archives, DICOMDIR, duplicates, ordering, cache, cancel."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file
from pydicom.fileset import FileSet
from pydicom.uid import ImplicitVRLittleEndian

from desktop_client.scanning import Location, read_dataset, scan_paths
from desktop_client.scanning.cache import ScanCache
from desktop_client.scanning.scanner import read_candidate
from desktop_client.scanning.sources import Candidate
from tests.dicomfactory import image, write


def _reasons(result) -> dict[str, str]:
    return {os.path.basename(s.path.split("!")[-1]): s.reason for s in result.skipped}


def _tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def test_part10_and_raw_datasets_are_recognised_by_content(tmp_path: Path) -> None:
    write(tmp_path / "a.dcm", image(sop_uid="1.1"))
    write(tmp_path / "no_extension", image(sop_uid="1.2", instance_number=2))
    raw = image(sop_uid="1.3", instance_number=3, transfer_syntax=ImplicitVRLittleEndian)
    write(tmp_path / "raw_implicit.bin", raw, part10=False)
    write(tmp_path / "raw_explicit.txt", image(sop_uid="1.4", instance_number=4), part10=False)
    result = scan_paths([tmp_path], use_cache=False)
    assert result.skipped == []
    (session,) = result.sessions
    (scan,) = session.scans.values()
    assert [i.sop_instance_uid for i in scan.instances] == ["1.1", "1.2", "1.3", "1.4"]
    syntaxes = {i.sop_instance_uid: i.transfer_syntax_uid for i in scan.instances}
    assert syntaxes["1.3"] == "1.2.840.10008.1.2"
    assert syntaxes["1.4"] == "1.2.840.10008.1.2.1"
    inst = scan.instances[0]
    assert (inst.rows, inst.columns, inst.bits_allocated, inst.bits_stored, inst.samples_per_pixel) == (8, 8, 16, 12, 1)
    assert inst.has_pixel_data and inst.photometric_interpretation == "MONOCHROME2"
    assert session.patient_name == "DOE^JANE" and session.accession_number == "ACC1"
    assert session.modalities == ["CT"] and scan.series_number == 3 and scan.frames == 4


def test_every_skip_reason_is_reported(tmp_path: Path) -> None:
    good = write(tmp_path / "good.dcm", image())
    (tmp_path / "notes.txt").write_text("hello, not DICOM")
    (tmp_path / "empty.dcm").write_bytes(b"")
    data = good.read_bytes()
    (tmp_path / "truncated.dcm").write_bytes(data[:-40])
    (tmp_path / "corrupt.dcm").write_bytes(data[:132] + b"\x02\x00\x00\x00UL\x04\x00" + bytes(range(256)) * 2)
    write(tmp_path / "no_uids.dcm", image(study_uid="", sop_uid="9.9"))
    (tmp_path / "loop").symlink_to(tmp_path)
    (tmp_path / "dangling").symlink_to(tmp_path / "missing-target")
    os.mkfifo(tmp_path / "fifo")
    result = scan_paths([tmp_path], use_cache=False)
    reasons = _reasons(result)
    assert result.instances == 1
    assert reasons["notes.txt"] == "not a DICOM file"
    assert reasons["empty.dcm"] == "not a DICOM file"
    assert reasons["truncated.dcm"].startswith("truncated DICOM file")
    # Random bytes after a valid preamble: whatever pydicom makes of them, no object comes out.
    assert reasons["corrupt.dcm"].startswith(("corrupt DICOM header", "truncated DICOM file", "DICOM object without"))
    assert "without Study Instance UID" in reasons["no_uids.dcm"]
    assert reasons["loop"] == "symbolic link loop (folder already scanned)"
    assert reasons["dangling"] == "broken symbolic link"
    assert reasons["fifo"].startswith("not a regular file (a named pipe (FIFO))")


def test_file_vanishing_before_read_is_a_reasoned_skip(tmp_path: Path) -> None:
    path = write(tmp_path / "gone.dcm", image())
    candidate = Candidate(Location(str(path)), path.stat().st_size, path.stat().st_mtime_ns)
    path.unlink()
    skipped = read_candidate(candidate)
    assert skipped.reason.startswith("cannot be read")


def test_missing_selection_is_reported(tmp_path: Path) -> None:
    result = scan_paths([tmp_path / "nope"], use_cache=False)
    assert _reasons(result) == {"nope": "does not exist"}


def _archive_members(tmp_path: Path) -> dict[str, bytes]:
    a = write(tmp_path / "src" / "a.dcm", image(sop_uid="2.1", instance_number=1)).read_bytes()
    b = write(tmp_path / "src" / "b", image(sop_uid="2.2", instance_number=2), part10=False).read_bytes()
    return {"study/a.dcm": a, "study/b": b, "readme.txt": b"text", "../evil.dcm": a, "inner.zip": b"PK\x03\x04"}


@pytest.mark.parametrize("kind", ["zip", "tar", "tar.gz"])
def test_archives_are_read_in_place(tmp_path: Path, kind: str) -> None:
    members = _archive_members(tmp_path)
    shutil.rmtree(tmp_path / "src")
    target = tmp_path / "in" / f"study.{kind}"
    target.parent.mkdir()
    if kind == "zip":
        with zipfile.ZipFile(target, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
    else:
        with tarfile.open(target, "w:gz" if kind == "tar.gz" else "w") as tf:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = scan_paths([target.parent], use_cache=False)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before, "nothing may be extracted"
    (scan,) = result.sessions[0].scans.values()
    assert [i.sop_instance_uid for i in scan.instances] == ["2.1", "2.2"]
    assert scan.instances[0].location == Location(str(target), "study/a.dcm")
    reasons = _reasons(result)
    assert reasons["readme.txt"] == "not a DICOM file"
    assert "zip-slip" in reasons["evil.dcm"]
    assert reasons["inner.zip"].startswith("archive inside an archive")
    ds = read_dataset(scan.instances[1].location)
    assert ds.SOPInstanceUID == "2.2" and len(ds.PixelData) == 128


def test_dicomdir_tree_and_dicomdir_alone(tmp_path: Path) -> None:
    fs = FileSet()
    for n in range(3):
        ds = image(sop_uid=f"3.{n}", instance_number=n)
        ds.PatientID = "PID1"
        write(tmp_path / f"tmp{n}.dcm", ds)
        fs.add(str(tmp_path / f"tmp{n}.dcm"))
    media = tmp_path / "media"
    fs.write(media)
    for n in range(3):
        (tmp_path / f"tmp{n}.dcm").unlink()
    result = scan_paths([media], use_cache=False)
    assert result.instances == 3
    assert _reasons(result)["DICOMDIR"].startswith("DICOMDIR index file")
    alone = scan_paths([media / "DICOMDIR"], use_cache=False)
    assert alone.instances == 3
    listed = sorted(p for p in media.rglob("*") if p.is_file() and p.name != "DICOMDIR")
    listed[0].unlink()
    damaged = scan_paths([media], use_cache=False)
    assert damaged.instances == 2
    assert "listed in DICOMDIR but missing on disk" in _reasons(damaged).values()


def test_duplicates_are_kept_once_and_counted(tmp_path: Path) -> None:
    path = write(tmp_path / "one.dcm", image())
    shutil.copy(path, tmp_path / "copy.dcm")
    shutil.copy(path, tmp_path / "copy2.dcm")
    result = scan_paths([tmp_path], use_cache=False)
    assert result.instances == 1 and result.duplicates == 2


def test_order_is_instance_number_then_path(tmp_path: Path) -> None:
    write(tmp_path / "z.dcm", image(sop_uid="4.1", instance_number=2))
    write(tmp_path / "y.dcm", image(sop_uid="4.2", instance_number=10))
    write(tmp_path / "b.dcm", image(sop_uid="4.3", instance_number=None))
    write(tmp_path / "a.dcm", image(sop_uid="4.4", instance_number=None))
    write(tmp_path / "c.dcm", image(sop_uid="4.5", instance_number=2))
    (scan,) = scan_paths([tmp_path], use_cache=False).sessions[0].scans.values()
    assert [i.sop_instance_uid for i in scan.instances] == ["4.5", "4.1", "4.2", "4.4", "4.3"]


def test_sources_are_never_modified(tmp_path: Path) -> None:
    for n in range(5):
        write(tmp_path / f"{n}.dcm", image(sop_uid=f"5.{n}"))
    before = _tree_digest(tmp_path)
    scan_paths([tmp_path], use_cache=True)
    assert _tree_digest(tmp_path) == before


def test_cache_hits_unchanged_and_rereads_changed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for n in range(6):
        write(data / f"{n}.dcm", image(sop_uid=f"6.{n}", instance_number=n))
    archive = tmp_path / "data" / "more.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x.dcm", write(tmp_path / "x.dcm", image(sop_uid="6.9", instance_number=9)).read_bytes())
    cache = ScanCache(tmp_path / "index.sqlite")
    first = scan_paths([data], cache=cache)
    assert first.from_cache == 0 and first.instances == 7
    second = scan_paths([data], cache=cache)
    assert second.from_cache == 7 and second.instances == 7
    changed = data / "2.dcm"
    write(changed, image(sop_uid="6.2", instance_number=2, patient_name="CHANGED^NAME"))
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 5_000_000_000))
    third = scan_paths([data], cache=cache)
    assert third.from_cache == 6
    by_uid = {i.sop_instance_uid: i for s in third.sessions for sc in s.scans.values() for i in sc.instances}
    assert by_uid["6.2"].patient_name == "CHANGED^NAME"
    assert by_uid["6.9"].location.member == "x.dcm"


def test_pool_scan_matches_inline_scan_and_reports_progress(tmp_path: Path) -> None:
    for n in range(260):
        write(tmp_path / f"{n:04d}.dcm", image(series_uid=f"7.{n % 3}", sop_uid=f"7.{n % 3}.{n}", instance_number=n))
    seen = []
    pooled = scan_paths([tmp_path], use_cache=False, workers=2, progress=seen.append)
    inline = scan_paths([tmp_path], use_cache=False, workers=1)
    assert pooled.instances == inline.instances == 260
    assert seen[-1].files_done == seen[-1].files_total == 260
    assert [s.files_done for s in seen] == sorted(s.files_done for s in seen)


def test_cancellation_stops_early(tmp_path: Path) -> None:
    for n in range(600):
        write(tmp_path / f"{n:04d}.dcm", image(sop_uid=f"8.{n}", instance_number=n))
    cancel = threading.Event()

    def progress(p) -> None:
        if p.files_done >= 64:
            cancel.set()

    result = scan_paths([tmp_path], use_cache=False, workers=2, progress=progress, cancel=cancel)
    assert result.cancelled
    assert 64 <= result.instances < 600


def test_pydicom_test_files_scan_without_crashing() -> None:
    folder = Path(get_testdata_file("CT_small.dcm")).parent
    result = scan_paths([folder], use_cache=False)
    reasons = _reasons(result)
    assert result.instances > 50
    assert reasons["MR_truncated.dcm"].startswith("truncated")
    assert reasons["README.txt"] == "not a DICOM file"
    by_name = {os.path.basename(i.path): i for s in result.sessions for sc in s.scans.values() for i in sc.instances}
    assert by_name["ExplVR_BigEnd.dcm"].transfer_syntax_uid == "1.2.840.10008.1.2.2"
    assert by_name["rtstruct.dcm"].has_pixel_data is False
    assert by_name["examples_ybr_color.dcm"].frames == 30
    assert by_name["693_J2KI.dcm"].transfer_syntax_uid == "1.2.840.10008.1.2.4.91"
