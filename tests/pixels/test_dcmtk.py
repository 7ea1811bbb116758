"""Interoperability: every redacted output is readable by DCMTK, decodes identically there, and
dciodvfy (dicom3tools) reports no error that the input did not already have."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest

from desktop_client.core.geometry import PixelEdit, Rect
from desktop_client.pixels import redact_dataset
from tests.pixels.helpers import data_file, raw_pixels

pytestmark = pytest.mark.dcmtk

CASES = [
    ("CT_small.dcm", None),
    ("MR_small_bigendian.dcm", None),
    ("liver_1frame.dcm", None),
    ("examples_overlay.dcm", None),
    ("SC_ybr_full_422_uncompressed.dcm", None),
    ("deid:ultrasounds/ultrasound-multiframe.dcm", None),
    ("MR_small_RLE.dcm", "dcmdrle"),
    ("OBXXXX1A_rle_2frame.dcm", "dcmdrle"),
    ("MR_small_jpeg_ls_lossless.dcm", "dcmdjpls"),
    ("JPEG-LL.dcm", "dcmdjpeg"),
    ("SC_rgb_jpeg_gdcm.dcm", "dcmdjpeg"),
    ("examples_ybr_color.dcm", "dcmdjpeg"),
    ("SC_rgb_dcmtk_+eb+cr.dcm", "dcmdjpeg"),
    ("deid:dicom-cookies/image1.dcm", "dcmdjpeg"),
    ("MR_small_jp2klossless.dcm", None),
    ("JPGExtended.dcm", None),
]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


def _errors(path: Path) -> set[str]:
    out = subprocess.run([_tool("dciodvfy"), str(path)], capture_output=True, text=True, timeout=120,
                         errors="replace")
    lines = (out.stdout + out.stderr).splitlines()
    # drop the element paths' volatile values; keep the message text
    return {re.sub(r"\s+", " ", line.split(" - ", 1)[-1]).strip() for line in lines if line.startswith("Error")}


@pytest.mark.parametrize("name, decompressor", CASES)
def test_output_readable_and_valid_for_dcmtk(name: str, decompressor: str | None, tmp_path: Path) -> None:
    source = Path(data_file(name))
    ds = pydicom.dcmread(source)
    rect = Rect(2, 3, min(40, ds.Columns), min(20, ds.Rows))
    redact_dataset(ds, [PixelEdit(rect)])
    out = tmp_path / "out.dcm"
    ds.save_as(out)
    dump = subprocess.run([_tool("dcmdump"), "-q", str(out)], capture_output=True, text=True, timeout=60,
                          errors="replace")
    assert dump.returncode == 0 and "E:" not in dump.stderr, dump.stderr
    new_errors = _errors(out) - _errors(source)
    assert not new_errors, new_errors
    if decompressor:
        plain = tmp_path / "plain.dcm"
        run = subprocess.run([_tool(decompressor), str(out), str(plain)], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        ours, theirs = raw_pixels(pydicom.dcmread(out)), raw_pixels(pydicom.dcmread(plain))
        if theirs.shape == ours.shape and pydicom.dcmread(plain).PhotometricInterpretation == ds.PhotometricInterpretation:
            assert np.array_equal(ours, theirs) or np.abs(ours.astype(int) - theirs.astype(int)).max() <= 2
        box = theirs[:, rect.top:rect.bottom, rect.left:rect.right]
        assert box.size
