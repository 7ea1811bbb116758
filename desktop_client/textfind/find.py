"""Find burned-in text on one instance, or on the instances of a scan chosen by the coverage policy."""

from __future__ import annotations

import hashlib
import math
import os
import re
from typing import Callable, Sequence

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from desktop_client.core.coverage import frames_to_search, instances_to_search
from desktop_client.core.geometry import Rect
from desktop_client.core.sop_classes import is_image_storage, sop_class_name
from desktop_client.pixels.errors import RedactionError
from desktop_client.pixels.imagemodel import ImageModel
from desktop_client.scanning.model import Instance, says_burned_in
from desktop_client.textfind import cache, ocr
from desktop_client.textfind.images import View, views
from desktop_client.textfind.model import FoundText, ScanText, TextResult
from desktop_client.textfind.phi import Allowlist, HeaderValues, likely_phi

#: Padding of a suggested box around its line: this share of the text height, at least MIN_PAD px.
PAD_SHARE = 0.15
MIN_PAD = 2
#: A line counts only when it has this many letters/digits (reference §3: no false boxes on CT/MR).
MIN_CHARACTERS = 2
#: ``TextResult.error`` of a search a person stopped before it finished (nothing was concluded).
STOPPED = "search stopped"

Source = Instance | Dataset | str | os.PathLike


#: Burned-in text is small next to the image: a "line" taller than this share of the image's
#: shorter side (and than MAX_TEXT_PX) is anatomy read as letters (ribs as "CCC").
MAX_TEXT_SHARE = 0.12
MAX_TEXT_PX = 48


def readable(text: str, score: float) -> bool:
    """The filter that keeps text-free CT/MR free of boxes: ≥ 2 letters/digits, score ≥ 0.5.

    A reading that is one character repeated ("CCC", "lll") is periodic structure — ribs, a
    grid, a comb of calibration marks — not a line of text.
    """
    chars = re.findall(r"[0-9A-Za-z]", text)
    return score >= ocr.MIN_SCORE and len(chars) >= MIN_CHARACTERS and len({c.upper() for c in chars}) > 1


def plausible_size(line: Rect, columns: int, rows: int) -> bool:
    """Is the line's text height (its narrow side) one that an overlay would use?"""
    return min(line.width, line.height) <= max(MAX_TEXT_PX, MAX_TEXT_SHARE * min(columns, rows))


def _load(source: Source) -> Dataset:
    if isinstance(source, Dataset):
        return source
    if isinstance(source, Instance):
        from desktop_client.scanning import read_dataset

        return read_dataset(source.location, stop_before_pixels=False)
    return pydicom.dcmread(os.fspath(source))


def pixel_hash(ds: Dataset) -> str:
    """SHA-256 of the stored Pixel Data bytes."""
    return hashlib.sha256(bytes(ds.PixelData)).hexdigest()


def _line_rect(points: Sequence[tuple[float, float]], columns: int, rows: int) -> Rect | None:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return Rect(max(0, math.floor(min(xs))), max(0, math.floor(min(ys))),
                min(columns, math.ceil(max(xs))), min(rows, math.ceil(max(ys)))).clipped(columns, rows)


def padded(line: Rect, columns: int, rows: int) -> Rect:
    """The suggested box: the line padded by ~15 % of its text height (≥ 2 px), inside the image."""
    height = min(line.width, line.height)  # vertical lines: the "height" is the narrow side
    pad = max(MIN_PAD, round(PAD_SHARE * height))
    box = Rect(line.left - pad, line.top - pad, line.right + pad, line.bottom + pad).clipped(columns, rows)
    return box or line


#: How far a line is extended along its row to take in glyphs the detector left out (the "F" after
#: a birth date, an "Acc:" label): at most this many text heights on each side.
SNAP_HEIGHTS = 3


def snapped(line: Rect, grey: np.ndarray) -> Rect:
    """The line extended left and right over adjacent ink of the same row (gaps ≤ one text height).

    The detector sometimes stops short of a short word at the end of a line; the recogniser then
    reads the rest, and a box on the detected part would leave "F" or "Acc:" visible. Ink is told
    from the background by the levels inside the detected line (text is the minority there).
    """
    band = grey[line.top:line.bottom]
    inside = band[:, line.left:line.right]
    if inside.size == 0 or line.width <= line.height:
        return line
    lo, hi = np.percentile(inside, (10, 95))
    if hi - lo < 40:
        return line
    bright = float(inside.mean()) < (lo + hi) / 2  # ink is the minority of the line's pixels
    mid = (lo + hi) / 2
    ink = (band > mid) if bright else (band < mid)
    columns = ink.any(axis=0)
    h = line.height
    left, right = line.left, line.right
    limit_l, limit_r = max(0, left - SNAP_HEIGHTS * h), min(grey.shape[1], right + SNAP_HEIGHTS * h)
    x = right
    while x < limit_r:
        ahead = np.nonzero(columns[x:min(limit_r, x + h)])[0]
        if ahead.size == 0:
            break
        x += int(ahead[-1]) + 1
        right = x
    x = left
    while x > limit_l:
        behind = np.nonzero(columns[max(limit_l, x - h):x])[0]
        if behind.size == 0:
            break
        x = max(limit_l, x - h) + int(behind[0])
        left = x
    return Rect(left, line.top, right, line.bottom)


def _rotated_points(points: Sequence[tuple[float, float]], width: int) -> list[tuple[float, float]]:
    """Points read on ``np.rot90(image)`` back in the original image (``width`` = original W)."""
    return [(width - y, x) for x, y in points]


def _read_view(view: View, columns: int, rows: int, rotate: bool,
               known: list[cache.CachedLine]) -> list[cache.CachedLine]:
    """The readable lines of one view; lines already ``known`` from another view are not re-read."""
    out: list[cache.CachedLine] = []

    def new(rect: Rect | None) -> bool:
        # Checked before anything is read: recognising costs more than detecting, and on a
        # text-free CT the detector's only candidates are anatomy-sized outlines.
        return rect is not None and plausible_size(rect, columns, rows) and \
            not any(k.line.overlap(rect) > 0.6 for k in known + out)

    def keep_upright(pts: ocr.Points) -> bool:
        return new(_line_rect(list(pts), columns, rows))

    def keep_vertical(pts: ocr.Points) -> bool:
        # On the rotated copy only boxes that are vertical in the original are new; horizontal
        # lines were read on the upright pass already.
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        if max(xs) - min(xs) <= max(ys) - min(ys):
            return False
        return new(_line_rect(_rotated_points(pts, columns), columns, rows))

    grey = view.rgb.mean(axis=2)
    passes = [(view.rgb, False)]
    if rotate:
        passes.append((np.ascontiguousarray(np.rot90(view.rgb)), True))
    for image, rotated in passes:
        for line in ocr.read_lines(image, keep_vertical if rotated else keep_upright,
                                   side=ocr.ROTATED_SIDE if rotated else None):
            if not readable(line.text, line.score):
                continue
            pts = _rotated_points(line.points, columns) if rotated else list(line.points)
            rect = _line_rect(pts, columns, rows)
            if rect is None:
                continue
            if not rotated:
                rect = snapped(rect, grey)
            out.append(cache.CachedLine(padded(rect, columns, rows), rect, view.frame, line.text, line.score))
    return out


def _merge(lines: list[cache.CachedLine]) -> list[cache.CachedLine]:
    """One entry per line seen on several images (display, full range, rotated, frames)."""
    kept: list[cache.CachedLine] = []
    for ln in sorted(lines, key=lambda x: -x.score):
        twin = next((i for i, k in enumerate(kept) if k.line.overlap(ln.line) > 0.6), None)
        if twin is None:
            kept.append(ln)
            continue
        k = kept[twin]
        frame = None if k.frame is None or ln.frame is None else k.frame
        line = Rect(min(k.line.left, ln.line.left), min(k.line.top, ln.line.top),
                    max(k.line.right, ln.line.right), max(k.line.bottom, ln.line.bottom))
        rect = Rect(min(k.rect.left, ln.rect.left), min(k.rect.top, ln.rect.top),
                    max(k.rect.right, ln.rect.right), max(k.rect.bottom, ln.rect.bottom))
        kept[twin] = cache.CachedLine(rect, line, frame, k.text, k.score)
    return sorted(kept, key=lambda x: (x.line.top, x.line.left))


def _classify(lines: list[cache.CachedLine], header: HeaderValues, allowlist: Allowlist) -> list[FoundText]:
    out = []
    for ln in lines:
        allowed = allowlist.allows(ln.text)
        out.append(FoundText(ln.rect, ln.frame, ln.text, ln.score,
                             likely_phi=not allowed and likely_phi(ln.text, header),
                             line=ln.line, allowlisted=allowed))
    return out


def _skip_rotation(ds: Dataset) -> bool:
    """Ultrasound: a 90° pass only adds noise (reference §3)."""
    return str(ds.get("Modality", "")).upper() in ("US", "IVUS") or \
        str(ds.get("SOPClassUID", "")).startswith(("1.2.840.10008.5.1.4.1.1.6.", "1.2.840.10008.5.1.4.1.1.3.1"))


def find_text(source: Source, *, frames: Sequence[int] | None = None, temporal: bool | None = None,
              all_frames: bool = False, use_cache: bool = True,
              allowlist: Allowlist | None = None, header: HeaderValues | None = None,
              stop: Callable[[], bool] | None = None) -> TextResult:
    """Search one instance; never raises for bad data (``TextResult.error`` says why).

    ``frames``/``temporal`` default to the coverage policy for the instance's frame count
    (``core.coverage.frames_to_search``); ``all_frames`` searches every frame of a cine too.
    ``header`` overrides the identifying values matched against (the re-check of an anonymized
    object passes the values of its source, which its own header no longer holds).
    ``stop`` is asked before each image is read (a long cine has several, each a second or more
    of OCR): when it says yes the search ends with ``error`` = ``STOPPED`` and nothing cached.
    """
    result = _find(source, frames, temporal, all_frames, use_cache, allowlist, header, search=True,
                   stop=stop)
    assert result is not None
    return result


def cached_text(source: Source, *, frames: Sequence[int] | None = None, temporal: bool | None = None,
                all_frames: bool = False) -> TextResult | None:
    """``find_text``'s answer when the cache has it (or the object cannot be searched at all),
    else None — without decoding a pixel or loading a model: the header and the raw pixel bytes
    are read and hashed, nothing more. A re-upload's gate is answered this way in the command's
    own process, with no search worker to wait for."""
    return _find(source, frames, temporal, all_frames, True, None, None, search=False)


def _find(source: Source, frames: Sequence[int] | None, temporal: bool | None, all_frames: bool,
          use_cache: bool, allowlist: Allowlist | None, header: HeaderValues | None, *,
          search: bool, stop: Callable[[], bool] | None = None) -> TextResult | None:
    result = TextResult()
    if stop is not None and stop():
        result.error = STOPPED
        return result
    try:
        ds = _load(source)
    except Exception as exc:
        result.error = f"cannot be read as DICOM ({type(exc).__name__}: {exc})"
        return result
    result.sop_instance_uid = str(ds.get("SOPInstanceUID", ""))
    sop_class = str(ds.get("SOPClassUID", ""))
    if "PixelData" not in ds:
        result.error = f"not an image: {sop_class_name(sop_class)} has no pixel data"
        return result
    if sop_class and not is_image_storage(sop_class):
        result.error = f"not an image: {sop_class_name(sop_class)} is not searched for text"
        return result
    try:
        model = ImageModel.from_dataset(ds)
    except RedactionError as exc:
        result.error = f"the image cannot be read ({exc})"
        return result
    result.rows, result.columns, result.frames = model.rows, model.columns, model.frames
    default_frames, default_temporal = frames_to_search(model.frames, all_frames=all_frames)
    wanted = tuple(default_frames if frames is None else frames)
    use_temporal = default_temporal if temporal is None else temporal
    try:
        allow = allowlist if allowlist is not None else Allowlist.load()
    except ValueError as exc:
        result.error = str(exc)
        return result
    header = header if header is not None else HeaderValues.from_dataset(ds)
    rotate = not _skip_rotation(ds)
    try:
        result.pixel_hash = pixel_hash(ds)
        options = f"{wanted}|{use_temporal}|{rotate}"
        name = cache.key(ocr.ENGINE_ID, options, result.sop_instance_uid, result.pixel_hash)
        lines = cache.load(name, result.sop_instance_uid, result.pixel_hash) if use_cache else None
        result.cached = lines is not None
        if lines is None and not search:
            return None
        if lines is None:
            found: list[cache.CachedLine] = []
            for view in views(ds, wanted, use_temporal):
                if stop is not None and stop():
                    result.error = STOPPED
                    return result
                # the full-range view is a second look at the same frame: no rotated pass for it
                found.extend(_read_view(view, model.columns, model.rows,
                                        rotate and view.kind != "full-range", found))
            lines = _merge(found)
            if use_cache:
                cache.store(name, result.sop_instance_uid, result.pixel_hash, lines)
    except ocr.OcrUnavailable as exc:
        result.error = str(exc)
        return result
    except RedactionError as exc:
        result.error = f"the pixels cannot be decoded ({exc})"
        return result
    except Exception as exc:  # a codec or OCR failure belongs to this object, not the batch
        result.error = f"text search failed ({type(exc).__name__}: {exc})"
        return result
    result.found = _classify(lines, header, allow)
    return result


def find_text_in_scan(instances: Sequence[Instance], *, all_frames: bool = False,
                      search: Callable[..., TextResult] = find_text) -> ScanText:
    """Search the instances of one scan that the coverage policy picks (in series order)."""
    ordered = list(instances)
    scan = ScanText(ordered[0].series_instance_uid if ordered else "", instances=len(ordered))
    scan.burned_in_annotation = says_burned_in(ordered)
    for pick in instances_to_search(ordered, all_frames=all_frames):
        scan.results.append(search(ordered[pick.index], frames=pick.frames, temporal=pick.temporal))
    return scan
