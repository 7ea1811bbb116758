"""The images the finder reads: what a person sees, plus what a narrow window would hide.

* **display**: the frame exactly as the previews draw it (``pixels.preview.render``: VOI LUT or
  window, MONOCHROME1 inverted, palette applied, YBR → RGB), so the finder sees what the user sees;
* **full range**: for monochrome images stored with more than 8 bits, the stored values mapped
  linearly from their minimum to their maximum, because burned-in text is usually written at the
  maximum stored value, which a narrow soft-tissue window clips to the same white as bone — or
  hides entirely under a window that ends below it;
* **temporal minimum**: for multi-frame instances, the pixel-wise minimum of the displayed frames
  (up to ``TEMPORAL_SAMPLES`` of them, evenly spaced): overlay text that stays in place survives
  it while moving anatomy darkens, so one search finds the overlay of the whole loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
from pydicom.dataset import Dataset

from desktop_client.pixels.codecs import decode_frames
from desktop_client.pixels.engine import transfer_syntax_of
from desktop_client.pixels.imagemodel import ImageModel
from desktop_client.pixels.preview import render, single_frame

#: Frames combined into the temporal-minimum image of a long cine.
TEMPORAL_SAMPLES = 24


@dataclass(frozen=True, slots=True)
class View:
    """One image to search: which frame (None: the temporal image), how it was made, its pixels."""

    frame: int | None
    kind: str  # "display", "full-range" or "temporal"
    rgb: np.ndarray


def full_range(ds: Dataset, frame: int) -> np.ndarray | None:
    """The frame's stored values scaled min→max to 8 bits (monochrome >8-bit only; else None)."""
    model = ImageModel.from_dataset(ds)
    if model.samples != 1 or model.bits_stored <= 8 or model.photometric not in ("MONOCHROME1", "MONOCHROME2"):
        return None
    one = single_frame(ds, frame)
    one_model = ImageModel.from_dataset(one)
    decoded = decode_frames(one, transfer_syntax_of(one), one_model, 1)
    values = np.asarray(next(decoded.frames), dtype=np.float32)
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return None
    grey = ((values - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    if model.photometric == "MONOCHROME1":
        grey = 255 - grey
    return np.repeat(grey[..., np.newaxis], 3, axis=2)


def temporal_minimum(ds: Dataset, frames: int) -> np.ndarray:
    """Pixel-wise minimum of up to ``TEMPORAL_SAMPLES`` evenly spaced displayed frames."""
    count = min(frames, TEMPORAL_SAMPLES)
    indices = sorted({round(i * (frames - 1) / max(1, count - 1)) for i in range(count)})
    out: np.ndarray | None = None
    for index in indices:
        rgb = render(ds, frame=index)
        out = rgb.copy() if out is None else np.minimum(out, rgb, out=out)
    assert out is not None
    return out


def views(ds: Dataset, frames: Sequence[int], temporal: bool) -> Iterator[View]:
    """Every image to search for one instance, lazily (one decoded frame in memory at a time)."""
    model = ImageModel.from_dataset(ds)
    if temporal and model.frames > 1:
        yield View(None, "temporal", temporal_minimum(ds, model.frames))
    for index in frames:
        if not 0 <= index < model.frames:
            continue
        # A single-frame image's whole-image result has frame None, like a cine's temporal image.
        label = None if model.frames == 1 else index
        display = render(ds, frame=index)
        yield View(label, "display", display)
        if _clips_the_top(display, model):
            extra = full_range(ds, index)
            if extra is not None:
                yield View(label, "full-range", extra)


#: Share of pixels at the display's brightest value above which the window may hide text.
CLIPPED_SHARE = 0.002


def _clips_the_top(display: np.ndarray, model: ImageModel) -> bool:
    """Does the window map a band of the highest stored values onto one display value?

    Text burned at the maximum stored value is then drawn in the same white (black for
    MONOCHROME1) as whatever else is clipped there, and may vanish into it; otherwise the display
    already shows it as the brightest thing in the image and a second look finds nothing new.
    """
    if model.samples != 1 or model.bits_stored <= 8:
        return False
    grey = display[..., 0]
    end = 0 if model.photometric == "MONOCHROME1" else 255
    return float(np.count_nonzero(grey == end)) / grey.size > CLIPPED_SHARE
