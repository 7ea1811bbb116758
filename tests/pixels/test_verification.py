"""Verification is real: a fault injected into any step makes the engine refuse, leaving ds unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from desktop_client.core.geometry import PixelEdit, Rect
from desktop_client.pixels import RedactionError, codecs, dct, native, redact_dataset
from tests.pixels.helpers import load, synthetic

RECT = Rect(4, 4, 40, 20)


def _unchanged(ds_before: bytes, ds) -> None:
    assert ds.PixelData == ds_before and "BurnedInAnnotation" not in ds


def test_native_paint_missing_a_pixel_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = native.paint

    def sloppy(buf, model, boxes, count):
        painted = real(buf, model, boxes, count)
        view = native.frames_view(buf, model, count)
        rect = boxes[0][0]  # in the coordinates of the buffer being painted (maybe a band of rows)
        view[0, rect.bottom - 1, rect.right - 1] = 123  # one pixel left unredacted
        return painted

    monkeypatch.setattr(native, "paint", sloppy)
    ds = synthetic(bits_allocated=16)
    before = ds.PixelData
    with pytest.raises(RedactionError, match="not filled"):
        redact_dataset(ds, [PixelEdit(RECT)])
    _unchanged(before, ds)


def test_native_paint_touching_outside_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = native.paint

    def spill(buf, model, boxes, count):
        painted = real(buf, model, boxes, count)
        native.frames_view(buf, model, count)[0, 0, RECT.bottom, RECT.left] ^= 1  # planar: (F, 3, R, C)
        return painted

    monkeypatch.setattr(native, "paint", spill)
    ds = synthetic(bits_allocated=8, samples=3, photometric="RGB", planar=1)
    with pytest.raises(RedactionError, match="outside"):
        redact_dataset(ds, [PixelEdit(RECT)])


def test_encoder_writing_the_unredacted_frame_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    ds = load("MR_small_RLE.dcm")
    original = ds.PixelData
    real = codecs.encoder_for

    def leaky(ts):
        encode = real(ts)

        def inner(arr, model):
            decoded = next(codecs.decode_frames(load("MR_small_RLE.dcm"), ts, model, 1).frames)
            return encode(np.asarray(decoded), model)  # the original pixels, not the edited ones
        return inner

    monkeypatch.setattr("desktop_client.pixels.engine.encoder_for", leaky)
    monkeypatch.setattr("desktop_client.pixels.isolation._IN_HELPER", True)  # the patch is in this process
    with pytest.raises(RedactionError, match="not filled"):
        redact_dataset(ds, [PixelEdit(RECT)])
    _unchanged(original, ds)


def test_dct_block_not_flattened_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dct, "_dc_for", lambda value, q: 0)  # mid-grey instead of black
    monkeypatch.setattr("desktop_client.pixels.isolation._IN_HELPER", True)  # the patch is in this process
    ds = load("examples_ybr_color.dcm")
    original = ds.PixelData
    with pytest.raises(RedactionError):
        redact_dataset(ds, [PixelEdit(RECT)])
    _unchanged(original, ds)


@pytest.mark.parametrize("bits", [8, 16, 32])
def test_single_sample_spill_outside_is_caught(monkeypatch: pytest.MonkeyPatch, bits: int) -> None:
    """The plain reading of single-sample words (the CT/MR path) still catches a stray write."""
    real = native.paint

    def spill(buf, model, boxes, count):
        painted = real(buf, model, boxes, count)
        rect = boxes[0][0]
        native.frames_view(buf, model, count)[0, rect.top, rect.right] ^= 1  # beside the box
        return painted

    monkeypatch.setattr(native, "paint", spill)
    ds = synthetic(bits_allocated=bits)
    before = ds.PixelData
    with pytest.raises(RedactionError, match="outside"):
        redact_dataset(ds, [PixelEdit(RECT)])
    _unchanged(before, ds)


def test_high_bits_left_set_under_the_box_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole stored words are compared: a fill that leaves an overlay bit (bit 15) is refused."""
    real = native.paint

    def keep_overlay(buf, model, boxes, count):
        painted = real(buf, model, boxes, count)
        rect = boxes[0][0]
        native.frames_view(buf, model, count)[0, rect.top, rect.left] |= 0x8000
        return painted

    monkeypatch.setattr(native, "paint", keep_overlay)
    ds = synthetic(bits_allocated=16, bits_stored=12)
    with pytest.raises(RedactionError, match="not filled"):
        redact_dataset(ds, [PixelEdit(RECT)])


def test_big_endian_swap_error_is_caught(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """The Big Endian input is read in its own byte order, so a wrong swap cannot pass."""
    import pydicom
    from pydicom.uid import ExplicitVRBigEndian

    monkeypatch.setattr(native, "swap_words", lambda data, size: data)  # forgot to swap
    ds = synthetic(bits_allocated=16)
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    path = tmp_path / "big.dcm"
    pydicom.dcmwrite(path, ds, implicit_vr=False, little_endian=False, enforce_file_format=True)
    read = pydicom.dcmread(path)
    with pytest.raises(RedactionError, match="outside"):
        redact_dataset(read, [PixelEdit(RECT)])


def test_encapsulation_check_catches_a_wrong_or_missing_fragment() -> None:
    from pydicom.encaps import encapsulate

    from desktop_client.pixels.outcome import check_encapsulation

    frames = [b"\xff\xd8frame-one\xff\xd9", b"\xff\xd8frame-2\xff\xd9"]  # odd length: padded
    check_encapsulation(encapsulate(frames, has_bot=True), frames)
    with pytest.raises(RedactionError, match="do not match"):
        check_encapsulation(encapsulate([frames[0], b"\xff\xd8other!\xff\xd9"], has_bot=True), frames)
    with pytest.raises(RedactionError, match="do not match"):
        check_encapsulation(encapsulate(frames[:1], has_bot=True), frames)


@pytest.mark.parametrize("sizes", [[1], [2, 3], [1000, 1, 17, 4096], list(range(1, 60))])
def test_encapsulation_is_byte_identical_to_pydicom(sizes: list[int]) -> None:
    import os

    from pydicom.encaps import encapsulate

    from desktop_client.pixels.codecs import encapsulate_frames

    frames = [os.urandom(n) for n in sizes]
    assert encapsulate_frames(frames) == encapsulate(frames, fragments_per_frame=1, has_bot=True)


@pytest.mark.parametrize("where", ["before the band", "after the band", "next frame", "trailing"])
def test_a_change_outside_the_painted_band_is_caught(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """Only the band of rows under the boxes is copied and painted; every other byte is compared."""
    real = native.painted_copy
    rows, columns, size = 40, 48, 2

    def corrupt(data, model, boxes, count):
        new, regions, band = real(data, model, boxes, count)
        frame = rows * columns * size
        index = {"before the band": 2 * columns * size, "after the band": (RECT.bottom + 3) * columns * size,
                 "next frame": frame + 5, "trailing": len(new) - 1}[where]
        flipped = bytearray(new)
        flipped[index] ^= 0x01
        return bytes(flipped), regions, band

    monkeypatch.setattr(native, "painted_copy", corrupt)
    ds = synthetic(rows=rows, columns=columns, frames=2, bits_allocated=8 * size)
    if where == "trailing":
        ds.PixelData = ds.PixelData + b"\x00\x00"  # zero padding after the last frame is kept
    before = ds.PixelData
    with pytest.raises(RedactionError, match="changed"):
        redact_dataset(ds, [PixelEdit(RECT)])
    _unchanged(before, ds)
