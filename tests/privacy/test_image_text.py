"""Image scans with private text or an overlay (issue 14 §2): still image scans, but the person
is told what the destination's scripts leave of it (checked, not claimed), and the default site
script of a non-XNAT destination removes both."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom

from desktop_client.cli.main import main
from desktop_client.dicomedit import apply_chain, compile_script
from desktop_client.grouping import group_scans, image_text_line, image_text_notes
from desktop_client.scanning import scan_paths
from desktop_client.scanning.freetext import OVERLAY, PRIVATE_TEXT, looks_like_words
from desktop_client.scripts import default_site_script
from tests.dicomfactory import image, write


def _study(root: Path) -> Path:
    """Three CT series: private words + overlay, private numbers/UIDs only, nothing private."""
    texty = image(study_uid="1.2.9.1", series_uid="1.2.9.1.1", sop_uid="1.2.9.1.1.1")
    texty.SeriesDescription = "texty"
    block = texty.private_block(0x0019, "ACME 1.0", create=True)
    block.add_new(0x10, "LO", "ROE^RICHARD scanned by Dr Who")
    texty.add_new(0x60000010, "US", 8)
    texty.add_new(0x60000011, "US", 8)
    texty.add_new(0x60000100, "US", 1)
    texty.add_new(0x60003000, "OW", np.zeros(8, dtype=np.uint8).tobytes())
    write(root / "a" / "1.dcm", texty)
    numbers = image(study_uid="1.2.9.1", series_uid="1.2.9.1.2", sop_uid="1.2.9.1.2.1")
    numbers.SeriesDescription = "numbers"
    block = numbers.private_block(0x0019, "ACME 1.0", create=True)
    block.add_new(0x10, "LO", "12.5\\3")
    block.add_new(0x11, "LO", "1.2.840.113619.2.55")
    block.add_new(0x12, "SH", "20240102")
    write(root / "b" / "1.dcm", numbers)
    plain = image(study_uid="1.2.9.1", series_uid="1.2.9.1.3", sop_uid="1.2.9.1.3.1")
    plain.SeriesDescription = "plain"
    write(root / "c" / "1.dcm", plain)
    return root


def test_words_not_numbers_or_uids() -> None:
    assert looks_like_words("ROE^RICHARD") and looks_like_words("scanned by Dr Who")
    for value in ("12.5\\3", "1.2.840.113619.2.55", "20240102", "-3.5e-4", "", "AB"):
        assert not looks_like_words(value), value


def test_image_scans_stay_valid_and_say_what_they_carry(tmp_path: Path) -> None:
    sessions = scan_paths([_study(tmp_path)], use_cache=False).sessions
    grouping = group_scans(sessions)
    assert not grouping.unsupported and len(grouping.valid) == 1
    scans = {ref.scan.series_description: ref.scan for ref in grouping.valid[0].members}
    assert image_text_notes(scans["texty"]) == [PRIVATE_TEXT, OVERLAY]
    assert image_text_notes(scans["numbers"]) == []
    assert image_text_notes(scans["plain"]) == []
    assert "holds the scan back if they keep" in image_text_line([OVERLAY])


def test_cli_groups_and_upload_say_it(tmp_path: Path, capsys, monkeypatch) -> None:
    root = _study(tmp_path / "in")
    assert main(["groups", str(root), "--json"]) == 0
    (group,) = json.loads(capsys.readouterr().out)["valid"]
    assert group["carries"] == {"1.2.9.1.1": [PRIVATE_TEXT, OVERLAY]}
    assert main(["groups", str(root)]) == 0
    out = capsys.readouterr().out
    assert "texty: carries private text and an overlay" in out and "numbers:" not in out
    monkeypatch.chdir(tmp_path)
    code = main(["upload", str(root), "--to", "unused-folder", "--dry-run", "--json",
                 "--accept-visible-text", "all", "--workers", "0"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    scans = {s["description"]: s for p in json.loads(captured.out)["sessions"] for s in p["scans"]}
    assert "removed by the anonymization scripts (checked" in scans["texty"]["carries"]
    assert scans["numbers"]["carries"] is None and scans["plain"]["carries"] is None
    # No script: the overlay (which can hold burned-in text) would leave, so the scan is held
    # back until the command line decides; the rest of the batch still goes.
    code = main(["upload", str(root), "--to", "unused-folder", "--dry-run", "--site-script", "none",
                 "--accept-visible-text", "all", "--workers", "0"])
    captured = capsys.readouterr()
    assert code == 1
    assert "held back" in captured.err and "overlay (6000,3000)" in captured.err
    assert "--strip-private-text" in captured.err
    code = main(["upload", str(root), "--to", "unused-folder", "--dry-run", "--site-script", "none",
                 "--accept-visible-text", "all", "--accept-private-text", "all", "--workers", "0"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "carries private text and an overlay: sent as it is, by a person's decision" in captured.out
    # The real upload says it too (on stderr, before sending), and the default site script of the
    # local archive leaves neither in what it writes.
    out_dir = tmp_path / "archive"
    code = main(["upload", str(root), "--to", str(out_dir), "--accept-visible-text", "all",
                 "--workers", "0", "--project", "P"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert ("texty: carries private text and an overlay: removed by the anonymization scripts "
            "(checked on this machine)") in captured.err
    written = [pydicom.dcmread(p) for p in out_dir.rglob("*") if p.is_file() and p.suffix == ".dcm"]
    assert len(written) == 3
    for ds in written:
        assert not any(elem.tag.is_private for elem in ds.iterall())
        assert not any(0x6000 <= elem.tag.group <= 0x601E for elem in ds)  # the whole overlay


def test_default_site_script_removes_private_text_and_overlays(tmp_path: Path) -> None:
    ds = pydicom.dcmread(_study(tmp_path) / "a" / "1.dcm")
    outcome = apply_chain([compile_script(default_site_script())], ds, {}, execute_pixels=False)
    assert outcome.ok, outcome.error
    assert not any(elem.tag.is_private for elem in ds.iterall())
    assert not any(0x6000 <= elem.tag.group <= 0x601E for elem in ds)  # the whole overlay, not only its data
