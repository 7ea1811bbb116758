"""Regression tests, one per failure seen in issue 15: one bad file never stops the rest.

Each test puts the bad input next to a good one and runs the real command in a child process
(see runner.py): the good object must be processed, the bad one reported with a one-line
reason, no traceback, and the sources left byte-identical.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pydicom
import pytest

from desktop_client.scanning import scan_paths
from tests.robustness import corrupt as C
from tests.robustness.runner import run_cli, tree_digest

RECT = ["--rect", "0,0,4,4"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "site.das"
    path.write_text('version "6.3"\n(0010,0010) := "ANON"\n(0010,0020) := "A1"\n')
    return path


def good(folder: Path, seed: int = 42) -> Path:
    return C.write(folder / f"good{seed}.dcm", C.to_bytes(C.small_image(seed=seed)))


def by_file(doc: dict) -> dict[str, dict]:
    return {Path(entry["file"]).name: entry for entry in doc["files"]}


def skipped(doc: dict) -> dict[str, str]:
    return {Path(s["path"]).name: s["reason"] for s in doc["skipped"]}


def clean(run) -> None:
    assert not run.hung, run
    assert "Traceback" not in run.stderr, run.stderr
    assert not run.crashed, run


# ---- scanner: BytesLengthException, zlib.error, RecursionError ------------------------------------


def test_scanner_reports_bad_meta_length_fake_deflate_and_deep_nesting(tmp_path: Path, home: Path) -> None:
    src = tmp_path / "in"
    C.bad_meta_group_length(src / "badmeta.dcm")
    C.fake_deflated(src / "fakedfl.dcm")
    C.deep_nesting(src / "deep.dcm")
    good(src)
    result = scan_paths([src], use_cache=False)
    reasons = {Path(s.path).name: s.reason for s in result.skipped}
    assert sum(len(s.scans) for s in result.sessions) == 1
    assert "BytesLengthException" in reasons["badmeta.dcm"]
    assert "decompressing" in reasons["fakedfl.dcm"]
    assert "nested more than 64 deep" in reasons["deep.dcm"]
    for command in (["scan", str(src), "--json", "--no-cache"], ["groups", str(src), "--json"]):
        run = run_cli(command, home=home)
        clean(run)
        assert run.returncode == 0
        doc = json.loads(run.stdout)
        assert set(skipped(doc)) == {"badmeta.dcm", "fakedfl.dcm", "deep.dcm"}


def test_nesting_past_the_prefix_reaches_pydicom_and_is_a_skip(tmp_path: Path) -> None:
    """Deep nesting after 16 KB of header: the lean walker asks pydicom, whose RecursionError is a skip."""
    base = C.small_image(seed=11)
    base.ImageComments = "x" * 20000  # pushes the nesting past the scanner's prefix
    data = C.to_bytes(base)
    pixel = data.index(b"\xe0\x7f\x10\x00")
    seq_open = b"\x08\x00\x15\x11SQ\x00\x00\xff\xff\xff\xff" + b"\xfe\xff\x00\xe0\xff\xff\xff\xff"
    seq_close = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00" + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    C.write(tmp_path / "deep.dcm", data[:pixel] + seq_open * 5000 + seq_close * 5000 + data[pixel:])
    result = scan_paths([tmp_path], use_cache=False)
    assert not result.sessions
    assert result.skipped[0].reason.startswith("corrupt DICOM header")


def test_upload_of_a_folder_with_bad_files_sends_the_good_ones_and_lists_the_rest(tmp_path: Path,
                                                                                  home: Path) -> None:
    src = tmp_path / "in"
    C.bad_meta_group_length(src / "badmeta.dcm")
    C.fake_deflated(src / "fakedfl.dcm")
    (src / "notes.txt").write_text("not dicom")
    good(src)
    archive = tmp_path / "archive"
    dry = run_cli(["upload", str(src), "--to", str(archive), "--dry-run", "--json"], home=home)
    clean(dry)
    doc = json.loads(dry.stdout)
    assert set(skipped(doc)) == {"badmeta.dcm", "fakedfl.dcm", "notes.txt"}
    real = run_cli(["upload", str(src), "--to", str(archive)], home=home, timeout=300)
    clean(real)
    assert real.returncode == 0, real.stdout + real.stderr
    result = json.loads(real.stdout.splitlines()[-1])  # not a terminal: JSON lines, the result last
    assert result["transfers"][0]["state"] == "done"
    reasons = skipped(result)
    assert reasons["badmeta.dcm"].startswith("corrupt DICOM header")
    assert reasons["notes.txt"] == "not a DICOM file"
    assert len(list(archive.rglob("*.dcm"))) == 1


# ---- anonymize: write errors --------------------------------------------------------------------------


def test_anonymize_write_error_fails_that_object_and_leaves_no_file(tmp_path: Path, home: Path,
                                                                     script: Path) -> None:
    src = tmp_path / "in"
    C.false_explicit_vr(src / "a_false_vr.dcm")
    good(src)
    before = tree_digest(src)
    out = tmp_path / "out"
    run = run_cli(["anonymize", str(src), "--out", str(out), "--script", str(script), "--json"], home=home)
    clean(run)
    assert run.returncode == 1
    files = by_file(json.loads(run.stdout))
    assert files["a_false_vr.dcm"]["status"] == "error"
    assert "cannot write" in files["a_false_vr.dcm"]["error"]
    assert files["good42.dcm"]["status"] == "ok"
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["good42.dcm"]  # no partial, no temp
    assert pydicom.dcmread(out / "good42.dcm").PatientName == "ANON"
    assert tree_digest(src) == before


# ---- redact: invalid syntax, false VR claim, RLE panic, codec abort -----------------------------------


def test_redact_survives_every_reported_file_and_redacts_the_good_one(tmp_path: Path, home: Path) -> None:
    src = tmp_path / "in"
    C.invalid_transfer_syntax(src / "badts.dcm")
    C.false_explicit_vr(src / "false_vr.dcm")
    C.rle_panic(src / "panic.dcm")
    C.charls_abort(src / "abort.dcm")
    good(src)
    before = tree_digest(src)
    out = tmp_path / "out"
    run = run_cli(["redact", str(src), "--out", str(out), *RECT, "--json"], home=home)
    clean(run)
    assert run.returncode == 1
    files = by_file(json.loads(run.stdout))
    assert files["good42.dcm"]["status"] == "ok"
    assert files["badts.dcm"]["status"] == "refused"
    assert files["false_vr.dcm"]["status"] == "error" and "cannot write" in files["false_vr.dcm"]["error"]
    assert files["panic.dcm"]["status"] == "refused" and "PanicException" in files["panic.dcm"]["error"]
    assert files["abort.dcm"]["status"] == "refused"  # CharLS never sees it: its own header disagrees
    assert files["abort.dcm"]["error"] == ("the compressed frame is 65535 × 65535 pixels but the header says "
                                           "10 × 50 (Columns × Rows)")
    assert "PanicException" not in run.stderr and "terminate called" not in run.stderr
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["good42.dcm"]
    assert tree_digest(src) == before


def test_a_codec_abort_fails_the_object_and_a_fresh_helper_takes_the_next(monkeypatch) -> None:
    """CharLS aborting (SIGABRT) on the real file, with the header check out of the way."""
    from desktop_client.core.geometry import PixelEdit, Rect
    from desktop_client.pixels import RedactionError, engine, redact_dataset

    monkeypatch.setattr(engine, "check_declared_size", lambda ds, ts, model: None)
    bad = pydicom.dcmread(C.charls_abort(Path(os.environ["XNAT_DESKTOP_HOME"]) / "abort.dcm"))
    with pytest.raises(RedactionError) as refused:
        redact_dataset(bad, [PixelEdit(Rect(0, 0, 4, 4))])
    assert refused.value.reason == "the JPEG-LS (CharLS / GDCM) decoder crashed on this file (signal 6)"
    fine = pydicom.dcmread(C.testdata("JPEGLSNearLossless_16.dcm"))
    report = redact_dataset(fine, [PixelEdit(Rect(0, 0, 4, 4))])
    assert report.method == "lossy-to-lossless" and report.frames == 1


def test_the_helper_boundary_turns_any_death_into_a_reason() -> None:
    from pydicom.uid import RLELossless

    from desktop_client.pixels import RedactionError
    from desktop_client.pixels.isolation import run_isolated

    with pytest.raises(RedactionError, match=r"^the RLE \(pylibjpeg-rle / GDCM\) decoder crashed on this file "
                                             r"\(signal 6\)$"):
        run_isolated(os.abort, ts=RLELossless)
    with pytest.raises(RedactionError, match=r"^the pixel data could not be processed \(SystemExit: 3\)$"):
        run_isolated(sys.exit, 3, ts=RLELossless)
    assert run_isolated(divmod, 7, 2, ts=RLELossless) == (3, 1)  # a fresh helper carries on


# ---- FIFOs and bombs ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["scan", "redact", "anonymize", "groups"])
def test_a_fifo_given_directly_is_skipped_not_waited_on(tmp_path: Path, home: Path, script: Path,
                                                         command: str) -> None:
    fifo = tmp_path / "pipe.dcm"
    os.mkfifo(fifo)
    src = tmp_path / "in"
    good(src)
    extra = {"scan": ["--no-cache"], "groups": [], "redact": ["--out", str(tmp_path / "o"), *RECT],
             "anonymize": ["--out", str(tmp_path / "o"), "--script", str(script)]}[command]
    run = run_cli([command, str(fifo), str(src), *extra, "--json"], home=home, timeout=60)
    clean(run)
    doc = json.loads(run.stdout)
    assert skipped(doc)["pipe.dcm"].startswith("not a regular file (a named pipe (FIFO))")
    if command in ("redact", "anonymize"):
        assert run.returncode == 3  # everything else done, one input skipped
        assert by_file(doc)["good42.dcm"]["status"] == "ok"


@pytest.mark.parametrize("command", ["redact", "anonymize"])
def test_a_zip_bomb_is_refused_unread_with_bounded_memory(tmp_path: Path, home: Path, script: Path,
                                                          command: str) -> None:
    bomb = C.huge_pixel_zip(tmp_path / "in" / "bomb.zip", declared_mib=1024)
    assert bomb.stat().st_size < 2 * 1024 * 1024
    good(tmp_path / "in")
    extra = RECT if command == "redact" else ["--script", str(script)]
    run = run_cli([command, str(tmp_path / "in"), "--out", str(tmp_path / "o"), *extra, "--json"],
                  home=home, timeout=120)
    clean(run)
    assert run.returncode == 3
    [reason] = [s["reason"] for s in json.loads(run.stdout)["skipped"] if s["path"].endswith("bomb.zip!study/bomb.dcm")]
    assert "decompression bomb" in reason
    assert run.peak_rss_mb < 400, run.peak_rss_mb


def test_declared_dimensions_beyond_the_budget_are_refused_before_decoding(tmp_path: Path, home: Path) -> None:
    C.huge_dimensions(tmp_path / "in" / "huge.dcm")
    run = run_cli(["redact", str(tmp_path / "in"), "--out", str(tmp_path / "o"), *RECT, "--json"], home=home)
    clean(run)
    entry = by_file(json.loads(run.stdout))["huge.dcm"]
    assert entry["status"] == "refused" and "too large to redact" in entry["error"]
    assert run.peak_rss_mb < 400


def test_an_object_larger_than_the_budget_is_not_read(tmp_path: Path, home: Path) -> None:
    big = C.small_image(seed=12, rows=2048, columns=2048)
    big.NumberOfFrames = 4
    big.PixelData = os.urandom(2048 * 2048 * 4)
    C.write(tmp_path / "in" / "big.dcm", C.to_bytes(big))
    run = run_cli(["redact", str(tmp_path / "in"), "--out", str(tmp_path / "o"), *RECT, "--json"], home=home,
                  env={"XNAT_UPLOADER_MAX_OBJECT_MB": "8"})
    clean(run)
    entry = by_file(json.loads(run.stdout))["big.dcm"]
    assert entry["status"] == "error"
    assert "more than the 8 MiB allowed for one object" in entry["error"]


# ---- output writes: full disk, hard link at the target ---------------------------------------------


def test_a_full_disk_fails_the_object_and_leaves_no_partial_file(tmp_path: Path, home: Path) -> None:
    src = tmp_path / "in"
    small = good(src, seed=1)
    large = C.small_image(seed=2, rows=512, columns=512)
    C.write(src / "large.dcm", C.to_bytes(large))
    out = tmp_path / "out"
    # The limit lets the small copy (and the app's own small files) through, not the large one.
    run = run_cli(["redact", str(src), "--out", str(out), *RECT, "--json"], home=home,
                  file_size_limit=128 * 1024)
    clean(run)
    assert run.returncode == 1
    files = by_file(json.loads(run.stdout))
    assert files["large.dcm"]["status"] == "error"
    assert "File too large" in files["large.dcm"]["error"] and "nothing was left there" in files["large.dcm"]["error"]
    assert files[small.name]["status"] == "ok"
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == [small.name]


def test_a_hard_link_at_the_output_path_is_replaced_never_written_through(tmp_path: Path, home: Path) -> None:
    src = tmp_path / "in"
    source = good(src)
    before = source.read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    os.link(source, out / source.name)  # e.g. a previous "cp -l" of the inputs
    run = run_cli(["redact", str(src), "--out", str(out), *RECT, "--json"], home=home)
    clean(run)
    assert run.returncode == 0
    assert source.read_bytes() == before
    assert os.stat(out / source.name).st_ino != os.stat(source).st_ino
    assert pydicom.dcmread(out / source.name).PixelData[:4] == b"\x00" * 4


def test_a_symlink_at_the_output_path_is_replaced_never_written_through(tmp_path: Path, home: Path) -> None:
    src = tmp_path / "in"
    source = good(src)
    before = source.read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    (out / source.name).symlink_to(source)
    run = run_cli(["redact", str(src), "--out", str(out), *RECT], home=home)
    clean(run)
    assert source.read_bytes() == before
    assert not (out / source.name).is_symlink()


# ---- skipped inputs are listed by every command ---------------------------------------------------------


@pytest.mark.parametrize("command", ["redact", "anonymize"])
def test_skipped_inputs_are_listed_with_reasons_in_text_and_json(tmp_path: Path, home: Path, script: Path,
                                                                 command: str) -> None:
    src = tmp_path / "in"
    good(src)
    (src / "notes.txt").write_text("hello")
    extra = RECT if command == "redact" else ["--script", str(script)]
    text = run_cli([command, str(src), "--out", str(tmp_path / "o1"), *extra], home=home)
    clean(text)
    assert text.returncode == 3
    assert f"{src / 'notes.txt'}: not a DICOM file" in text.stdout
    as_json = run_cli([command, str(src), "--out", str(tmp_path / "o2"), *extra, "--json"], home=home)
    assert as_json.returncode == 3
    assert skipped(json.loads(as_json.stdout)) == {"notes.txt": "not a DICOM file"}


def test_only_skipped_inputs_is_a_usage_error_that_still_lists_them(tmp_path: Path, home: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.txt").write_text("hello")
    run = run_cli(["redact", str(tmp_path / "in"), "--out", str(tmp_path / "o"), *RECT], home=home)
    clean(run)
    assert run.returncode == 2
    assert "notes.txt: not a DICOM file" in run.stdout
    assert "no DICOM files found" in run.stderr


def test_upload_redacting_an_rle_panic_and_a_codec_abort_fails_only_those_objects(tmp_path: Path,
                                                                                   home: Path) -> None:
    """Before: "internal error: Can't pickle PanicException" and the whole upload gone."""
    src = tmp_path / "in"
    panic = pydicom.dcmread(C.rle_panic(src / "panic.dcm"), stop_before_pixels=True)
    abort = pydicom.dcmread(C.charls_abort(src / "abort.dcm"), stop_before_pixels=True)
    good(src)
    run = run_cli(["upload", str(src), "--to", str(tmp_path / "archive"),
                   "--rect", f"{panic.SeriesInstanceUID}:0,0,4,4", "--rect", f"{abort.SeriesInstanceUID}:0,0,4,4"],
                  home=home, timeout=300)
    clean(run)
    assert run.returncode == 1
    assert "pickle" not in run.stdout + run.stderr
    transfers = json.loads(run.stdout.splitlines()[-1])["transfers"]
    states = sorted(t["state"] for t in transfers)
    assert states.count("done") == 1 and len(transfers) == 3  # the good session went through
    errors = " ".join(s["error"] or "" for t in transfers for s in t["scans"])
    assert "PanicException" in errors
    assert "the compressed frame is 65535 × 65535 pixels" in errors


def test_a_full_disk_turns_the_scan_index_off_not_the_scan(tmp_path: Path, home: Path) -> None:
    src = tmp_path / "in"
    for seed in range(300):
        C.write(src / f"{seed:03d}.dcm", C.to_bytes(C.small_image(seed=seed + 1000)))
    run = run_cli(["scan", str(src), "--json"], home=home, file_size_limit=16 * 1024)
    clean(run)
    assert run.returncode == 0
    doc = json.loads(run.stdout)
    assert sum(scan["files"] for session in doc["sessions"] for scan in session["scans"]) == 300


@pytest.mark.parametrize("option", ["check-script", "anonymize --script", "upload --lookup-table",
                                    "upload --labels", "upload --script"])
def test_a_fifo_named_as_a_script_or_table_is_refused_not_read(tmp_path: Path, home: Path, option: str) -> None:
    fifo = tmp_path / "script.das"
    os.mkfifo(fifo)
    src = tmp_path / "in"
    good(src)
    command, _, flag = option.partition(" ")
    args = {"check-script": [str(fifo)],
            "anonymize": [str(src), "--out", str(tmp_path / "o"), flag, str(fifo)],
            "upload": [str(src), "--to", str(tmp_path / "archive"), flag, str(fifo)]}[command]
    run = run_cli([command, *args], home=home, timeout=60)
    clean(run)
    assert run.returncode == 2
    assert f"{str(fifo)} is not a regular file" in run.stderr


def test_the_viewer_decodes_compressed_frames_in_the_helper(tmp_path: Path) -> None:
    """The app's "before" image: a panicking or forged frame is a reason on screen, not a dead app."""
    from desktop_client.gui.viewer.frames import FrameReader
    from desktop_client.scanning import scan_paths

    C.rle_panic(tmp_path / "panic.dcm")
    C.charls_abort(tmp_path / "abort.dcm")
    C.write(tmp_path / "fine.dcm", Path(C.testdata("MR_small_RLE.dcm")).read_bytes())
    reader = FrameReader()
    found = {Path(i.path).name: i for s in scan_paths([tmp_path], use_cache=False).sessions
             for i in s.iter_instances()}
    with pytest.raises(ValueError, match="PanicException"):
        reader.read(found["panic.dcm"])
    with pytest.raises(ValueError, match="the compressed frame is 65535 × 65535 pixels"):
        reader.read(found["abort.dcm"])
    assert reader.read(found["fine.dcm"]).values.shape == (64, 64)  # decoded in the helper
