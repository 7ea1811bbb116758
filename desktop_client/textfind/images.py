"""The images the finder reads: what a person sees, plus what a narrow window would hide.

* **display**: the frame exactly as the previews draw it (``pixels.preview.render``: VOI LUT or
  window, MONOCHROME1 inverted, palette applied, YBR → RGB), so the finder sees what the user sees;
* **full range**: for monochrome images stored with more than 8 bits, the stored values mapped
  linearly from their minimum to their maximum, because burned-in text is usually written at the
  maximum stored value, which a narrow soft-tissue window clips to the same white as bone — or
  hides entirely under a window that ends below it. Only a window that clips can hide text, and
  text hidden there is drawn at one value: the clipped pixels of a losslessly stored frame whose
  values are spread like anatomy's (no value held by a crowd of pixels, as a drawn overlay's is)
  hide nothing, and that frame's second detector pass is saved — a CT slice's bone, clipped by a
  soft-tissue window, is the common case. Lossy frames smear the drawn value: always searched;
* **temporal minimum**: for multi-frame instances, the pixel-wise minimum of the displayed frames
  (up to ``TEMPORAL_SAMPLES`` of them, evenly spaced): overlay text that stays in place survives
  it while moving anatomy darkens, so one search finds the overlay of the whole loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
from pydicom.dataset import Dataset

from desktop_client.core.transfer_syntaxes import LOSSLESS_COMPRESSED, NATIVE
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


def full_range(ds: Dataset, frame: int, display: np.ndarray | None = None) -> np.ndarray | None:
    """The frame's stored values scaled min→max to 8 bits (monochrome >8-bit only; else None).

    With ``display`` (the frame as shown), None also when the window's clipped pixels cannot hide
    text (module doc): nothing there is drawn at one value, and the frame was stored losslessly.
    """
    model = ImageModel.from_dataset(ds)
    if model.samples != 1 or model.bits_stored <= 8 or model.photometric not in ("MONOCHROME1", "MONOCHROME2"):
        return None
    one = single_frame(ds, frame)
    one_model = ImageModel.from_dataset(one)
    ts = transfer_syntax_of(one)
    decoded = decode_frames(one, ts, one_model, 1)
    stored = np.asarray(next(decoded.frames))
    if display is not None and (ts in NATIVE or ts in LOSSLESS_COMPRESSED) and stored.shape == display.shape[:2]:
        end = 0 if model.photometric == "MONOCHROME1" else 255
        if not drawn_at_one_value(stored[display[..., 0] == end]):
            return None
    values = stored.astype(np.float32)
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
            extra = full_range(ds, index, display)
            if extra is not None:
                yield View(label, "full-range", extra)


#: Share of pixels at the display's brightest value above which the window may hide text.
CLIPPED_SHARE = 0.002
#: A drawn overlay: one stored value held by at least OVERLAY_PIXELS of the clipped pixels and
#: OVERLAY_SPIKE times as many as each value near it holds on average (anatomy's values spread).
OVERLAY_PIXELS = 20
OVERLAY_SPIKE = 4.0
#: How many values on each side count as "near".
OVERLAY_NEIGHBOURS = 8


def drawn_at_one_value(values: np.ndarray) -> bool:
    """Do these stored values (the clipped pixels of a frame) include a crowd at one value?"""
    if values.size < OVERLAY_PIXELS:
        return False
    shifted = values.astype(np.int64).ravel()
    counts = np.bincount(shifted - shifted.min())
    if counts.max() < OVERLAY_PIXELS:
        return False
    kernel = np.ones(2 * OVERLAY_NEIGHBOURS + 1)
    kernel[OVERLAY_NEIGHBOURS] = 0
    # Zero-padded so the window fits even when fewer values than the window are present (a burned
    # block at one value beside a few others): one average per count, aligned with ``counts``.
    padded = np.pad(counts, OVERLAY_NEIGHBOURS)
    near = np.convolve(padded, kernel, mode="valid") / (2 * OVERLAY_NEIGHBOURS)
    return bool(np.any((counts >= OVERLAY_PIXELS) & (counts >= OVERLAY_SPIKE * np.maximum(near, 1.0))))


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
