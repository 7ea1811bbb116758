"""Native syntaxes: every image model, box filled with the right "black", everything else untouched."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from desktop_client.core.geometry import BLACK, Fill, PixelEdit, Rect
from desktop_client.pixels import RedactionError, redact_dataset
from tests.pixels.helpers import load, raw_pixels, roundtrip, synthetic

BOX = Rect(3, 5, 21, 17)


def _check(before: np.ndarray, after: np.ndarray, rect: Rect, fill: object) -> None:
    mask = np.zeros(before.shape[1:3], dtype=bool)
    mask[rect.top:rect.bottom, rect.left:rect.right] = True
    assert np.all(after[:, mask] == np.asarray(fill)), "box not filled"
    assert np.array_equal(after[:, ~mask], before[:, ~mask]), "pixels outside the box changed"


@pytest.mark.parametrize("kwargs, fill", [
    (dict(bits_allocated=8), 0),
    (dict(bits_allocated=16, bits_stored=12), 0),
    (dict(bits_allocated=16, bits_stored=12, signed=True), -2048),
    (dict(bits_allocated=32, signed=True), -(1 << 31)),
    (dict(bits_allocated=32), 0),
    (dict(bits_allocated=16, photometric="MONOCHROME1"), 65535),
    (dict(bits_allocated=16, bits_stored=10, signed=True, photometric="MONOCHROME1"), 511),
    (dict(bits_allocated=8, samples=3, photometric="RGB"), (0, 0, 0)),
    (dict(bits_allocated=8, samples=3, photometric="RGB", planar=1), (0, 0, 0)),
    (dict(bits_allocated=16, samples=3, photometric="RGB", planar=1), (0, 0, 0)),
    (dict(bits_allocated=8, samples=3, photometric="YBR_FULL"), (0, 128, 128)),
    (dict(bits_allocated=1), 0),
    (dict(bits_allocated=1, photometric="MONOCHROME1"), 1),
    (dict(bits_allocated=16, frames=7), 0),
    (dict(bits_allocated=1, frames=3, rows=11, columns=13), 0),  # frames not byte-aligned
])
def test_synthetic_models(kwargs: dict, fill: object) -> None:
    ds = synthetic(**kwargs)
    before = raw_pixels(ds)
    rect = BOX.clipped(ds.Columns, ds.Rows)
    assert rect is not None
    report = redact_dataset(ds, [PixelEdit(BOX)])
    assert report.method == "native" and report.applied == [rect] and report.outside == []
    out = roundtrip(ds)
    _check(before, raw_pixels(out), rect, fill)
    assert out.BurnedInAnnotation == "NO"
    assert out.DeidentificationMethodCodeSequence[0].CodeValue == "113101"


def test_whole_word_filled_clears_high_bit_overlays() -> None:
    ds = synthetic(bits_allocated=16, bits_stored=12)
    words = np.frombuffer(ds.PixelData, "<u2").copy()
    words |= 0x8000  # an overlay plane embedded in bit 15
    ds.PixelData = words.tobytes()
    redact_dataset(ds, [PixelEdit(BOX)])
    out = np.frombuffer(ds.PixelData, "<u2").reshape(ds.Rows, ds.Columns)
    assert np.all(out[BOX.top:BOX.bottom, BOX.left:BOX.right] == 0)
    assert np.all(out[0, :] & 0x8000)


def test_pixel_padding_value_is_black_for_monochrome2() -> None:
    ds = synthetic(bits_allocated=16, signed=True)
    ds.PixelPaddingValue = -1000
    redact_dataset(ds, [PixelEdit(BOX)])
    assert np.all(raw_pixels(ds)[0, BOX.top:BOX.bottom, BOX.left:BOX.right] == -1000)


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian])
@pytest.mark.parametrize("signed,padding", [(True, -1000), (False, 5)])
def test_pixel_padding_value_read_from_a_file(tmp_path, syntax: str, signed: bool, padding: int) -> None:
    """Pixel Padding Value is "US or SS" by Pixel Representation; read raw from every encoding."""
    ds = synthetic(bits_allocated=16, bits_stored=12, signed=signed)
    ds.PixelPaddingValue = padding
    ds.SmallestImagePixelValue = padding + 7  # "US or SS" too: widened to the fill, read raw
    ds.file_meta.TransferSyntaxUID = syntax
    path = tmp_path / "padded.dcm"
    pydicom.dcmwrite(path, ds, implicit_vr=syntax == ImplicitVRLittleEndian,
                     little_endian=syntax != ExplicitVRBigEndian, enforce_file_format=True)
    read = pydicom.dcmread(path)
    redact_dataset(read, [PixelEdit(BOX)])
    out = roundtrip(read)
    assert np.all(raw_pixels(out)[0, BOX.top:BOX.bottom, BOX.left:BOX.right] == padding)
    assert out.SmallestImagePixelValue == padding


def test_script_fill_values_are_stored_values() -> None:
    grey = synthetic(bits_allocated=16)
    redact_dataset(grey, [PixelEdit(BOX, Fill.grey(100))])
    assert np.all(raw_pixels(grey)[0, BOX.top:BOX.bottom, BOX.left:BOX.right] == 100)
    colour = synthetic(bits_allocated=8, samples=3, photometric="RGB", planar=1)
    redact_dataset(colour, [PixelEdit(BOX, Fill.colour(10, 20, 30))])
    assert np.all(raw_pixels(colour)[0, BOX.top:BOX.bottom, BOX.left:BOX.right] == (10, 20, 30))


def test_edits_apply_in_script_order() -> None:
    ds = synthetic(bits_allocated=16)
    redact_dataset(ds, [PixelEdit(Rect(0, 0, 10, 10), Fill.grey(7)), PixelEdit(Rect(5, 5, 10, 10), Fill.grey(9))])
    px = raw_pixels(ds)[0]
    assert px[0, 0] == 7 and px[6, 6] == 9


def test_frames_beyond_number_of_frames_are_redacted() -> None:
    ds = synthetic(bits_allocated=16, frames=3)
    ds.NumberOfFrames = 2  # a third frame's worth of data follows
    redact_dataset(ds, [PixelEdit(BOX)])
    words = np.frombuffer(ds.PixelData, "<u2").reshape(3, ds.Rows, ds.Columns)
    assert np.all(words[:, BOX.top:BOX.bottom, BOX.left:BOX.right] == 0)


def test_clipping_and_outside_reporting() -> None:
    ds = synthetic(rows=20, columns=30)
    report = redact_dataset(ds, [PixelEdit(Rect(25, 15, 99, 99)), PixelEdit(Rect(100, 100, 120, 120))])
    assert report.applied == [Rect(25, 15, 30, 20)]
    assert report.outside == [Rect(100, 100, 120, 120)]
    assert np.all(raw_pixels(ds)[0, 15:, 25:] == 0)


def test_all_outside_changes_no_pixel() -> None:
    ds = synthetic()
    data = ds.PixelData
    report = redact_dataset(ds, [PixelEdit(Rect(100, 100, 120, 120))])
    assert report.method == "none" and ds.PixelData == data and "BurnedInAnnotation" not in ds


def test_truncated_pixel_data_is_refused_and_dataset_unchanged() -> None:
    ds = synthetic(frames=3)
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]
    with pytest.raises(RedactionError, match="frame"):
        redact_dataset(ds, [PixelEdit(BOX)])
    assert "BurnedInAnnotation" not in ds


def test_zero_padding_after_the_last_frame_is_kept_but_stray_data_is_refused() -> None:
    ds = load("MR_small_padded.dcm")  # 128 zero bytes after the frame
    redact_dataset(ds, [PixelEdit(BOX)])
    assert ds.PixelData.endswith(b"\x00" * 128)
    stray = load("MR_small_padded.dcm")
    stray.PixelData = stray.PixelData[:-128] + b"\x01" * 128
    with pytest.raises(RedactionError, match="trailing"):
        redact_dataset(stray, [PixelEdit(BOX)])


def test_non_rectangle_shape_is_refused() -> None:
    with pytest.raises(RedactionError, match="rectangle"):
        redact_dataset(synthetic(), [PixelEdit(BOX, BLACK, shape="ellipse")])


@pytest.mark.parametrize("name, twin", [
    ("MR_small_bigendian.dcm", "MR_small.dcm"), ("ExplVR_BigEnd.dcm", None), ("liver_expb.dcm", "liver.dcm"),
    ("gdcm-US-ALOKA-16_big.dcm", "gdcm-US-ALOKA-16.dcm"), ("OBXXXX1A_expb_2frame.dcm", "OBXXXX1A_2frame.dcm"),
    ("rtdose_expb.dcm", "rtdose.dcm")])
def test_big_endian_is_written_little_endian(name: str, twin: str | None) -> None:
    """Output is Explicit VR Little Endian and matches the little-endian twin file outside the box
    (pixels and palette words; pydicom itself misreads Big Endian palette LUT words)."""
    ds = load(name)
    reference = load(twin) if twin else ds
    before = raw_pixels(reference)
    rect = Rect(2, 3, 9, 8)
    redact_dataset(ds, [PixelEdit(rect)])
    out = roundtrip(ds)
    assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian != ExplicitVRBigEndian
    after = raw_pixels(out)
    mask = np.zeros(before.shape[1:3], dtype=bool)
    mask[rect.top:rect.bottom, rect.left:rect.right] = True
    assert np.array_equal(after[:, ~mask], before[:, ~mask])
    if twin and ds.PhotometricInterpretation == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut
        index = np.arange(256, dtype=before.dtype)
        assert np.array_equal(apply_color_lut(index, out), apply_color_lut(index, reference))


def test_ybr_full_422_native_paints_whole_pixel_pairs() -> None:
    ds = load("SC_ybr_full_422_uncompressed.dcm")
    before = raw_pixels(ds)
    report = redact_dataset(ds, [PixelEdit(Rect(3, 4, 10, 9))])
    after = raw_pixels(roundtrip(ds))
    assert report.applied == [Rect(2, 4, 10, 9)]  # widened to whole chroma pairs
    assert np.all(after[0, 4:9, 2:10] == (0, 128, 128))
    mask = np.zeros(before.shape[1:3], dtype=bool)
    mask[4:9, 2:10] = True
    assert np.array_equal(after[:, ~mask], before[:, ~mask])


def test_palette_colour_uses_darkest_entry() -> None:
    from pydicom.pixels import apply_color_lut
    ds = load("examples_palette.dcm")
    redact_dataset(ds, [PixelEdit(BOX)])
    px = raw_pixels(ds)[0]
    index = int(px[BOX.top, BOX.left])
    rgb = apply_color_lut(np.arange(256, dtype=np.uint8), ds).astype(float)
    lum = rgb @ [0.299, 0.587, 0.114]
    assert lum[index] == lum.min()


def test_monochrome1_cr_box_is_white_value() -> None:
    ds = load("RG1_UNCI.dcm")  # MONOCHROME1, Bits Stored 15: black is the highest value
    redact_dataset(ds, [PixelEdit(Rect(0, 0, 300, 60))])
    assert np.all(raw_pixels(ds)[0, :60, :300] == (1 << 15) - 1)


def test_deflated_keeps_its_syntax() -> None:
    ds = load("image_dfl.dcm")
    before = raw_pixels(ds)
    redact_dataset(ds, [PixelEdit(BOX)])
    out = roundtrip(ds)
    assert out.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1.99"
    _check(before, raw_pixels(out), BOX, 0)


def test_planar_rgb_ultrasound_from_deid_data() -> None:
    ds = load("deid:ultrasounds/ultrasound-multiframe.dcm")  # RGB, Planar Configuration 1, 30 frames
    before = raw_pixels(ds)
    rect = Rect(100, 20, 400, 70)
    redact_dataset(ds, [PixelEdit(rect)])
    out = roundtrip(ds)
    assert out.PlanarConfiguration == 1
    _check(before, raw_pixels(out), rect, (0, 0, 0))



@pytest.mark.parametrize("name", ["MR_small_bigendian.dcm", "ExplVR_BigEnd.dcm", "liver_expb.dcm",
                                  "gdcm-US-ALOKA-16_big.dcm", "OBXXXX1A_expb_2frame.dcm", "rtdose_expb.dcm"])
def test_big_endian_header_survives_element_by_element(name: str) -> None:
    """Raw elements are byte-swapped without pydicom's conversion: every value must read back as
    pydicom reads it from the Big Endian file (byte-string words swapped), at every depth."""
    from pydicom.dataset import Dataset

    def values(ds: Dataset, path: str = "") -> dict[str, object]:
        out: dict[str, object] = {}
        for elem in ds:
            if elem.tag in (0x7FE00010, 0x00280301, 0x00120064, 0x00280106, 0x00280107) \
                    or elem.tag.group == 0x0002 or elem.tag.element == 0:
                continue  # what redaction changes on purpose; group lengths are never written
            key = f"{path}{elem.tag}{elem.VR}"
            if elem.VR == "SQ":
                for i, item in enumerate(elem.value):
                    out.update(values(item, f"{key}[{i}]/"))
            elif elem.VR in ("OW", "OF", "OL", "OD", "OV") and isinstance(elem.value, bytes):
                out[key] = ("swapped", elem.value)
            else:
                out[key] = elem.value
        return out

    reference = load(name)
    expected = values(reference)
    for key, value in expected.items():  # what Little Endian output must hold for byte strings
        if isinstance(value, tuple):
            vr = key[-2:]
            size = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}[vr]
            data = value[1]
            expected[key] = np.frombuffer(data[:len(data) - len(data) % size], f">u{size}") \
                .astype(f"<u{size}").tobytes() + data[len(data) - len(data) % size:]
    ds = load(name)
    redact_dataset(ds, [PixelEdit(Rect(0, 0, 2, 2))])
    got = values(roundtrip(ds))
    got = {k: (v[1] if isinstance(v, tuple) else v) for k, v in got.items()}
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == expected[key], key


@pytest.mark.parametrize("bits,frames", [(8, 2), (16, 3), (32, 1)])
def test_band_painting_equals_full_painting(bits: int, frames: int) -> None:
    """The one-copy band painter writes exactly what painting a full copy writes, frame by frame."""
    from desktop_client.pixels import native
    from desktop_client.pixels.imagemodel import ImageModel

    ds = synthetic(rows=30, columns=20, bits_allocated=bits, frames=frames)
    model = ImageModel.from_dataset(ds)
    boxes = [(Rect(2, 3, 9, 7), (1,)), (Rect(5, 20, 20, 26), (2,)), (Rect(0, 5, 4, 22), (3,))]  # gap, overlap
    data = bytes(ds.PixelData) + b"\x00\x00"  # trailing padding is carried over
    full = bytearray(data)
    expected_regions = native.paint(full, model, boxes, frames)
    new, regions, band = native.painted_copy(data, model, boxes, frames)
    assert isinstance(new, bytes) and new == bytes(full)
    assert regions == expected_regions and band == (3, 26)
