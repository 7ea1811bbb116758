"""The finder on synthetic images (sizes, contrasts, every image model), real files, text-free sets.

Real OCR (the packaged PP-OCRv4 models on onnxruntime) runs here; nothing is mocked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from desktop_client.core.geometry import Rect
from desktop_client.textfind import coverage, find_text
from desktop_client.textfind.find import plausible_size, readable

from .helpers import dataset, text_mask, textured

NAME = "DOE, JANE 1970-01-02"


def _covered(found, ink: Rect) -> bool:
    """Some suggested box covers the ink of the text (the union covers ≥ 90 % of it)."""
    return coverage(ink, [f.rect for f in found]) >= 0.9


@pytest.mark.parametrize("size", [9, 14, 30])
@pytest.mark.parametrize(("ink", "ground"), [(1.0, 0.0), (0.85, 0.35), (0.75, 0.45)],
                         ids=["white-on-black", "mid-contrast", "low-contrast"])
def test_text_sizes_and_contrasts_mono8(size: int, ink: float, ground: float) -> None:
    shape = (256, 320)
    mask, box = text_mask(shape, NAME, size, (12, 20))
    base = np.full(shape, ground, np.float32) + 0.15 * textured(shape)
    pixels = np.clip(base * (1 - mask) + ink * mask, 0, 1) * 255
    result = find_text(dataset(pixels), use_cache=False)
    assert not result.error
    assert _covered(result.found, box), [(str(f.rect), f.text) for f in result.found]
    hit = [f for f in result.found if coverage(f.text_rect, [box]) > 0.3]
    assert hit and all(f.likely_phi for f in hit)  # the patient's name and birth date
    for f in hit:  # padded: ~15 % of the text height, at least 2 px, inside the image
        assert f.rect.left <= f.text_rect.left - 2 or f.rect.left == 0
        assert f.rect.bottom >= f.text_rect.bottom + 2 or f.rect.bottom == shape[0]


def _mono16(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return np.clip(800 + 1500 * textured(shape) + 4095 * mask, 0, 4095)


def test_16_bit_text_at_the_top_of_the_stored_range_behind_a_narrow_window() -> None:
    """A soft-tissue window clips bone and text to the same white: the full-range view finds it."""
    shape = (256, 256)
    mask, box = text_mask(shape, NAME, 14, (10, 200))
    bone = np.zeros(shape, np.float32)
    bone[180:240, :] = 3000  # bright band behind the text, clipped white by the window
    pixels = np.clip(np.maximum(_mono16(np.zeros(shape), shape), bone) * (1 - mask) + 4095 * mask, 0, 4095)
    ds = dataset(pixels, bits=12, modality="CT", extra={"WindowCenter": 1000, "WindowWidth": 400})
    result = find_text(ds, use_cache=False)
    assert not result.error and _covered(result.found, box)


def test_full_range_view_only_where_clipped_pixels_can_hide_drawn_text() -> None:
    """Bone clipped by the window is anatomy (its values spread): no second look; text drawn at
    one value behind the same window is still looked for, and found."""
    from desktop_client.textfind.images import views

    shape = (256, 256)
    bone = np.zeros(shape, np.float32)
    ramp = np.linspace(2400, 3600, shape[1], dtype=np.float32)[np.newaxis, :]
    noise = np.random.default_rng(3).normal(0, 30, (100, shape[1])).astype(np.float32)
    bone[150:250, :] = ramp + noise  # clipped by the window, its values spread as anatomy's are
    window = {"WindowCenter": 1000, "WindowWidth": 400}
    plain = dataset(np.clip(np.maximum(_mono16(np.zeros(shape), shape), bone), 0, 4095), bits=12,
                    modality="CT", extra=window)
    assert [v.kind for v in views(plain, (0,), False)] == ["display"]
    mask, box = text_mask(shape, NAME, 14, (10, 200))
    text = dataset(np.clip(np.maximum(_mono16(np.zeros(shape), shape), bone) * (1 - mask) + 4095 * mask, 0, 4095),
                   bits=12, modality="CT", extra=window)
    assert [v.kind for v in views(text, (0,), False)] == ["display", "full-range"]
    result = find_text(text, use_cache=False)
    assert not result.error and _covered(result.found, box)


def test_clipped_pixels_with_fewer_values_than_the_neighbourhood_are_judged_not_refused() -> None:
    """A redacted CT whose window clips only a handful of stored values (fewer than the 17-value
    neighbourhood the overlay test compares with) is searched, not failed: the re-check of such
    uploads once refused every object ("operands could not be broadcast")."""
    from desktop_client.textfind.images import drawn_at_one_value

    crowd = np.array([4000] * 60 + list(range(3990, 4001)), dtype=np.uint16)  # 11 values
    assert drawn_at_one_value(crowd)
    assert not drawn_at_one_value(np.arange(3990, 4030, dtype=np.uint16).repeat(3))  # spread
    pixels = np.random.default_rng(1).integers(0, 2000, size=(256, 256)).astype(np.float32)
    pixels[0:40, 0:200] = 4000  # a bright block at one value, clipped by the window
    ct = dataset(pixels, bits=12, modality="CT", extra={"WindowCenter": 1000, "WindowWidth": 400})
    assert not find_text(ct, use_cache=False).error


def test_monochrome1_rgb_palette_and_cine() -> None:
    shape = (200, 300)
    mask, box = text_mask(shape, NAME, 16, (8, 8))
    grey = np.clip(0.2 + 0.3 * textured(shape) + 0.8 * mask, 0, 1)
    # MONOCHROME1: low stored values are white; the text is burned in dark stored values
    mono1 = dataset((1 - grey) * 255, photometric="MONOCHROME1")
    assert _covered(find_text(mono1, use_cache=False).found, box)
    # RGB: yellow text over a colour background
    rgb = np.stack([grey, grey, np.clip(0.2 + 0.3 * textured(shape) - 0.5 * mask, 0, 1)], axis=-1) * 255
    assert _covered(find_text(dataset(rgb, photometric="RGB"), use_cache=False).found, box)
    # PALETTE COLOR: 8-bit indices through a grey-ish palette
    pal = dataset(grey * 255, photometric="PALETTE COLOR", extra={
        "RedPaletteColorLookupTableDescriptor": [256, 0, 8],
        "GreenPaletteColorLookupTableDescriptor": [256, 0, 8],
        "BluePaletteColorLookupTableDescriptor": [256, 0, 8]})
    ramp = np.arange(256, dtype=np.uint8).tobytes()
    pal.RedPaletteColorLookupTableData = ramp
    pal.GreenPaletteColorLookupTableData = ramp
    pal.BluePaletteColorLookupTableData = bytes(255 - b for b in ramp)
    assert _covered(find_text(pal, use_cache=False).found, box)
    # cine: moving bright anatomy, static overlay text; the temporal image finds it (frame None)
    frames = []
    for n in range(12):
        moving = np.roll(textured(shape, seed=n), 15 * n, axis=1)
        frames.append(np.clip(0.1 + 0.5 * moving + 0.9 * mask, 0, 1) * 255)
    cine = find_text(dataset(np.stack(frames), frames=12, modality="US"), use_cache=False)
    assert not cine.error and cine.frames == 12
    assert _covered([f for f in cine.found if f.frame is None], box)


def test_vertical_label_is_found_by_the_rotated_pass() -> None:
    shape = (320, 240)
    mask, _ = text_mask((shape[1], shape[0]), "PATIENT SMITH", 16, (60, 10))
    vertical = np.rot90(mask, k=-1)  # reading top to bottom along the left edge
    ys, xs = np.nonzero(vertical > 0.2)
    box = Rect(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    pixels = np.clip(0.1 + 0.3 * textured(shape) + vertical, 0, 1) * 255
    result = find_text(dataset(pixels, modality="CR"), use_cache=False)
    assert _covered(result.found, box), [(str(f.rect), f.text) for f in result.found]


def test_filters() -> None:
    assert readable("AB", 0.9) and not readable("A", 0.99) and not readable("AB", 0.4)
    assert not readable("CCC", 0.9) and not readable("l l l", 0.9)
    assert plausible_size(Rect(0, 0, 200, 20), 512, 512)
    assert not plausible_size(Rect(0, 0, 200, 220), 832, 1024)


def test_errors_are_per_object(tmp_path: Path) -> None:
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"not dicom at all")
    assert "cannot be read as DICOM" in find_text(junk).error
    ds = dataset(np.zeros((64, 64)))
    del ds.PixelData
    assert find_text(ds).error.startswith("not an image")
    broken = dataset(np.zeros((64, 64)))
    broken.PixelData = broken.PixelData[:100]
    assert find_text(broken, use_cache=False).error


TEXT_FREE_PYDICOM = ["CT_small.dcm", "MR_small.dcm", "MR_small_RLE.dcm", "JPEG2000.dcm", "MR2_J2KR.dcm",
                     "emri_small.dcm", "SC_rgb.dcm"]


def test_text_free_images_give_no_boxes() -> None:
    from pydicom.data import get_testdata_file

    boxes = {}
    for name in TEXT_FREE_PYDICOM:
        path = get_testdata_file(name)
        if path is None:
            continue
        result = find_text(path, use_cache=False)
        assert not result.error, (name, result.error)
        boxes[name] = [(str(f.rect), f.text) for f in result.found]
    assert len(boxes) >= 6
    assert all(not found for found in boxes.values()), boxes


def test_pydicom_ultrasound_text_is_found_in_every_encoding() -> None:
    from pydicom.data import get_testdata_file

    for name in ("US1_UNCR.dcm", "US1_J2KR.dcm"):  # native RGB and JPEG 2000
        result = find_text(get_testdata_file(name), use_cache=False)
        assert any("BAPTIST" in f.text and f.likely_phi for f in result.found), name
    palette = find_text(get_testdata_file("OBXXXX1A.dcm"), use_cache=False)  # palette colour US
    assert any("5/25/2011" in f.text and f.likely_phi for f in palette.found)
    assert any(f.text == "C5-1" and not f.likely_phi for f in palette.found)


def test_deid_data_burned_in_ultrasound_lines_are_found() -> None:
    import deid_data

    root = Path(deid_data.__file__).parent / "data"
    result = find_text(root / "ultrasounds" / "GREYSCALE_IMAGE.dcm", use_cache=False)
    texts = " | ".join(f.text for f in result.likely_phi)
    # the patient's name, birth date and the study date/time, as drawn in the image header band
    assert "ZZZ" in texts and "08/29/1951" in texts and "03/02/2017" in texts.replace("201705", "2017 05")
    # technical overlay is reported but not as likely PHI
    assert any("36Hz" in f.text and not f.likely_phi for f in result.found)
    for name in ("humans/ctbrain1.dcm", "animals/cat.dcm", "dicom-cookies/image1.dcm"):
        clean = find_text(root / name, use_cache=False)
        assert not clean.error and not clean.found, (name, [f.text for f in clean.found])


def test_results_are_cached_by_pixels_and_text_comes_back() -> None:
    ds = dataset(np.clip(0.1 + text_mask((128, 256), NAME, 16, (8, 8))[0], 0, 1) * 255)
    first = find_text(ds)
    again = find_text(ds)
    assert again.cached and not first.cached
    assert [(f.rect, f.text, f.likely_phi) for f in again.found] == [(f.rect, f.text, f.likely_phi) for f in first.found]
    changed = pydicom.Dataset(ds)
    changed.PixelData = bytes(len(ds.PixelData))
    assert not find_text(changed).cached
