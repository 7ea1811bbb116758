"""``xnat-upload redact`` / ``preview`` end to end, through the real entry point."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image

from desktop_client.cli.main import main
from tests.pixels.helpers import data_file, raw_pixels


def test_redact_writes_copies_and_reports(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(data_file("CT_small.dcm"), src / "ct.dcm")
    shutil.copy(data_file("MR_small_RLE.dcm"), src / "mr_rle.dcm")
    original = (src / "ct.dcm").read_bytes()
    rc = main(["redact", str(src), "--out", str(tmp_path / "out"), "--rect", "0,0,30,10",
               "--rect", "500,500,510,510", "--fill", "7", "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"] == {"ok": 2, "refused": 0, "error": 0, "skipped": 0}
    assert (src / "ct.dcm").read_bytes() == original  # inputs untouched
    for entry in doc["files"]:
        assert entry["outside"] == ["500,500,510,510"] and entry["applied"] == ["0,0,30,10"]
        out = pydicom.dcmread(entry["output"])
        assert np.all(raw_pixels(out)[:, 0:10, 0:30] == 7)


def test_refused_objects_are_not_written(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.dcm"
    ds = pydicom.dcmread(data_file("MR_small.dcm"))
    from pydicom.encaps import encapsulate
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2: not decodable here
    ds.PixelData = encapsulate([ds.PixelData])
    ds["PixelData"].is_undefined_length = True
    ds.save_as(bad)
    rc = main(["redact", str(bad), "--out", str(tmp_path / "out"), "--rect", "0,0,5,5"])
    text = capsys.readouterr().out
    assert rc == 1 and "refused" in text and not (tmp_path / "out" / "bad.dcm").exists()


def test_bad_rectangle_is_a_user_error(tmp_path: Path, capsys) -> None:
    rc = main(["redact", data_file("CT_small.dcm"), "--out", str(tmp_path), "--rect", "5,5,1,1"])
    assert rc == 2 and "empty" in capsys.readouterr().err


def test_preview_png(tmp_path: Path) -> None:
    png = tmp_path / "p.png"
    rc = main(["preview", data_file("emri_small.dcm"), "--out", str(png), "--rect", "0,0,32,16",
               "--frame", "3", "--size", "32x32"])
    assert rc == 0
    img = np.asarray(Image.open(png))
    assert img.shape == (32, 32, 3) and img[:7, :15].max() == 0  # last row/column blends when scaled


def test_archive_members_cannot_escape_the_output_folder(tmp_path: Path) -> None:
    from desktop_client.cli.redact import _target
    from desktop_client.scanning.model import Location

    out = tmp_path / "out"
    archive = tmp_path / "in.zip"
    target = _target(Location(str(archive), "../../evil/../x.dcm"), [tmp_path], out)
    assert target.resolve().is_relative_to(out.resolve())
    assert target.name == "x.dcm"
