"""Independent checks that what will be written is exactly what was intended.

The expected frame is the *input* decoded by pydicom (not by our own layout code) with the boxes
painted in; the actual frame is the *output* decoded again, by a different library than the one
that encoded it where two exist. Frames are compared in lockstep so memory stays at a few frames.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from desktop_client.core.geometry import Rect
from desktop_client.pixels.errors import RedactionError
from desktop_client.pixels.imagemodel import ImageModel

Painted = Sequence[tuple[Rect, tuple[int, ...]]]


def canonical(arr: np.ndarray, model: ImageModel) -> np.ndarray:
    """The decoded frame as an array of the model's natural integer type, samples last."""
    size = max(1, model.bits_allocated // 8)
    kind = "i" if model.signed and model.bits_allocated > 1 else "u"
    arr = np.asarray(arr)
    if model.samples > 1 and arr.ndim == 3 and arr.shape[0] == model.samples and arr.shape[-1] != model.samples:
        arr = np.moveaxis(arr, 0, -1)
    target = np.dtype(f"{kind}{size}" if model.bits_allocated > 1 else "u1")
    if arr.dtype.kind in "iu" and arr.dtype.itemsize == target.itemsize:
        return arr.view(target.newbyteorder(arr.dtype.byteorder)) if arr.dtype != target else arr
    return arr.astype(target, copy=False)


def stored_words(data: bytes, model: ImageModel, count: int, *, big_endian: bool = False) -> np.ndarray:
    """``count`` single-sample frames of native ``data`` as whole stored words, (count, rows, columns).

    A plain reading of the bytes (one word per pixel, rows in order), written apart from the
    painter's layout code on purpose; a read-only view, so nothing is copied. Unused high bits are
    part of the word, so a fill that left overlay bits set would not compare equal.
    """
    size = model.bits_allocated // 8
    kind = "i" if model.signed else "u"
    per_frame = model.rows * model.columns
    if size not in (1, 2, 4) or model.samples != 1:
        raise RedactionError("internal error: stored_words reads single-sample 8/16/32-bit data only")
    if len(data) < count * per_frame * size:
        raise RedactionError(f"verification failed: {len(data)} bytes cannot hold {count} frame(s)")
    dtype = np.dtype(f"{'>' if big_endian else '<'}{kind}{size}")
    return np.frombuffer(data, dtype=dtype, count=count * per_frame).reshape(count, model.rows, model.columns)


def check_band_copy(source: bytes, new: bytes, model: ImageModel, count: int, painted: Painted,
                    band: tuple[int, int]) -> None:
    """Check single-sample little-endian data painted only in the rows ``band`` (see
    ``native.painted_copy``): inside the band, pixel by pixel as whole stored words; every byte
    outside it, equal to the source. Raises ``RedactionError`` like ``check_lockstep``."""
    top, bottom = band
    if len(new) != len(source):
        raise RedactionError(f"verification failed: {len(new)} bytes written for {len(source)} read")
    got, src = stored_words(new, model, count), stored_words(source, model, count)
    shifted = [(Rect(r.left, r.top - top, r.right, r.bottom - top), values) for r, values in painted]
    row_bytes = model.columns * (model.bits_allocated // 8)
    frame_bytes = row_bytes * model.rows
    start = 0
    for frame in range(count):
        check_against_source(frame, got[frame, top:bottom], src[frame, top:bottom], model, shifted)
        first, last = frame * frame_bytes + top * row_bytes, frame * frame_bytes + bottom * row_bytes
        if not _same_bytes(source, new, start, first):
            raise RedactionError(f"verification failed: pixels outside the rectangles changed in frame {frame + 1}")
        start = last
    if not _same_bytes(source, new, start, len(new)):
        raise RedactionError("verification failed: bytes after the last painted rows changed")


def _same_bytes(a: bytes, b: bytes, start: int, stop: int) -> bool:
    """``a[start:stop] == b[start:stop]`` without copying, compared eight bytes at a time."""
    words = (stop - start) // 8
    tail = start + 8 * words
    return (np.array_equal(np.frombuffer(a, np.uint64, words, start), np.frombuffer(b, np.uint64, words, start))
            and a[tail:stop] == b[tail:stop])


def paint_expected(arr: np.ndarray, model: ImageModel, painted: Painted) -> np.ndarray:
    """A copy of a decoded frame with each painted region set to its decoded fill values."""
    out = np.array(canonical(arr, model), copy=True)
    for rect, values in painted:
        region = out[rect.top:rect.bottom, rect.left:rect.right]
        region[...] = values if model.samples > 1 else values[0]
    return out


def check_frame(index: int, actual: np.ndarray, expected: np.ndarray, model: ImageModel,
                painted: Painted) -> None:
    """Raise ``RedactionError`` unless ``actual`` equals ``expected`` (boxes filled, rest unchanged)."""
    got = canonical(actual, model)
    if got.shape != expected.shape:
        raise RedactionError(f"verification failed: frame {index + 1} decodes to shape {got.shape}, "
                             f"expected {expected.shape}")
    if np.array_equal(got, expected):
        return
    for rect, values in painted:
        region = got[rect.top:rect.bottom, rect.left:rect.right]
        want = np.asarray(values if model.samples > 1 else values[0], dtype=got.dtype)
        if not np.all(region == want):
            raise RedactionError(f"verification failed: rectangle {rect} is not filled in frame {index + 1}")
    raise RedactionError(f"verification failed: pixels outside the rectangles changed in frame {index + 1}")


def check_against_source(index: int, actual: np.ndarray, source: np.ndarray, model: ImageModel,
                         painted: Painted) -> None:
    """``check_frame`` against the *unpainted* source frame, without copying it.

    Each region must hold its fill; everywhere else ``actual`` must equal ``source``. The
    comparison is a boolean mask with the painted regions cleared, which costs a fraction of
    painting a copy of the frame (this runs once per frame of every redacted object).
    """
    got, src = canonical(actual, model), canonical(source, model)
    if got.shape != src.shape:
        raise RedactionError(f"verification failed: frame {index + 1} decodes to shape {got.shape}, "
                             f"expected {src.shape}")
    _check_filled(index, got, model, painted)
    changed = np.not_equal(got, src)
    for rect, _ in painted:
        changed[rect.top:rect.bottom, rect.left:rect.right] = False
    if changed.any():
        raise RedactionError(f"verification failed: pixels outside the rectangles changed in frame {index + 1}")


def _check_filled(index: int, got: np.ndarray, model: ImageModel, painted: Painted) -> None:
    """Each region holds its fill, except where a later region (script order) painted over it."""
    later: list[Rect] = []
    for rect, values in reversed(painted):
        region = got[rect.top:rect.bottom, rect.left:rect.right]
        match = region == np.asarray(values if model.samples > 1 else values[0], dtype=got.dtype)
        if model.samples > 1:
            match = match.all(axis=-1)
        for other in later:
            top, bottom = max(other.top, rect.top), min(other.bottom, rect.bottom)
            left, right = max(other.left, rect.left), min(other.right, rect.right)
            if top < bottom and left < right:
                match[top - rect.top:bottom - rect.top, left - rect.left:right - rect.left] = True
        if not match.all():
            raise RedactionError(f"verification failed: rectangle {rect} is not filled in frame {index + 1}")
        later.append(rect)


def check_lockstep(expected_frames: Iterable[np.ndarray], actual_frames: Iterable[np.ndarray],
                   model: ImageModel, painted: Painted, count: int) -> None:
    """Compare two frame streams: each actual frame is its source frame with the boxes painted."""
    seen = 0
    for seen, (exp, act) in enumerate(zip(expected_frames, actual_frames), start=1):
        check_against_source(seen - 1, act, exp, model, painted)
    if seen != count:
        raise RedactionError(f"verification failed: {seen} of {count} frames could be compared")
