"""``detect-text`` and the upload gate on the demo study, end to end (real OCR, real local archive).

The demo generator's manifest records every burned-in box and whether it is PHI: the finder
must suggest a box over every PHI line; an upload with no decision holds those scans back and
sends the rest; ``--redact-detected`` sends them with every PHI box black and the re-check
passing; ``--accept-visible-text`` sends them as they are and the receipt says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest

from desktop_client.cli.main import main
from desktop_client.core.geometry import Rect
from desktop_client.demo import DemoManifest, generate_demo
from desktop_client.pixels.preview import render
from desktop_client.textfind import coverage, find_text

SCALE = dict(ct_slices=2, mr_slices=2, us_frames=3)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoManifest]:
    out = tmp_path_factory.mktemp("textfind-demo")
    return out, generate_demo(out, seed=0, **SCALE)


def _burned(manifest: DemoManifest) -> list:
    return [f for f in manifest.files if f.burned_in]


def test_every_manifest_phi_box_is_suggested(demo) -> None:
    root, manifest = demo
    lines = phi_lines = found_lines = found_phi = 0
    for f in _burned(manifest):
        result = find_text(root / f.path)
        assert not result.error, (f.path, result.error)
        suggested = [x.rect for x in result.likely_phi]
        every = [x.rect for x in result.found]
        for b in f.burned_in:
            box = Rect(*b.box)
            lines += 1
            found_lines += coverage(box, every) >= 0.9
            if b.phi:
                phi_lines += 1
                found_phi += coverage(box, suggested) >= 0.9
    assert phi_lines and found_phi == phi_lines  # every PHI line, as a likely-PHI suggestion
    assert found_lines >= 0.95 * lines


def test_text_free_twin_gives_no_boxes(tmp_path: Path) -> None:
    manifest = generate_demo(tmp_path, seed=0, burn_text=False, **SCALE)
    seen = set()
    for f in manifest.files:
        if f.rows is None or f.modality in seen or f.modality == "RTDOSE":
            continue
        seen.add(f.modality)
        result = find_text(tmp_path / f.path)
        assert not result.error and result.found == [], (f.path, [x.text for x in result.found])
    assert {"CT", "MR", "CR", "US"} <= seen


def test_detect_text_json_shape_and_errors(demo, tmp_path: Path, capsys) -> None:
    root, manifest = demo
    us = next(f for f in manifest.files if f.modality == "US" and f.burned_in)
    sr = next(f for f in manifest.files if f.modality == "SR")
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"\0" * 200)
    code = main(["detect-text", str(root / us.path), str(root / sr.path), str(junk), "--json", "--workers", "0"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1  # the unreadable file; the SR is only "not an image"
    files = {Path(e["path"]).name if "junk" in e["path"] else e["sop_instance_uid"]: e for e in out["files"]}
    image = files[us.sop_instance_uid]
    assert set(image) == {"path", "sop_instance_uid", "rows", "columns", "frames", "boxes", "error"}
    assert (image["rows"], image["columns"], image["frames"], image["error"]) == (us.rows, us.columns, us.frames, None)
    assert image["boxes"] and set(image["boxes"][0]) == {"l", "t", "r", "b", "frame", "text", "score", "likely_phi"}
    assert all(b["frame"] is None for b in image["boxes"])  # the cine's temporal image
    assert files[sr.sop_instance_uid]["error"].startswith("not an image")
    assert files["junk.dcm"]["error"] and not files["junk.dcm"]["boxes"]
    assert main(["detect-text", str(root / us.path), "--dicomedit", "--workers", "0"]) == 0
    script = capsys.readouterr().out
    assert script.startswith('version "6.1"') and script.count("alterPixels[") >= 6
    assert main(["detect-text", str(tmp_path / "nope")]) == 2


def _upload(root: Path, dest: Path, receipts: Path, *extra: str) -> int:
    # no header script, so the archived objects keep the SOP Instance UIDs the manifest names
    return main(["upload", str(root), "--to", str(dest), "--receipt-dir", str(receipts), "--workers", "0",
                 "--site-script", "none", *extra])


def _receipt_scans(receipts: Path) -> dict[str, dict]:
    scans = {}
    for path in receipts.glob("*.json"):
        for scan in json.loads(path.read_text())["scans"]:
            scans[scan["series_instance_uid"]] = scan
    return scans


def test_upload_without_decision_holds_back_burned_in_scans(demo, tmp_path: Path, capsys) -> None:
    root, manifest = demo
    code = _upload(root, tmp_path / "archive", tmp_path / "receipts")
    err = capsys.readouterr().err
    assert code == 1 and "held back" in err and "--redact-detected" in err
    burned = {f.series_instance_uid for f in _burned(manifest)}
    scans = _receipt_scans(tmp_path / "receipts")
    sent = {pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID
            for p in (tmp_path / "archive").rglob("*.dcm")}
    assert not sent & {f.sop_instance_uid for f in _burned(manifest)}  # nothing burned-in went out
    # the rest of the batch went (free-text reports stay out by default, issue 14)
    went = {uid for uid, scan in scans.items() if scan["status"] == "sent"}
    assert went and not went & burned
    assert {f.sop_instance_uid for f in manifest.files if f.series_instance_uid in went} <= sent
    for uid, scan in scans.items():
        if uid in burned:
            assert scan["status"] == "excluded" and scan["exclude_reason"].startswith("held back")


def test_redact_detected_blacks_out_every_phi_box_and_the_recheck_passes(demo, tmp_path: Path, capsys) -> None:
    root, manifest = demo
    code = _upload(root, tmp_path / "archive", tmp_path / "receipts", "--redact-detected")
    assert code == 0, capsys.readouterr().err
    by_uid = {pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID: p
              for p in (tmp_path / "archive").rglob("*.dcm")}
    for f in _burned(manifest):
        out = by_uid[f.sop_instance_uid]
        rgb = render(out).astype(int)  # what a person sees in the output (middle frame)
        for b in f.burned_in:
            if b.phi:
                l, t, r, bottom = b.box
                assert rgb[t:bottom, l:r].max() <= 40, (f.path, b.field)
    scans = _receipt_scans(tmp_path / "receipts")
    for uid in {f.series_instance_uid for f in _burned(manifest)}:
        text = scans[uid]["burned_in_text"]
        assert scans[uid]["status"] == "sent" and text["decision"] == "redacted"
        assert text["boxes"] and {b["source"] for b in text["boxes"]} == {"detected"}
        assert text["recheck"]["objects"] >= 1 and text["recheck"].get("passed") == text["recheck"]["objects"]
    pdf = next((tmp_path / "receipts").glob("*.pdf")).read_bytes()
    assert pdf.startswith(b"%PDF")


def test_accept_visible_text_sends_and_the_receipt_says_so(demo, tmp_path: Path, capsys) -> None:
    root, manifest = demo
    us = next(f for f in _burned(manifest) if f.modality == "US")
    code = _upload(root, tmp_path / "archive", tmp_path / "receipts",
                   "--accept-visible-text", us.series_instance_uid)
    assert code == 1  # the other burned-in scans are still held back
    scans = _receipt_scans(tmp_path / "receipts")
    text = scans[us.series_instance_uid]["burned_in_text"]
    assert scans[us.series_instance_uid]["status"] == "sent"
    assert text["decision"] == "accepted as is" and "--accept-visible-text" in text["accept_reason"]
    capsys.readouterr()
    code = main(["upload", str(root), "--to", str(tmp_path / "archive2"), "--receipt-dir",
                 str(tmp_path / "receipts2"), "--workers", "0", "--accept-visible-text", "all"])
    assert code == 0, capsys.readouterr().err
    assert all(s["burned_in_text"]["decision"] in ("accepted as is", "no decision needed", "excluded")
               for s in _receipt_scans(tmp_path / "receipts2").values())
    assert main(["upload", str(root), "--to", str(tmp_path / "x"), "--accept-visible-text", "1.2.3"]) == 2
