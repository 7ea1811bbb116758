"""Compressed syntaxes: same-syntax lossless re-encode, DCT-domain JPEG, lossy → lossless, refusals."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom import uid as U
from pydicom.encaps import generate_frames

from desktop_client.core.geometry import PixelEdit, Rect
from desktop_client.pixels import RedactionError, redact_dataset
from tests.pixels.helpers import load, raw_pixels, roundtrip

RECT = Rect(4, 6, 37, 29)


def _outside_equal(before: np.ndarray, after: np.ndarray, region: Rect) -> bool:
    mask = np.zeros(before.shape[1:3], dtype=bool)
    mask[region.top:region.bottom, region.left:region.right] = True
    return bool(np.array_equal(after[:, ~mask], before[:, ~mask]))


@pytest.mark.parametrize("name, fill", [
    ("MR_small_RLE.dcm", -32768),
    ("emri_small_RLE.dcm", 0),
    ("SC_rgb_rle_16bit_2frame.dcm", (0, 0, 0)),
    ("SC_rgb_rle_32bit_2frame.dcm", (0, 0, 0)),
    ("OBXXXX1A_rle_2frame.dcm", None),          # palette: darkest entry
    ("MR_small_jpeg_ls_lossless.dcm", -32768),
    ("emri_small_jpeg_ls_lossless.dcm", 0),
    ("MR_small_jp2klossless.dcm", -32768),
    ("693_J2KR.dcm", -2000),                      # Pixel Padding Value
    ("US1_J2KR.dcm", (0, 0, 0)),                  # YBR_RCT: stays reversible colour J2K
    ("GDCMJ2K_TextGBR.dcm", (0, 0, 0)),
])
def test_lossless_reencoded_in_same_syntax(name: str, fill: object) -> None:
    ds = load(name)
    ts = ds.file_meta.TransferSyntaxUID
    sop = ds.SOPInstanceUID
    before = raw_pixels(ds) if ds.PhotometricInterpretation != "YBR_RCT" else None
    report = redact_dataset(ds, [PixelEdit(RECT)])
    out = roundtrip(ds)
    assert report.method == "reencode"
    assert out.file_meta.TransferSyntaxUID == ts == report.transfer_syntax_uid
    assert out.SOPInstanceUID == sop == out.file_meta.MediaStorageSOPInstanceUID
    assert "ExtendedOffsetTable" not in out
    after = raw_pixels(out)
    box = after[:, RECT.top:RECT.bottom, RECT.left:RECT.right]
    if fill is not None:
        assert np.all(box == np.asarray(fill))
    else:
        assert np.all(box == box.reshape(-1)[0])
    if before is not None:
        assert _outside_equal(before, after, RECT)
    # one fragment per frame, each even-length, behind a Basic Offset Table
    frames = list(generate_frames(out.PixelData, number_of_frames=int(out.get("NumberOfFrames") or 1)))
    assert all(len(f) % 2 == 0 for f in frames)


def test_ybr_rct_keeps_colour_transform_and_matches_rgb_reference() -> None:
    ds = load("US1_J2KR.dcm")
    reference = raw_pixels(load("US1_UNCR.dcm"))  # the uncompressed original of the same image
    redact_dataset(ds, [PixelEdit(RECT)])
    out = roundtrip(ds)
    assert out.PhotometricInterpretation == "YBR_RCT"
    assert _outside_equal(reference, raw_pixels(out), RECT)


@pytest.mark.parametrize("name", ["JPEGLSNearLossless_16.dcm", "SC_rgb_jls_lossy_line.dcm", "US1_J2KI.dcm",
                                  "JPGExtended.dcm", "RG1_J2KI.dcm"])
def test_lossy_written_lossless_with_history(name: str) -> None:
    ds = load(name)
    sop = ds.SOPInstanceUID
    report = redact_dataset(ds, [PixelEdit(RECT)])
    out = roundtrip(ds)
    assert report.method == "lossy-to-lossless"
    assert out.file_meta.TransferSyntaxUID == U.ExplicitVRLittleEndian
    assert out.LossyImageCompression == "01"
    assert out.SOPInstanceUID == sop
    after = raw_pixels(out)
    clipped = RECT.clipped(out.Columns, out.Rows)
    assert clipped is not None
    box = after[:, clipped.top:clipped.bottom, clipped.left:clipped.right]
    expected = (1 << (out.BitsStored - 1)) - 1 if out.PhotometricInterpretation == "MONOCHROME1" and out.PixelRepresentation else None
    if out.PhotometricInterpretation == "MONOCHROME1":
        assert np.all(box == (expected if expected is not None else (1 << out.BitsStored) - 1))
    elif out.SamplesPerPixel == 3:
        assert out.PhotometricInterpretation in ("RGB", "YBR_FULL") and out.PlanarConfiguration == 0
        black = (0, 0, 0) if out.PhotometricInterpretation == "RGB" else (0, 128, 128)
        assert np.all(box == np.asarray(black))
    else:
        assert np.all(box == 0)


@pytest.mark.parametrize("name", ["examples_ybr_color.dcm", "SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_dcmtk_+eb+cr.dcm",
                                  "SC_rgb_jpeg_app14_dcmd.dcm", "SC_jpeg_no_color_transform.dcm",
                                  "SC_rgb_dcmtk_+eb+cy+np.dcm", "deid:humans/ctbrain1.dcm"])
def test_jpeg_baseline_dct_domain(name: str) -> None:
    """Blocks under the MCU-aligned box are black; every other pixel decodes exactly as before."""
    ds = load(name)
    before = ds.pixel_array.reshape(-1, ds.Rows, ds.Columns, 3)
    lossy_before = ds.get("LossyImageCompression")
    report = redact_dataset(ds, [PixelEdit(RECT)])
    out = roundtrip(ds)
    assert report.method == "dct"
    assert out.file_meta.TransferSyntaxUID == U.JPEGBaseline8Bit
    assert out.PhotometricInterpretation == load(name).PhotometricInterpretation
    assert out.get("LossyImageCompression") == lossy_before
    after = out.pixel_array.reshape(-1, out.Rows, out.Columns, 3)
    assert np.all(after[:, RECT.top:RECT.bottom, RECT.left:RECT.right] <= 2)  # black (chroma-edge rounding)
    # outside the 16-pixel MCU grid superset (+1 px for chroma upsampling) nothing changed
    grown = Rect(0, 0, 48 + 1, 32 + 1)
    assert _outside_equal(before, after, grown)


def test_jpeg_baseline_cine_every_frame(tmp_path) -> None:
    ds = load("color3d_jpeg_baseline.dcm")  # 120-frame YBR_FULL_422 ultrasound from pydicom-data
    report = redact_dataset(ds, [PixelEdit(Rect(0, 0, 100, 40))])
    assert report.method == "dct" and report.frames == 120
    out = roundtrip(ds)
    arr = out.pixel_array
    assert arr.shape[0] == 120
    assert np.all(arr[:, :40, :100] <= 2)


def test_jpeg_lossless_sv1_stays_sv1() -> None:
    ds = load("JPEG-LL.dcm")
    before = raw_pixels(ds)
    report = redact_dataset(ds, [PixelEdit(RECT)])
    out = roundtrip(ds)
    assert report.method == "reencode"
    assert out.file_meta.TransferSyntaxUID == U.JPEGLosslessSV1
    after = raw_pixels(out)
    assert np.all(after[:, RECT.top:RECT.bottom, RECT.left:RECT.right] == -32768)
    assert _outside_equal(before, after, RECT)


def test_undecodable_syntax_is_refused() -> None:
    ds = load("MR_small.dcm")
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2: not decodable here
    with pytest.raises(RedactionError, match="cannot be redacted"):
        redact_dataset(ds, [PixelEdit(RECT)])


def test_corrupt_codestream_is_refused_and_dataset_untouched() -> None:
    ds = load("MR_small_RLE.dcm")
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    from pydicom.encaps import encapsulate
    ds.PixelData = encapsulate([frame[:40]])
    original = ds.PixelData
    with pytest.raises(RedactionError):
        redact_dataset(ds, [PixelEdit(RECT)])
    assert ds.PixelData == original and "BurnedInAnnotation" not in ds


def test_jpeg_baseline_falls_back_to_lossless_when_dct_path_cannot_read_the_frame() -> None:
    """A progressive stream (jpeglib refuses it here) is decoded and written losslessly instead."""
    import io

    from PIL import Image
    from pydicom.encaps import encapsulate

    ds = load("SC_rgb_jpeg_dcmtk.dcm")
    rgb = ds.pixel_array
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", progressive=True, quality=90)
    ds.PixelData = encapsulate([buf.getvalue()])
    ds.PhotometricInterpretation = "YBR_FULL"
    report = redact_dataset(ds, [PixelEdit(RECT)])
    out = roundtrip(ds)
    assert report.method == "lossy-to-lossless" and report.notes
    assert out.file_meta.TransferSyntaxUID == U.ExplicitVRLittleEndian and out.LossyImageCompression == "01"
    assert np.all(raw_pixels(out)[:, RECT.top:RECT.bottom, RECT.left:RECT.right] == (0, 128, 128))


@pytest.mark.parametrize("name", ["emri_small_RLE.dcm", "emri_small_jpeg_ls_lossless.dcm", "SC_rgb_jls_lossy_line.dcm"])
def test_encapsulated_frames_beyond_number_of_frames_are_redacted_not_dropped(name: str) -> None:
    ds = load(name)
    frames = int(ds.get("NumberOfFrames") or 1)
    pieces = list(generate_frames(ds.PixelData, number_of_frames=frames))
    from pydicom.encaps import encapsulate
    ds.PixelData = encapsulate(pieces + [pieces[-1]], has_bot=True)  # one frame more than declared
    report = redact_dataset(ds, [PixelEdit(RECT)])
    assert report.frames == frames + 1
    out = roundtrip(ds)
    out.NumberOfFrames = frames + 1  # look at the data beyond the declared frames too
    arr = raw_pixels(out)
    assert arr.shape[0] == frames + 1
    boxes = arr[:, RECT.top:RECT.bottom, RECT.left:RECT.right]
    assert np.all(boxes == boxes.reshape(-1)[0]) if arr.ndim == 3 else np.all(boxes == boxes[0, 0, 0])
