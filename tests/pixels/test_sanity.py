"""Size sanity before decoding: declared dimensions against the bytes present and the budget."""

from __future__ import annotations

import pydicom
import pytest
from pydicom.data import get_testdata_file

from desktop_client.core.geometry import PixelEdit, Rect
from desktop_client.pixels import RedactionError, redact_dataset

BOX = [PixelEdit(Rect(0, 0, 4, 4))]


def _load(name: str) -> pydicom.Dataset:
    return pydicom.dcmread(get_testdata_file(name))


@pytest.mark.parametrize("name", ["SC_rgb_jpeg_gdcm.dcm", "JPEG-LL.dcm", "JPEGLSNearLossless_16.dcm",
                                  "MR_small_jp2klossless.dcm", "JPEG2000.dcm"])
def test_compressed_frame_whose_own_size_disagrees_is_refused_before_decoding(name: str) -> None:
    ds = _load(name)
    columns, rows = int(ds.Columns), int(ds.Rows)
    ds.Columns = columns * 2
    with pytest.raises(RedactionError) as refused:
        redact_dataset(ds, BOX)
    assert refused.value.reason == (f"the compressed frame is {columns} × {rows} pixels but the header says "
                                    f"{columns * 2} × {rows} (Columns × Rows)")


def test_rle_frame_too_small_for_the_declared_image_is_refused() -> None:
    ds = _load("MR_small_RLE.dcm")
    ds.Rows = ds.Columns = 4096
    with pytest.raises(RedactionError, match="cannot expand to the 4096 × 4096 image"):
        redact_dataset(ds, BOX)


def test_native_pixel_data_shorter_than_declared_is_refused_before_copying() -> None:
    ds = _load("CT_small.dcm")
    ds.NumberOfFrames = 3
    with pytest.raises(RedactionError, match=r"^Pixel Data holds 32,768 bytes but 3 frame\(s\) of 128 × 128 need 98,304$"):
        redact_dataset(ds, BOX)


def test_declared_size_beyond_the_budget_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("XNAT_UPLOADER_MAX_OBJECT_MB", "1")
    ds = _load("CT_small.dcm")  # 128 × 128 × 2 bytes: fine
    ds.NumberOfFrames = 64  # 2 MiB declared
    with pytest.raises(RedactionError, match="would take 2 MiB of memory, more than the 1 MiB allowed"):
        redact_dataset(ds, BOX)


@pytest.mark.parametrize("name", ["SC_rgb_jpeg_gdcm.dcm", "JPEG-LL.dcm", "MR_small_jp2klossless.dcm",
                                  "MR_small_RLE.dcm"])
def test_consistent_files_pass(name: str) -> None:
    assert redact_dataset(_load(name), BOX).frames >= 1
