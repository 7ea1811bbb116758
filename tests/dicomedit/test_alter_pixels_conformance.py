"""``alterPixels`` per photometric interpretation and bit depth, byte for byte against XNAT.

The oracle below is written from the reference handler's description (dicomedit.md §9.7 and
pixel-redaction.md): the rectangle is clipped to the image, every frame's lines inside it get
the fill written as stored samples — one pixel at a time, one plane's sample per plane for
colour-by-plane, and whole ``Y Y Cb Cr`` pairs for the 4:2:2 layouts, the box rounded out to
whole pairs. ``v=N`` is Color(N, N, N), so one-sample images get the red component; YBR layouts
get the colour converted with the toolkit's RGB→YBR matrices in single precision. The engine's
output Pixel Data must equal the oracle's bytes exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from desktop_client.dicomedit import compile_script
from desktop_client.pixels import redact_dataset
from desktop_client.core.geometry import PixelEdit, Rect
from tests.dicomedit.helpers import conforms, de6
from tests.dicomfactory import image as synthetic_image

FULL = (0.2990, 0.5870, 0.1140, 0.0, -0.1687, -0.3313, 0.5, 0.5, 0.5, -0.4187, -0.0813, 0.5)
PARTIAL = (0.2568, 0.5041, 0.0979, 0.0625, -0.1482, -0.2910, 0.4392, 0.5,
           0.4392, -0.3678, -0.0714, 0.5)


def oracle_fill(pi: str, samples: int, rgb: tuple[int, int, int]) -> list[int]:
    if samples != 3:
        return [rgb[0]] * samples
    if not pi.startswith("YBR"):
        return list(rgb)
    a = PARTIAL if pi.startswith("YBR_PARTIAL") else FULL
    x = [float(np.float32(c) / np.float32(255)) for c in rgb]
    out = []
    for k in (0, 4, 8):
        v = np.float32(max(0.0, min(1.0, a[k] * x[0] + a[k + 1] * x[1] + a[k + 2] * x[2] + a[k + 3])))
        out.append(min(255, max(0, math.floor(float(v * np.float32(255)) + 0.5))))
    return out


def oracle(raw: bytes, *, rows: int, cols: int, samples: int, bits: int, planar: int, pi: str,
           rect: tuple[int, int, int, int], rgb: tuple[int, int, int]) -> bytes:
    """The reference line redactor, transcribed from its description (see module doc)."""
    l, t, r, b = rect  # x from l, width |r - l| (a reversed box extends right of l), clipped
    x0, x1 = max(0, l), min(cols, l + abs(r - l))
    y0, y1 = max(0, t), min(rows, t + abs(b - t))
    fill = oracle_fill(pi, samples, rgb)
    bps = bits // 8
    out = bytearray(raw)
    if pi in ("YBR_FULL_422", "YBR_PARTIAL_422"):
        line, lines, group = -(-cols // 2) * 4, rows, bytes([fill[0], fill[0], fill[1], fill[2]])
        first, count = x0 // 2, -(-x1 // 2) - x0 // 2
        units = [(first * 4, group * count)]
        plane_of = lambda index: 0  # noqa: E731
    elif planar == 0:
        pixel = b"".join(int(v).to_bytes(bps, "little", signed=False) for v in fill)
        line, lines = cols * samples * bps, rows
        units = [(x0 * len(pixel), pixel * (x1 - x0))]
        plane_of = lambda index: 0  # noqa: E731
    else:
        line, lines = cols * bps, rows * samples
        units = [(x0 * bps, int(fill[p]).to_bytes(bps, "little") * (x1 - x0)) for p in range(samples)]
        plane_of = lambda index: index // rows  # noqa: E731
    frame = line * lines
    for f in range(len(raw) // frame):
        for index in range(lines):
            y = index % rows
            if y0 <= y < y1 and x1 > x0:
                offset, run = units[plane_of(index)]
                start = f * frame + index * line + offset
                out[start:start + len(run)] = run
    return bytes(out)


def image(pi: str, bits: int, *, rows: int = 6, cols: int = 10, planar: int = 0, frames: int = 2,
          signed: bool = False) -> Dataset:
    """A native Explicit VR Little Endian image with varied bytes clear of every fill used."""
    samples = 3 if pi in ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_PARTIAL_422") else 1
    per_frame = (rows * ((cols + 1) // 2) * 4 if pi.endswith("_422") else rows * cols * samples * bits // 8)
    raw = bytes(0x10 + i % 0x40 for i in range(per_frame * frames))
    extra: dict[str, object] = {"NumberOfFrames": frames}
    if pi == "PALETTE COLOR":
        ramp = bytes(range(256))
        extra.update(RedPaletteColorLookupTableDescriptor=[256, 0, 8],
                     GreenPaletteColorLookupTableDescriptor=[256, 0, 8],
                     BluePaletteColorLookupTableDescriptor=[256, 0, 8], RedPaletteColorLookupTableData=ramp,
                     GreenPaletteColorLookupTableData=ramp[::-1], BluePaletteColorLookupTableData=ramp)
    return synthetic_image(modality="OT", sop_uid=generate_uid(), rows=rows, columns=cols, frames=frames,
                           bits_allocated=bits, bits_stored=bits, signed=signed, photometric=pi, planar=planar,
                           pixel_bytes=raw, extra=extra)


def redact_with_script(ds: Dataset, rect: tuple[int, int, int, int], fill: str) -> bytes:
    l, t, r, b = rect
    script = compile_script(de6(f'alterPixels["rectangle", "l={l}, t={t}, r={r}, b={b}", "solid", "{fill}"]'))
    outcome = script.apply(ds)
    assert outcome.ok, outcome.error
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    return bytes(ds.PixelData)


def check(pi: str, bits: int, rect: tuple[int, int, int, int], fill: str,
          rgb: tuple[int, int, int], **kw: object) -> None:
    ds = image(pi, bits, **kw)  # type: ignore[arg-type]
    expected = oracle(bytes(ds.PixelData), rows=ds.Rows, cols=ds.Columns, samples=ds.SamplesPerPixel,
                      bits=bits, planar=int(ds.get("PlanarConfiguration", 0)), pi=pi, rect=rect, rgb=rgb)
    got = redact_with_script(ds, rect, fill)
    assert expected != bytes(image(pi, bits, **kw).PixelData), "the oracle must change something"  # type: ignore[arg-type]
    assert got == expected


@conforms("px.monochrome2-8", "fn.alterPixels")
@pytest.mark.parametrize("rect", [(2, 1, 7, 4), (7, 4, 2, 1), (-3, -2, 4, 3), (8, 5, 40, 40)])
def test_monochrome2_8(rect: tuple[int, int, int, int]) -> None:
    check("MONOCHROME2", 8, rect, "v=200", (200, 200, 200))


@conforms("px.monochrome2-16")
@pytest.mark.parametrize("signed", [False, True])
def test_monochrome2_16(signed: bool) -> None:
    check("MONOCHROME2", 16, (1, 2, 9, 5), "v=100", (100, 100, 100), signed=signed)


@conforms("px.monochrome2-32")
def test_monochrome2_32() -> None:
    check("MONOCHROME2", 32, (0, 0, 3, 3), "v=7", (7, 7, 7))


@conforms("px.monochrome1-16")
def test_monochrome1_16_writes_the_stored_value_asked_for() -> None:
    check("MONOCHROME1", 16, (3, 0, 6, 6), "value=0", (0, 0, 0))


@conforms("px.palette-8")
def test_palette_colour_v_is_an_index() -> None:
    check("PALETTE COLOR", 8, (0, 2, 10, 3), "v=5", (5, 5, 5))


@conforms("px.colour-on-grey")
def test_colour_fill_on_grey_writes_red() -> None:
    check("MONOCHROME2", 8, (1, 1, 4, 4), "r=200, g=10, b=30", (200, 10, 30))


@conforms("px.rgb-8")
@pytest.mark.parametrize("planar", [0, 1])
def test_rgb(planar: int) -> None:
    check("RGB", 8, (2, 1, 5, 5), "r=255, g=7, b=9", (255, 7, 9), planar=planar)


@conforms("px.ybr-full-8")
@pytest.mark.parametrize("fill, rgb", [("v=0", (0, 0, 0)), ("r=255, g=0, b=0", (255, 0, 0)),
                                       ("v=100", (100, 100, 100))])
def test_ybr_full(fill: str, rgb: tuple[int, int, int]) -> None:
    check("YBR_FULL", 8, (1, 1, 6, 4), fill, rgb)


@conforms("px.ybr-full-422-8")
@pytest.mark.parametrize("pi", ["YBR_FULL_422", "YBR_PARTIAL_422"])
@pytest.mark.parametrize("rect", [(3, 1, 8, 4), (2, 0, 4, 6), (1, 2, 2, 3), (9, 0, 10, 6), (5, 1, 5, 4)])
@pytest.mark.parametrize("fill, rgb", [("v=0", (0, 0, 0)), ("r=10, g=200, b=90", (10, 200, 90))])
def test_ybr_422_widens_to_whole_chroma_pairs(pi: str, rect: tuple[int, int, int, int], fill: str,
                                              rgb: tuple[int, int, int]) -> None:
    if rect[0] == rect[2]:  # an empty box changes nothing, in XNAT and here
        ds = image(pi, 8)
        before = bytes(ds.PixelData)
        assert redact_with_script(ds, rect, fill) == before
        return
    check(pi, 8, rect, fill, rgb)


@conforms("px.ybr-full-422-8")
def test_ybr_422_reports_the_widened_box_that_was_painted() -> None:
    """The report the preview, the CLI and the upload pipeline read names the painted pixels:
    the box (3..8) rounded out to whole pairs is 2..8, one column left of the request."""
    ds = image("YBR_FULL_422", 8)
    report = redact_dataset(ds, [PixelEdit(Rect(3, 1, 8, 4))])
    assert report.applied == [Rect(2, 1, 8, 4)]
    ds = image("RGB", 8)
    assert redact_dataset(ds, [PixelEdit(Rect(3, 1, 8, 4))]).applied == [Rect(3, 1, 8, 4)]


@conforms("px.outside")
def test_box_outside_the_image_changes_nothing() -> None:
    ds = image("MONOCHROME2", 8)
    before = bytes(ds.PixelData)
    assert redact_with_script(ds, (20, 20, 30, 30), "v=1") == before


@conforms("px.bits-12", "err.alter-pixels")
def test_bits_allocated_12_is_refused_in_xnat_words() -> None:
    ds = image("MONOCHROME2", 16)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 12, 12, 11
    before = bytes(ds.PixelData)
    outcome = compile_script(de6('alterPixels["rectangle", "l=0, t=0, r=2, b=2", "solid", "v=0"]')).apply(ds)
    assert outcome.status == "error"
    assert outcome.error == ("line 2, column 1: alterPixels: pixel redaction failed: "
                             "BitsAllocated of 12 is not byte-aligned, cannot alter pixels.")
    assert bytes(ds.PixelData) == before


@conforms("px.ybr-one-sample", "err.alter-pixels")
def test_ybr_422_with_one_sample_is_refused_in_xnat_words() -> None:
    ds = image("MONOCHROME2", 8)
    ds.PhotometricInterpretation = "YBR_FULL_422"
    outcome = compile_script(de6('', 'alterPixels["rectangle", "l=0, t=0, r=2, b=2", "solid", "v=0"]')).apply(ds)
    assert outcome.status == "error"
    assert outcome.error.startswith("line 3, column 1: alterPixels: pixel redaction failed: ")
    assert outcome.error.endswith("PhotometricInterpretation of YBR_FULL_422 with SamplesPerPixel of 1 "
                                  "is not a layout this understands, cannot alter pixels.")


@conforms("px.ybr-420", "err.alter-pixels")
def test_ybr_420_is_refused_in_xnat_words() -> None:
    ds = image("YBR_FULL", 8)
    ds.PhotometricInterpretation = "YBR_PARTIAL_420"
    outcome = compile_script(de6('alterPixels["rectangle", "l=0, t=0, r=2, b=2", "solid", "v=0"]')).apply(ds)
    assert outcome.status == "error"
    assert "shares chroma samples between rows" in outcome.error
    assert outcome.error.endswith("so a rectangle is not a range of bytes, cannot alter pixels.")


@conforms("px.ybr-422-odd-columns")
@pytest.mark.parametrize("rect", [(3, 1, 9, 4), (8, 0, 9, 6), (0, 0, 3, 2), (5, 2, 20, 3)])
def test_ybr_422_with_odd_columns_writes_the_padded_pair(rect: tuple[int, int, int, int]) -> None:
    check("YBR_FULL_422", 8, rect, "r=10, g=200, b=90", (10, 200, 90), cols=9)


@conforms("px.bits-1")
def test_one_bit_images_are_redacted_where_xnat_refuses() -> None:
    ds = image("MONOCHROME2", 8, rows=8, cols=16, frames=1)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, 1, 0
    ds.PixelData = b"\xff" * (8 * 16 // 8)
    outcome = compile_script(de6('alterPixels["rectangle", "l=0, t=0, r=8, b=2", "solid", "v=0"]')).apply(ds)
    assert outcome.ok, outcome.error
    bits = np.unpackbits(np.frombuffer(ds.PixelData, np.uint8), bitorder="little").reshape(8, 16)
    assert not bits[:2, :8].any() and bits[2:, :].all() and bits[:2, 8:].all()


@conforms("px.truncated")
def test_frames_shorter_than_declared_are_refused_not_partially_redacted() -> None:
    ds = image("MONOCHROME2", 16, frames=3)
    ds.PixelData = bytes(ds.PixelData)[: 6 * 10 * 2 * 2 + 40]  # two frames and part of a third
    before = bytes(ds.PixelData)
    outcome = compile_script(de6('alterPixels["rectangle", "l=0, t=0, r=2, b=2", "solid", "v=0"]')).apply(ds)
    assert outcome.status == "error" and "frame" in outcome.error
    assert bytes(ds.PixelData) == before  # fail closed: nothing half-done, nothing sent


@conforms("px.black-fill")
def test_missing_fill_is_the_darkest_displayable_value() -> None:
    ds = image("MONOCHROME1", 16, frames=1)
    redact_with_script(ds, (0, 0, 2, 2), "")
    assert np.frombuffer(ds.PixelData, "<u2").reshape(6, 10)[0, 0] == 0xFFFF  # black on MONOCHROME1


@conforms("px.palette-rgb")
def test_palette_rgb_fill_picks_the_nearest_entry() -> None:
    ds = image("PALETTE COLOR", 8, frames=1)
    redact_with_script(ds, (0, 0, 2, 2), "r=255, g=0, b=255")
    # red ramp, green reversed, blue ramp: (255, 0, 255) is entry 255 (XNAT would write 255 too
    # only by coincidence of the red value; (0, 255, 0) below differs: entry 0, XNAT index 0).
    assert ds.PixelData[0] == 255
    ds = image("PALETTE COLOR", 8, frames=1)
    redact_with_script(ds, (0, 0, 2, 2), "r=10, g=245, b=10")
    assert ds.PixelData[0] == 10


@conforms("px.records")
def test_records_and_icon_removed() -> None:
    ds = image("MONOCHROME2", 8, frames=1)
    icon = Dataset()
    icon.Rows = 1
    from pydicom.sequence import Sequence
    ds.IconImageSequence = Sequence([icon])
    redact_with_script(ds, (0, 0, 2, 2), "v=0")
    assert "IconImageSequence" not in ds
    assert ds.BurnedInAnnotation == "NO"
