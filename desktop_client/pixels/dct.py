"""JPEG Baseline redaction in the DCT domain: no second generation of loss.

Each frame's quantised DCT coefficients are read with ``jpeglib`` (libjpeg), the 8×8 blocks of
every component under the MCU-aligned superset of each rectangle are replaced by a flat block
(AC = 0, DC chosen so the block decodes to the fill colour, saturating for black/white), and the
coefficients are written back losslessly (optimised Huffman tables, original quantisation tables,
sampling factors and colour space). Every coefficient outside the wiped blocks is bit-identical,
so nothing outside the block-aligned boxes changes (Clunie & Gebow, JMI 2015).

Verification is done twice per frame: in the coefficient domain (re-read: wiped blocks flat,
every other block identical) and in the pixel domain with a different decoder (libjpeg-turbo via
imagecodecs): luma/grey inside the aligned boxes has the fill value and is unchanged outside.
Chroma is only compared in the coefficient domain because fancy upsampling blends chroma across
block edges.

The colour space of the components is what the DICOM decoders (pydicom, dcmtk) will assume: an
Adobe APP14 transform flag when present, otherwise the Photometric Interpretation (PS3.5 8.2.1).
The rewritten frame carries exactly the input's JFIF (APP0) and Adobe (APP14) segments, so every
decoder interprets it as before; other APPn/COM segments are dropped (they may hold free text).
"""

from __future__ import annotations

import math
from dataclasses import replace
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Sequence

import numpy as np
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.uid import JPEGBaseline8Bit

from desktop_client.core.geometry import Rect
from desktop_client.core.runtime import process_folder
from desktop_client.pixels.codecs import encapsulate_frames
from desktop_client.pixels.errors import RedactionError
from desktop_client.pixels.fills import fill_values
from desktop_client.pixels.imagemodel import ImageModel
from desktop_client.pixels.outcome import Outcome, check_encapsulation
from desktop_client.pixels.regions import Box, align


#: Frames wiped in parallel (libjpeg releases the GIL); the goal machine has 2 cores.
WORKERS = 2


class DctUnavailable(Exception):
    """This frame cannot be redacted in the DCT domain here (caller falls back to lossless output)."""


_COMPONENTS = ("Y", "Cb", "Cr")
_APP0, _APP14 = 0xE0, 0xEE


def _header_segments(data: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """Marker segments between SOI and SOS as (marker, whole segment bytes), and the SOS offset."""
    if data[:2] != b"\xff\xd8":
        raise DctUnavailable("the frame is not a JPEG stream")
    pos, segments = 2, list[tuple[int, bytes]]()
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise DctUnavailable("malformed JPEG header")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0xDA:
            return segments, pos
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        segments.append((marker, data[pos:pos + 2 + length]))
        pos += 2 + length
    raise DctUnavailable("JPEG stream without a scan")


def _stream_space(segments: list[tuple[int, bytes]], photometric: str, components: int) -> str:
    if components == 1:
        return "GRAY"
    for marker, seg in segments:
        if marker == _APP14 and seg[4:9] == b"Adobe" and len(seg) >= 16:
            return "RGB" if seg[15] == 0 else "YCbCr"
    return "RGB" if photometric == "RGB" else "YCbCr"


def _restore_app_segments(new: bytes, original: list[tuple[int, bytes]]) -> bytes:
    """``new`` with its APPn/COM segments replaced by the original's APP0/APP14 segments."""
    segments, sos = _header_segments(new)
    kept = [seg for marker, seg in original if marker in (_APP0, _APP14)]
    rest = [seg for marker, seg in segments if not (0xE0 <= marker <= 0xEF or marker == 0xFE)]
    return b"\xff\xd8" + b"".join(kept) + b"".join(rest) + new[sos:]


def _dc_for(value: int, q: int) -> int:
    """Quantised DC giving a flat block of ``value`` (0..255); saturates for the extremes."""
    if value <= 0:
        return -math.ceil(1024 / q)
    if value >= 255:
        return math.ceil(1016 / q)
    return int(round(8 * (value - 128) / q))


def _component_targets(model: ImageModel, space: str, box: Box, ds: Dataset, components: int) -> tuple[int, ...]:
    if components == 1:
        return fill_values(replace(model, samples=1, photometric=model.photometric
                                       if model.photometric in ("MONOCHROME1", "MONOCHROME2") else "MONOCHROME2"),
                           box.fill, ds)
    colour = "RGB" if space == "RGB" else "YBR_FULL"
    return fill_values(replace(model, samples=3, photometric=colour, planar=0), box.fill, ds)


def _frame_geometry(im: object, components: int) -> tuple[int, int, list[tuple[int, int]]]:
    samp = np.asarray(getattr(im, "samp_factor")).reshape(components, 2)  # rows of (v, h)
    if components == 1:
        return 8, 8, [(1, 1)]
    max_v, max_h = int(samp[:, 0].max()), int(samp[:, 1].max())
    scales = [(max_h // int(h), max_v // int(v)) for v, h in samp]
    return 8 * max_h, 8 * max_v, scales


def _wipe(workdir: Path, index: int, frame: bytes, model: ImageModel, boxes: Sequence[Box], ds: Dataset
          ) -> tuple[bytes, list[Rect], list[tuple[int, ...]]]:
    import jpeglib

    src, dst = workdir / f"{index}.in.jpg", workdir / f"{index}.out.jpg"
    src.write_bytes(frame)
    try:
        im = jpeglib.read_dct(str(src))
        im.load()
    except Exception as exc:
        raise DctUnavailable(f"the JPEG frame cannot be read in the DCT domain ({exc})") from None
    if getattr(im, "progressive_mode", False):
        raise DctUnavailable("progressive JPEG")
    components = 1 if im.Cb is None else 3
    if im.height != model.rows or im.width != model.columns:
        raise DctUnavailable("the JPEG frame size differs from Rows/Columns")
    original_segments, _ = _header_segments(frame)
    space = _stream_space(original_segments, model.photometric, components)
    mcu_w, mcu_h, scales = _frame_geometry(im, components)
    original = [np.array(getattr(im, name)) for name in _COMPONENTS[:components]]
    planes = [np.array(a, copy=True) for a in original]
    qts = [int(np.asarray(im.get_component_qt(c))[0, 0]) for c in range(components)]
    wiped = [np.zeros(p.shape[:2], dtype=bool) for p in planes]
    dcs = [np.zeros(p.shape[:2], dtype=np.int32) for p in planes]
    aligned: list[Rect] = []
    targets: list[tuple[int, ...]] = []
    for box in boxes:
        region = align(box.rect, mcu_w, mcu_h, model.columns, model.rows)
        values = _component_targets(model, space, box, ds, components)
        aligned.append(region)
        targets.append(tuple(int(v) for v in values))
        for c, (plane, (sx, sy)) in enumerate(zip(planes, scales)):
            bw, bh = 8 * sx, 8 * sy
            by0, by1 = region.top // bh, -(-region.bottom // bh)
            bx0, bx1 = region.left // bw, -(-region.right // bw)
            dc = _dc_for(values[c], qts[c])
            plane[by0:by1, bx0:bx1] = 0
            plane[by0:by1, bx0:bx1, 0, 0] = dc
            wiped[c][by0:by1, bx0:bx1] = True
            dcs[c][by0:by1, bx0:bx1] = dc
    for name, plane in zip(_COMPONENTS, planes):
        setattr(im, name, plane)
    im.markers = []
    try:
        im.write_dct(str(dst), flags=["+OPTIMIZE_CODING"])
    except Exception as exc:
        raise DctUnavailable(f"the JPEG frame cannot be rewritten ({exc})") from None
    data = _restore_app_segments(dst.read_bytes(), original_segments)
    dst.write_bytes(data)
    _verify_coefficients(dst, original, wiped, dcs)
    _verify_pixels(data, aligned, targets, qts[0], components)
    src.unlink()
    dst.unlink()
    return data, aligned, targets


def _verify_coefficients(path: Path, original: list[np.ndarray], wiped: list[np.ndarray],
                         dcs: list[np.ndarray]) -> None:
    import jpeglib

    again = jpeglib.read_dct(str(path))
    again.load()
    for c, name in enumerate(_COMPONENTS[:len(original)]):
        got = np.asarray(getattr(again, name))
        if got.shape != original[c].shape:
            raise RedactionError("verification failed: the rewritten JPEG has a different block layout")
        keep = ~wiped[c]
        if not np.array_equal(got[keep], original[c][keep]):
            raise RedactionError("verification failed: DCT coefficients outside the rectangles changed")
        flat = got[wiped[c]].reshape(-1, 64)
        if flat.size and (np.any(flat[:, 1:]) or not np.array_equal(flat[:, 0], dcs[c][wiped[c]])):
            raise RedactionError("verification failed: a redacted JPEG block still holds image detail")


def _verify_pixels(after: bytes, aligned: list[Rect], targets: list[tuple[int, ...]], q: int,
                   components: int) -> None:
    """Independent decode (libjpeg-turbo): the first component shows the *requested* fill inside
    every box — exactly for black/white (the DC saturates), within half a quantisation step
    otherwise. Outside the boxes the coefficient check already proved every block identical, and
    an 8×8 block's first component depends on its own coefficients only.
    """
    import imagecodecs

    # Same in/out colour space: libjpeg-turbo hands back the raw components (Y or R first).
    space = "YCBCR" if components == 3 else None
    new = np.asarray(imagecodecs.jpeg8_decode(after, colorspace=space, outcolorspace=space))
    new0 = new[..., 0] if new.ndim == 3 else new
    for rect, target in zip(aligned, targets):
        want = target[0]
        tolerance = 0 if want in (0, 255) else q // 16 + 1
        region = new0[rect.top:rect.bottom, rect.left:rect.right].astype(np.int16)
        if region.size == 0 or np.any(np.abs(region - want) > tolerance):
            raise RedactionError(f"verification failed: rectangle {rect} is not filled in the decoded JPEG")


def redact_jpeg_baseline(ds: Dataset, model: ImageModel, boxes: Sequence[Box]) -> Outcome:
    """Wipe the blocks under ``boxes`` in every frame; raise DctUnavailable to ask for the fallback."""
    try:
        import imagecodecs  # noqa: F401
        import jpeglib  # noqa: F401
    except ImportError as exc:
        raise DctUnavailable(f"{exc.name} is not installed") from None
    if model.bits_allocated != 8:
        raise DctUnavailable("JPEG Baseline with Bits Allocated other than 8")
    out: list[bytes] = []
    aligned: list[Rect] = []
    targets: list[tuple[int, ...]] = []
    workers = max(1, min(WORKERS, os.cpu_count() or 1))
    # jpeglib only reads and writes files: they live in this process's private runtime folder
    # (in RAM when the OS has one), which a crash does not leave behind (``core.runtime``).
    with tempfile.TemporaryDirectory(prefix="xnat-redact-", dir=process_folder()) as tmp, \
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dct") as pool:
        os.chmod(tmp, 0o700)
        workdir = Path(tmp)
        frames = enumerate(generate_frames(ds.PixelData, number_of_frames=model.frames))
        # libjpeg runs without the GIL (ctypes); a window of 2 frames per worker bounds memory.
        while True:
            window = list(islice(frames, 2 * workers))
            if not window:
                break
            futures = [pool.submit(_wipe, workdir, i, f, model, boxes, ds) for i, f in window]
            for future in futures:
                data, aligned, targets = future.result()
                out.append(data)
    if len(out) < model.frames:  # more is fine: frames beyond Number of Frames are wiped too
        raise RedactionError(f"only {len(out)} of {model.frames} JPEG frames were found")
    pixel = encapsulate_frames(out)
    check_encapsulation(pixel, out)
    painted = list(zip(aligned, targets))
    return Outcome(pixel, JPEGBaseline8Bit, model, "dct", len(out), True, painted)
