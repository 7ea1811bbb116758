"""The remaining pitfalls of pixel-redaction.md §3, one test each (the others live beside their path)."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom import uid as U
from pydicom.encaps import encapsulate, generate_frames, parse_basic_offsets

from desktop_client.core.geometry import PixelEdit, Rect
from desktop_client.pixels import RedactionError, redact_dataset
from tests.pixels.helpers import data_file, load, raw_pixels, roundtrip, synthetic

RECT = Rect(10, 20, 90, 44)


def _outside(before: np.ndarray, after: np.ndarray, rect: Rect) -> bool:
    mask = np.zeros(before.shape[1:3], dtype=bool)
    mask[rect.top:rect.bottom, rect.left:rect.right] = True
    return bool(np.array_equal(before[:, ~mask], after[:, ~mask]))


def _as(ts: str, name: str, frames: list[bytes], **attrs: object) -> pydicom.Dataset:
    ds = load(name)
    ds.PixelData = encapsulate(frames, has_bot=True)
    ds["PixelData"].VR, ds["PixelData"].is_undefined_length = "OB", True
    ds.file_meta.TransferSyntaxUID = ts
    for key, value in attrs.items():
        setattr(ds, key, value)
    return ds


@pytest.mark.parametrize("ts", [U.HTJ2KLossless, U.HTJ2KLosslessRPCL])
def test_htj2k_lossless_reencoded_in_same_syntax(ts: str) -> None:
    imagecodecs = pytest.importorskip("imagecodecs")
    reference = raw_pixels(load("693_UNCI.dcm"))  # signed 14-bit CT
    ds = _as(ts, "693_UNCI.dcm", [imagecodecs.htj2k_encode(reference[0], reversible=True)])
    report = redact_dataset(ds, [PixelEdit(RECT)])
    out = roundtrip(ds)
    assert report.method == "reencode" and out.file_meta.TransferSyntaxUID == ts
    after = raw_pixels(out)
    assert np.all(after[:, RECT.top:RECT.bottom, RECT.left:RECT.right] == -2000)  # Pixel Padding Value
    assert _outside(reference, after, RECT)


def test_htj2k_colour_keeps_reversible_colour_transform() -> None:
    imagecodecs = pytest.importorskip("imagecodecs")
    reference = raw_pixels(load("US1_UNCR.dcm"))
    ds = _as(U.HTJ2KLossless, "US1_UNCR.dcm", [imagecodecs.htj2k_encode(reference[0], reversible=True, rgb=True)],
             PhotometricInterpretation="YBR_RCT")
    redact_dataset(ds, [PixelEdit(RECT)])
    out = roundtrip(ds)
    assert out.PhotometricInterpretation == "YBR_RCT"
    after = raw_pixels(out)
    assert np.all(after[:, RECT.top:RECT.bottom, RECT.left:RECT.right] == 0)
    assert _outside(reference, after, RECT)


def test_jpeg_lossless_sv1_output_really_is_selection_value_1() -> None:
    """imagecodecs writes predictor 6, valid for .57 only; .70 output must use predictor 1."""
    ds = load("JPEG-LL.dcm")
    redact_dataset(ds, [PixelEdit(RECT)])
    out = roundtrip(ds)
    frame = next(generate_frames(out.PixelData, number_of_frames=1))
    sos = frame.index(b"\xff\xda")
    length = int.from_bytes(frame[sos + 2:sos + 4], "big")
    assert frame[sos + 2 + length - 3] == 1  # Ss = predictor selection value
    assert parse_basic_offsets(out.PixelData) == [0]


def test_signed_j2k_with_pixel_representation_mismatch() -> None:
    """The codestream's sign disagrees with Pixel Representation (pydicom#1149): output follows the header."""
    ds = load("J2K_pixelrep_mismatch.dcm")
    before = raw_pixels(ds)
    redact_dataset(ds, [PixelEdit(RECT)])
    after = raw_pixels(roundtrip(ds))
    box = after[:, RECT.top:RECT.bottom, RECT.left:RECT.right]
    assert np.all(box == box.reshape(-1)[0]) and box.reshape(-1)[0] <= before.min()
    assert _outside(before, after, RECT)


def test_signed_jpeg_ls_with_unused_high_bits() -> None:
    """JPEG-LS is sign-blind; signed 14-of-16-bit data must survive the re-encode (pydicom#2009)."""
    from pydicom.pixels import get_encoder

    reference = raw_pixels(load("693_UNCI.dcm"))
    template = load("693_UNCI.dcm")
    frame = get_encoder(U.JPEGLSLossless).encode(template, encoding_plugin="pyjpegls")
    ds = _as(U.JPEGLSLossless, "693_UNCI.dcm", [frame])
    redact_dataset(ds, [PixelEdit(RECT)])
    after = raw_pixels(roundtrip(ds))
    assert np.all(after[:, RECT.top:RECT.bottom, RECT.left:RECT.right] == -2000)
    assert _outside(reference, after, RECT)


def test_rectangle_convention_end_to_end_from_a_dicomedit_script() -> None:
    """alterPixels l=3,t=5,r=4,b=6 paints exactly the pixel x=3, y=5 (right/bottom exclusive)."""
    from desktop_client.dicomedit import compile_script

    script = compile_script('version "6.3"\nalterPixels["rectangle", "l=3, t=5, r=4, b=6", "solid", "v=7"]\n')
    ds = synthetic(rows=9, columns=12, bits_allocated=16, bits_stored=12)
    before = raw_pixels(ds).copy()
    outcome = script.apply(ds, variables={}, execute_pixels=False)
    redact_dataset(ds, outcome.pixel_edits)
    after = raw_pixels(ds)
    changed = np.argwhere(after[0] != before[0])
    assert after[0, 5, 3] == 7
    assert all(tuple(p) == (5, 3) for p in changed)  # nothing at x=4 or y=6


def test_multiframe_colour_shape_is_taken_from_the_header() -> None:
    """(frames, rows, cols, 3) is decided from Samples per Pixel / Number of Frames, not ndim."""
    ds = synthetic(rows=3, columns=40, frames=3, samples=3, photometric="RGB", planar=1, bits_allocated=16)
    before = raw_pixels(ds)
    redact_dataset(ds, [PixelEdit(Rect(0, 0, 40, 1))])
    after = raw_pixels(roundtrip(ds))
    assert after.shape == (3, 3, 40, 3)
    assert np.all(after[:, 0] == 0) and np.array_equal(after[:, 1:], before[:, 1:])


def test_objects_without_pixel_data_are_refused() -> None:
    with pytest.raises(RedactionError, match="no Pixel Data"):
        redact_dataset(pydicom.dcmread(data_file("rtplan.dcm")), [PixelEdit(RECT)])


def test_decision_is_by_transfer_syntax_not_byte_count() -> None:
    """RLE data that happens to be exactly Rows×Columns×2 bytes long is still decoded as RLE."""
    ds = load("MR_small_RLE.dcm")
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    native_size = ds.Rows * ds.Columns * 2
    padded = frame + b"\x00" * (native_size - len(frame) - 8 - 8)  # 8-byte item header + empty BOT item
    ds.PixelData = encapsulate([padded], has_bot=False)
    assert len(ds.PixelData) == native_size
    report = redact_dataset(ds, [PixelEdit(Rect(0, 0, 8, 8))])
    assert report.method == "reencode" and ds.file_meta.TransferSyntaxUID == U.RLELossless
