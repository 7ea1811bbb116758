"""Previews and thumbnails: what the user sees is what will be sent.

``render`` takes one frame (the middle one by default), and when rectangles are given it runs the
very ``redact_dataset`` used at upload on a one-frame copy of the object, then decodes the
result: for JPEG Baseline the preview therefore shows the block-aligned wipe, for 4:2:2 data the
pixel-pair widening, for MONOCHROME1 the right "black". Display conversion is then done per model
in C (libjpeg-turbo for JPEG colour, Pillow for YBR and resizing, float32 on one frame for
windowing), never float64 over whole cines.
"""

from __future__ import annotations

from dataclasses import replace

import copy
import os
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import generate_frames
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, JPEGBaseline8Bit

from desktop_client.core import paths
from desktop_client.core.errors import one_line
from desktop_client.core.privacy import keyed_hash
from desktop_client.core.geometry import BLACK, Fill, PixelEdit, Rect
from desktop_client.core.transfer_syntaxes import NATIVE
from desktop_client.pixels import native
from desktop_client.pixels.codecs import decode_frames, encapsulate_frames
from desktop_client.pixels.engine import light_copy, redact_dataset, transfer_syntax_of
from desktop_client.pixels.errors import RedactionError
from desktop_client.pixels.imagemodel import ImageModel
from desktop_client.pixels.isolation import run_isolated
from desktop_client.pixels.sanity import check_declared_size
from desktop_client.scanning.model import Instance

_KEEP_TOP_LEVEL = ("SOPInstanceUID", "SOPClassUID", "Modality")


def _load(source: object) -> Dataset:
    if isinstance(source, Dataset):
        return source
    if isinstance(source, Instance):
        from desktop_client.scanning import read_dataset

        return read_dataset(source.location, stop_before_pixels=False)
    if isinstance(source, (str, os.PathLike)):
        try:
            return pydicom.dcmread(os.fspath(source))
        except Exception as exc:
            raise RedactionError(f"{os.fspath(source)} cannot be read as DICOM ({exc})") from None
    raise TypeError(f"cannot render a {type(source).__name__}")


def _frame_bytes(ds: Dataset, ts: str, model: ImageModel, index: int) -> bytes:
    if ts in NATIVE:
        raw = bytes(ds.PixelData)
        if model.bits_allocated == 1:
            bits = np.unpackbits(np.frombuffer(raw, np.uint8), bitorder="little")
            n = model.rows * model.columns
            frame = np.packbits(bits[index * n:(index + 1) * n], bitorder="little").tobytes()
        else:
            size = model.native_frame_bits // 8
            frame = raw[index * size:(index + 1) * size]
        return frame + b"\x00" * (len(frame) % 2)
    for i, frame in enumerate(generate_frames(ds.PixelData, number_of_frames=model.frames)):
        if i == index:
            return encapsulate_frames([frame])
    raise RedactionError(f"frame {index + 1} is missing from the pixel data")


def single_frame(ds: Dataset, index: int) -> Dataset:
    """A private one-frame copy of ``ds`` (pixel module only) that redaction may change freely."""
    model = ImageModel.from_dataset(ds)
    ts = transfer_syntax_of(ds)
    if not 0 <= index < model.frames:
        raise RedactionError(f"frame {index + 1} does not exist (the image has {model.frames})")
    one = Dataset()
    one.file_meta = FileMetaDataset()
    one.file_meta.TransferSyntaxUID = UID(ts)
    for elem in ds:
        if elem.tag.group == 0x0028 or elem.keyword in _KEEP_TOP_LEVEL:
            one.add(copy.deepcopy(elem))
    if "NumberOfFrames" in one:
        one.NumberOfFrames = 1
    source = ds
    if ts == ExplicitVRBigEndian:
        # Frames of bit-packed or OW data can only be cut from little-endian bytes: convert the
        # copy (pixel words and LUT words alike) before slicing; redaction would do it anyway.
        source = Dataset()
        source.PixelData = native.swap_words(bytes(ds.PixelData), _be_word(ds, model))
        native.swap_dataset_words(one)
        ts = ExplicitVRLittleEndian
        one.file_meta.TransferSyntaxUID = ts
    one.PixelData = _frame_bytes(source, ts, model, index)
    one["PixelData"].VR = ds["PixelData"].VR
    one["PixelData"].is_undefined_length = ts not in NATIVE
    meta_ts = pydicom.uid.UID(ts)
    one.set_original_encoding(meta_ts.is_implicit_VR if ts in NATIVE else False,
                              meta_ts.is_little_endian if ts in NATIVE else True)
    return one


def _be_word(ds: Dataset, model: ImageModel) -> int:
    if model.bits_allocated >= 16:
        return model.bits_allocated // 8
    return 2 if ds["PixelData"].VR == "OW" else 1


def _window(values: np.ndarray, ds: Dataset) -> np.ndarray:
    """Monochrome values (after the modality LUT) to 0..255 by window, VOI LUT or percentiles."""
    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if center is not None and width is not None:
        c = float(center[0] if isinstance(center, pydicom.multival.MultiValue) else center)
        w = float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width)
        if w > 1:
            scaled = ((values - (c - 0.5)) / (w - 1) + 0.5) * 255.0
            return np.clip(scaled, 0, 255).astype(np.uint8)
    sample = values[:: max(1, values.shape[0] // 256), :: max(1, values.shape[1] // 256)]
    lo, hi = np.percentile(sample, (0.5, 99.5)) if sample.size else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1
    return np.clip((values - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)


def _monochrome(arr: np.ndarray, ds: Dataset, model: ImageModel) -> np.ndarray:
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    if model.bits_allocated == 1:
        grey = (arr.astype(np.uint8) * 255)
    elif "VOILUTSequence" in ds and "WindowCenter" not in ds:
        out = apply_voi_lut(arr, ds).astype(np.float32)
        descriptor = ds.VOILUTSequence[0].LUTDescriptor
        top = float((1 << int(descriptor[2])) - 1) if int(descriptor[2]) > 0 else float(out.max() or 1)
        grey = np.clip(out * (255.0 / top), 0, 255).astype(np.uint8)
    else:
        values = apply_modality_lut(arr, ds)
        grey = _window(np.asarray(values, dtype=np.float32), ds)
    if model.photometric == "MONOCHROME1":
        grey = 255 - grey
    return np.repeat(grey[..., np.newaxis], 3, axis=2)


def _to_rgb(arr: np.ndarray, ds: Dataset, model: ImageModel) -> np.ndarray:
    from PIL import Image

    pi = model.photometric
    if pi in ("MONOCHROME1", "MONOCHROME2"):
        return _monochrome(arr, ds, model)
    if pi == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        rgb = np.asarray(apply_color_lut(arr, ds))
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
        return (rgb >> 8).astype(np.uint8) if bits > 8 else rgb.astype(np.uint8)
    if model.bits_allocated > 8:
        arr = (arr >> max(0, model.bits_stored - 8)).astype(np.uint8)
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    if pi in ("YBR_FULL", "YBR_FULL_422"):
        return np.asarray(Image.fromarray(arr, "YCbCr").convert("RGB"))
    if pi.startswith("YBR_PARTIAL"):
        # Studio-range YCbCr (PS3.3 C.7.6.3.1.2, ITU-R BT.601); pydicom converts only YBR_FULL.
        ybr = arr.astype(np.float32) - np.array([16, 128, 128], dtype=np.float32)
        rgb = ybr @ np.array([[1.164, 1.164, 1.164], [0.0, -0.392, 2.017], [1.596, -0.813, 0.0]],
                             dtype=np.float32)
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return arr


def _decode_jpeg_rgb(one: Dataset, model: ImageModel) -> np.ndarray:
    """JPEG Baseline straight to RGB by libjpeg-turbo (its colour conversion is in SIMD C)."""
    import imagecodecs

    from desktop_client.pixels.dct import _header_segments, _stream_space

    frame = next(generate_frames(one.PixelData, number_of_frames=1))
    if model.samples == 1:
        grey = np.asarray(imagecodecs.jpeg8_decode(frame))
        return _monochrome(grey, one, model)
    space = _stream_space(_header_segments(frame)[0], model.photometric, 3)
    return np.asarray(imagecodecs.jpeg8_decode(frame, colorspace="RGB" if space == "RGB" else "YCBCR",
                                               outcolorspace="RGB"))


def _resize(rgb: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    if not size:
        return rgb
    from PIL import Image

    max_w, max_h = size
    h, w = rgb.shape[:2]
    scale = min(max_w / w, max_h / h)
    if scale >= 1:
        return rgb
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(rgb).resize(new, Image.Resampling.BILINEAR, reducing_gap=2.0))


def render(source: Instance | Dataset | str | os.PathLike[str], frame: int | None = None,
           rectangles: Sequence[Rect] | None = None, size: tuple[int, int] | None = None,
           fill: Fill = BLACK) -> np.ndarray:
    """One frame as an (H, W, 3) uint8 RGB array; with ``rectangles``, redacted exactly as at upload.

    ``size`` is a (max width, max height) box; the aspect ratio is kept and images are never
    enlarged. Raises ``RedactionError`` when the object cannot be decoded or redacted.
    """
    ds = _load(source)
    try:
        model = ImageModel.from_dataset(ds)
        index = model.frames // 2 if frame is None else int(frame)
        one = single_frame(ds, index)
        ts = transfer_syntax_of(one)
        check_declared_size(one, ts, replace(model, frames=1))
        if ts in NATIVE:
            rgb = _render_one(one, list(rectangles or []), fill)
        else:  # native codecs decode here: in the helper process, where a crash costs one preview
            rgb = run_isolated(_render_one, one, list(rectangles or []), fill, ts=ts, size=len(one.PixelData))
    except (RedactionError, KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a malformed object is that object's failure, never the app's
        raise RedactionError(f"the image cannot be shown ({one_line(exc)})") from None
    return _resize(np.ascontiguousarray(rgb, dtype=np.uint8), size)


def _render_one(one: Dataset, rectangles: list[Rect], fill: Fill) -> np.ndarray:
    """A one-frame dataset (see :func:`single_frame`), redacted when boxes are given, as RGB."""
    if rectangles:
        redact_dataset(one, [PixelEdit(rect, fill) for rect in rectangles])
    ts = transfer_syntax_of(one)
    one_model = ImageModel.from_dataset(one)
    if ts == JPEGBaseline8Bit and one_model.bits_allocated == 8:
        return _decode_jpeg_rgb(one, one_model)
    decoded = decode_frames(one, ts, one_model, 1)
    arr = next(decoded.frames)
    return _to_rgb(np.asarray(arr), one, decoded.model)


def display_frame(ds: Dataset, index: int | None) -> np.ndarray:
    """``pydicom.pixels.pixel_array(ds, index=index, as_rgb=True)``, with compressed data decoded
    in the codec helper process (see isolation.py): the viewer's "before" image must not take the
    app down when a codec aborts on a malformed frame. Only that one frame travels to the helper
    when the image model allows cutting it out; raises ``RedactionError`` with the reason.
    """
    from pydicom.pixels import pixel_array

    ts = transfer_syntax_of(ds)
    if ts in NATIVE:
        return pixel_array(ds, index=index, as_rgb=True)
    try:
        model = ImageModel.from_dataset(ds)
        one = single_frame(ds, index or 0)
    except RedactionError:  # a model we do not redact: the helper still decodes it, whole
        return run_isolated(_pixel_array, light_copy(ds), index, ts=ts, size=len(ds.PixelData or b""))
    check_declared_size(one, ts, replace(model, frames=1))
    return run_isolated(_pixel_array, one, None, ts=ts, size=len(one.PixelData))


def _pixel_array(ds: Dataset, index: int | None) -> np.ndarray:
    from pydicom.pixels import pixel_array

    return pixel_array(ds, index=index, as_rgb=True)


#: Prefix of the current thumbnail names; a name without it is an older version's (an unkeyed
#: hash of the path) and is removed by :func:`expire_thumbnails`.
_PREFIX = "t2-"


def _thumbnail_key(instance: Instance, size: tuple[int, int], rectangles: Sequence[Rect] | None) -> str:
    """A keyed hash (this installation's secret, ``core.privacy``) of file, frame, size and boxes:
    the name says nothing about the path or patient, and cannot be matched against guessed paths."""
    location = instance.location
    try:
        stat = os.stat(location.path)
        stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
    except OSError:
        stamp = str(instance.size)
    rects = ";".join(str(r) for r in rectangles or [])
    return _PREFIX + keyed_hash("thumbnail", location.path, location.member or "", stamp,
                                instance.sop_instance_uid, str(instance.frames // 2), str(size), rects)


def thumbnail_dir() -> Path:
    """The thumbnail folder, private (0700) even when an older version or a umask made it not."""
    folder = paths.cache_dir() / "thumbnails"
    folder.mkdir(exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    return folder


def thumbnail(instance: Instance, size: tuple[int, int] = (128, 128),
              rectangles: Sequence[Rect] | None = None) -> np.ndarray:
    """``render`` of the middle frame, cached on disk by file, frame, size and boxes.

    The cache holds unredacted pixels of patients' images, so it is private (0700 folder, 0600
    files), its names are keyed hashes, and a thumbnail not used for the scan index's expiry
    (``scanning.cache.max_age_days``, default 30 days) is deleted: at the first thumbnail of a
    process and every ``PRUNE_EVERY`` writes. "Clear cached data" removes the folder."""
    global _writes, _expired
    folder = thumbnail_dir()
    if not _expired:
        _expired = True
        expire_thumbnails(folder)
    target = folder / f"{_thumbnail_key(instance, size, rectangles)}.npy"
    try:
        cached: np.ndarray = np.load(target, allow_pickle=False)
        if cached.dtype == np.uint8 and cached.ndim == 3 and cached.shape[2] == 3:
            os.utime(target)  # recently used: survives pruning and expiry
            return cached
    except (OSError, ValueError):
        pass
    rgb = render(instance, rectangles=rectangles, size=size)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=_PREFIX, suffix=".tmp")  # 0600 from the first byte
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, rgb, allow_pickle=False)
        os.replace(tmp, target)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
    _writes += 1
    if _writes % PRUNE_EVERY == 0:
        prune_thumbnails(folder)
        expire_thumbnails(folder)
    return rgb


#: The cache keeps at most this many thumbnails (≈ 50 KB each at 128×128), oldest used dropped first.
MAX_THUMBNAILS = 5000
PRUNE_EVERY = 200
_writes = 0
_expired = False


def expire_thumbnails(folder: Path | None = None, max_age_days: int | None = None) -> int:
    """Delete thumbnails not used for ``max_age_days`` (default: the scan index's setting), and
    any file of an older naming scheme; return how many were removed."""
    from desktop_client.scanning.cache import max_age_days as setting

    folder = thumbnail_dir() if folder is None else folder
    cutoff = time.time() - (setting() if max_age_days is None else max_age_days) * 86400
    removed = 0
    for entry in os.scandir(folder):
        try:
            stale = not entry.name.startswith(_PREFIX) or entry.stat().st_mtime < cutoff
            if stale and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


def prune_thumbnails(folder: Path, keep: int | None = None) -> int:
    """Delete the least recently used thumbnails beyond ``keep``; return how many were removed."""
    keep = MAX_THUMBNAILS if keep is None else keep
    entries = []
    for entry in os.scandir(folder):
        if entry.name.endswith(".npy"):
            try:
                st = entry.stat()
            except OSError:
                continue
            entries.append((max(st.st_atime, st.st_mtime), entry.path))
    entries.sort(reverse=True)
    removed = 0
    for _, path in entries[keep:]:
        try:
            os.unlink(path)
            removed += 1
        except OSError:
            pass
    return removed
