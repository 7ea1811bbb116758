"""Turn a ``Fill`` into the sample values a rectangle is painted with, per image model.

"Black" must look black in every viewer, so it is not zero everywhere: the lowest value
(Pixel Padding Value when present) for MONOCHROME2, the highest for MONOCHROME1 (zero is white
there), Y=0/Cb=Cr=mid for YBR and the darkest entry of the palette for PALETTE COLOR. Values are
returned in the *decoded* domain (signed integers for signed data); ``to_word`` gives the stored
word, which always covers the whole Bits Allocated word so overlay bits in unused high bits are
cleared (or sign bits set consistently for signed data).
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset

from desktop_client.core.geometry import Fill
from desktop_client.pixels import attributes as A
from desktop_client.pixels.errors import RedactionError
from desktop_client.pixels.imagemodel import ImageModel


def value_range(model: ImageModel) -> tuple[int, int]:
    bits = model.bits_stored
    if model.signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _clamp(v: int, model: ImageModel) -> int:
    lo, hi = value_range(model)
    return max(lo, min(hi, int(v)))


def _padding_value(ds: Dataset, model: ImageModel) -> int | None:
    value = A.pixel_word(ds, A.PIXEL_PADDING_VALUE, model.signed)
    if value is None:
        return None
    if model.signed and value >= 1 << (model.bits_allocated - 1):
        value -= 1 << model.bits_allocated  # stored as US although the data are signed
    lo, hi = value_range(model)
    return value if lo <= value <= hi else None


def _rgb_to_ybr_full(r: float, g: float, b: float, mid: int) -> tuple[float, float, float]:
    # PS3.3 C.7.6.3.1.2 (YBR_FULL), scaled for any bit depth by ``mid``.
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + mid
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + mid
    return y, cb, cr


#: XNAT's conversion of a fill colour into YBR (its toolkit's RGB→YBR matrices with offsets,
#: in normalised units): the same matrices and the same float rounding give the same bytes.
_TO_YBR_FULL = (0.2990, 0.5870, 0.1140, 0.0, -0.1687, -0.3313, 0.5, 0.5, 0.5, -0.4187, -0.0813, 0.5)
_TO_YBR_PARTIAL = (0.2568, 0.5041, 0.0979, 0.0625, -0.1482, -0.2910, 0.4392, 0.5,
                   0.4392, -0.3678, -0.0714, 0.5)


def reference_ybr(rgb: tuple[int, int, int], partial: bool) -> tuple[int, int, int]:
    """8-bit Y, Cb, Cr for an RGB fill exactly as XNAT's ``alterPixels`` computes them.

    Each component is ``red / 255f`` (single precision), the matrix row is evaluated in double
    precision, clamped to [0, 1] and narrowed to single precision, then scaled by 255 in single
    precision and rounded half up — so black is Y=0 Cb=Cr=128 and pure red is Y=76 Cb=84 Cr=255.
    """
    a = _TO_YBR_PARTIAL if partial else _TO_YBR_FULL
    x = [float(np.float32(c) / np.float32(255)) for c in rgb]
    out = []
    for row in range(3):
        k = row * 4
        v = float(np.float32(max(0.0, min(1.0, a[k] * x[0] + a[k + 1] * x[1] + a[k + 2] * x[2] + a[k + 3]))))
        out.append(min(255, max(0, int(np.floor(float(np.float32(v) * np.float32(255)) + 0.5)))))
    return out[0], out[1], out[2]


def palette_rgb(ds: Dataset) -> tuple[int, np.ndarray]:
    """(first mapped index, (n, 3) palette entries) from the dataset's colour LUTs."""
    from pydicom.pixels import apply_color_lut

    descriptor = ds.get("RedPaletteColorLookupTableDescriptor")
    if descriptor is None:
        raise RedactionError("PALETTE COLOR image without a palette (Red Palette Color LUT Descriptor)")
    entries = int(descriptor[0]) or 65536
    first = int(descriptor[1])
    indices = np.arange(first, first + entries, dtype=np.uint16 if int(ds.BitsAllocated) > 8 else np.uint8
                        if first + entries <= 256 else np.uint16)
    try:
        lut = apply_color_lut(indices, ds)
    except Exception as exc:  # a broken palette: we cannot choose "black" safely
        raise RedactionError(f"the image's colour palette cannot be read ({exc})") from None
    return first, np.asarray(lut).reshape(-1, 3)


def fill_values(model: ImageModel, fill: Fill, ds: Dataset) -> tuple[int, ...]:
    """Decoded-domain sample values (one per sample) for ``fill`` on an image of ``model``."""
    pi = model.photometric
    lo, hi = value_range(model)
    if model.bits_allocated == 1:
        black = 1 if pi == "MONOCHROME1" else 0
        if fill.black:
            return (black,)
        grey = fill.value if fill.value is not None else (fill.rgb or (0, 0, 0))[0]
        return (1 if grey > 0 else 0,)
    if pi in ("MONOCHROME1", "MONOCHROME2"):
        if fill.black:
            if pi == "MONOCHROME1":
                return (hi,)
            pad = _padding_value(ds, model)
            return (pad if pad is not None else lo,)
        # A colour on a one-sample image writes its red component, as XNAT's handler does.
        grey = fill.value if fill.value is not None else (fill.rgb or (0, 0, 0))[0]
        return (_clamp(grey, model),)
    if pi == "PALETTE COLOR":
        first, lut = palette_rgb(ds)
        if fill.black:
            target = np.zeros(3)
        elif fill.rgb is not None:
            target = np.array(fill.rgb, dtype=float)
        else:
            return (_clamp(int(fill.value or 0), model),)  # a script's v= is a stored index
        scale = 255.0 / max(1.0, float(lut.max())) if lut.max() > 255 else 1.0
        dist = ((lut.astype(float) * scale - target) ** 2).sum(axis=1)
        return (_clamp(first + int(np.argmin(dist)), model),)
    # Colour images.
    if fill.black:
        rgb: tuple[int, int, int] = (0, 0, 0)
    elif fill.rgb is not None:
        rgb = fill.rgb
    else:
        v = int(fill.value or 0)
        rgb = (v, v, v)
    if pi == "RGB":
        return tuple(_clamp(c, model) for c in rgb)
    if model.bits_stored == 8:
        return reference_ybr(rgb, partial=pi.startswith("YBR_PARTIAL"))
    mid = 1 << (model.bits_stored - 1)
    y, cb, cr = _rgb_to_ybr_full(*rgb, mid=mid)
    if pi in ("YBR_PARTIAL_422", "YBR_PARTIAL_420"):
        scale = (1 << model.bits_stored) / 256.0
        y = 16 * scale + y * 219 / 255
        cb = mid + (cb - mid) * 224 / 255
        cr = mid + (cr - mid) * 224 / 255
    return tuple(_clamp(int(round(c)), model) for c in (y, cb, cr))


def to_word(value: int, model: ImageModel) -> int:
    """The stored word for a decoded value, filling all Bits Allocated bits.

    Unsigned values keep the unused high bits zero (clearing high-bit overlays); signed values
    are sign-extended, which is what every reader expects of two's-complement data.
    """
    return int(value) & ((1 << model.bits_allocated) - 1)
