"""Native (uncompressed) Pixel Data edited in place, whatever the layout.

The stored bytes are viewed as NumPy arrays laid out exactly as PS3.5 8.1.1 / PS3.3 C.7.6.3
describe them (frame, then colour-by-pixel or colour-by-plane, YBR_422 pixel pairs, bit-packed
Bits Allocated 1), and the rectangles are painted through those views: no decode, no copy of the
frames, no colour conversion. Frames present beyond Number of Frames are painted too.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from desktop_client.core.geometry import Rect
from desktop_client.pixels.errors import RedactionError
from desktop_client.pixels.imagemodel import ImageModel
from desktop_client.pixels.regions import widen_to_pairs

_SWAP_SIZES = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}
#: Raw values of these VRs are arrays of words of this size (AT: two 2-byte words per tag).
_RAW_SWAP_SIZES = {**_SWAP_SIZES, "US": 2, "SS": 2, "AT": 2, "UL": 4, "SL": 4, "FL": 4, "FD": 8,
                   "SV": 8, "UV": 8}


def native_frame_count(data: bytes, model: ImageModel) -> int:
    """Whole frames held in native Pixel Data ``data``; refuse inconsistent lengths.

    More frames than Number of Frames is accepted (those frames are painted too); fewer is
    refused, and so is a trailing partial frame, unless its bytes are all zero (padding some
    writers add): we could not say which pixels stray bytes belong to, so we could not promise
    they are clean.
    """
    frame_bits = model.native_frame_bits
    count = (len(data) * 8) // frame_bits
    if count < model.frames:
        raise RedactionError(f"Pixel Data holds {count} whole frame(s) but Number of Frames says {model.frames}")
    spare_bits = len(data) * 8 - count * frame_bits
    if spare_bits > 16 and any(data[(count * frame_bits + 7) // 8:]):
        raise RedactionError(f"Pixel Data has {spare_bits // 8} trailing byte(s) that are not a whole frame")
    return count


def swap_words(data: bytes, size: int) -> bytes:
    """``data`` as big-endian words of ``size`` bytes re-written little endian (tail kept)."""
    if size <= 1 or not data:
        return data
    usable = len(data) - len(data) % size
    arr = np.frombuffer(data, dtype=f">u{size}", count=usable // size)
    return arr.astype(f"<u{size}").tobytes() + data[usable:]


def swap_dataset_words(ds: Dataset) -> None:
    """Make every element except Pixel Data little endian, recursively (Big → Little Endian).

    Raw elements (never read) have their value bytes swapped per VR and stay raw, flagged little
    endian: converting each one through pydicom and writing it again cost more than twice the
    whole read+write of a CT slice. Elements already converted are numbers, which pydicom
    re-encodes itself, except byte strings (LUT data, overlay data), which it would leave in big
    endian order and so corrupt silently: those are swapped here. Sequences are parsed (while
    the dataset is still Big Endian) and their items converted the same way. UN values are opaque
    and left as they are.
    """
    for elem in list(ds.values()):
        if elem.tag == 0x7FE00010:
            continue
        if isinstance(elem, RawDataElement) and not elem.is_little_endian and elem.VR not in (None, "SQ") \
                and isinstance(elem.value, bytes):
            size = _RAW_SWAP_SIZES.get(elem.VR)
            value = swap_words(elem.value, size) if size else elem.value
            ds[elem.tag] = elem._replace(value=value, is_little_endian=True)
            continue
        elem = ds[elem.tag]  # converts a raw element with the dataset's (big endian) encoding
        if elem.VR == "SQ":
            for item in elem.value or []:
                swap_dataset_words(item)
                item.set_original_encoding(False, True, item.original_character_set)
        elif elem.VR in _SWAP_SIZES and isinstance(elem.value, (bytes, bytearray)):
            elem.value = swap_words(bytes(elem.value), _SWAP_SIZES[elem.VR])


def frames_view(buf: bytes | bytearray, model: ImageModel, count: int) -> np.ndarray:
    """View of ``count`` frames (writable for a bytearray): (F,R,C), (F,R,C,3), (F,3,R,C) or
    (F,R,⌈C/2⌉,4) for 4:2:2 (an odd width ends with a pair whose second luma is padding, the
    layout XNAT's handler reads and writes)."""
    ba = model.bits_allocated
    dtype = np.dtype(f"<u{ba // 8}")
    rows, cols = model.rows, model.columns
    if model.is_ybr_422_native:
        if ba != 8:
            raise RedactionError(f"PhotometricInterpretation of {model.photometric} with BitsAllocated of {ba} "
                                 "is not a layout this understands, cannot alter pixels.")
        shape: tuple[int, ...] = (count, rows, (cols + 1) // 2, 4)  # odd width: last pair padded
    elif model.samples == 1:
        shape = (count, rows, cols)
    elif model.planar == 1:
        shape = (count, 3, rows, cols)
    else:
        shape = (count, rows, cols, 3)
    n = int(np.prod(shape))
    return np.frombuffer(buf, dtype=dtype, count=n).reshape(shape)


def painted_copy(data: bytes, model: ImageModel, boxes: list[tuple[Rect, tuple[int, ...]]],
                 count: int) -> tuple[bytes, list[Rect], tuple[int, int] | None]:
    """New Pixel Data: ``data`` with the boxes painted; also the regions painted and the band.

    For one sample per pixel (each frame's rows one contiguous run of bytes) only the band of
    rows the boxes touch is copied and painted, and the result is joined from the bands and
    untouched slices of ``data``: one pass over the pixel bytes instead of two (a copy to paint,
    a copy back to ``bytes``), on every CT slice of an upload. The band ``(top, bottom)`` is
    returned so the check can compare the rest byte for byte; None when a full copy was painted.
    """
    if not boxes or model.samples != 1 or model.bits_allocated < 8:
        buf = bytearray(data)
        regions = paint(buf, model, boxes, count)
        return bytes(buf), regions, None
    row_bytes = model.columns * model.bits_allocated // 8
    frame_bytes = row_bytes * model.rows
    top = min(rect.top for rect, _ in boxes)
    bottom = max(rect.bottom for rect, _ in boxes)
    band_model = replace(model, rows=bottom - top, frames=1)
    shifted = [(Rect(rect.left, rect.top - top, rect.right, rect.bottom - top), words) for rect, words in boxes]
    view = memoryview(data)
    pieces: list[bytes | bytearray | memoryview] = []
    start = 0
    for frame in range(count):
        first = frame * frame_bytes + top * row_bytes
        last = frame * frame_bytes + bottom * row_bytes
        band = bytearray(view[first:last])
        paint(band, band_model, shifted, 1)
        pieces += (view[start:first], band)
        start = last
    pieces.append(view[start:])
    return b"".join(pieces), [rect for rect, _ in boxes], (top, bottom)


def paint(buf: bytearray, model: ImageModel, boxes: list[tuple[Rect, tuple[int, ...]]],
          count: int) -> list[Rect]:
    """Paint stored words into ``buf``; return the regions actually painted (422 widened to pairs)."""
    if model.photometric == "YBR_PARTIAL_420":
        raise RedactionError("PhotometricInterpretation of YBR_PARTIAL_420 shares chroma samples between rows, "
                             "so a rectangle is not a range of bytes, cannot alter pixels.")
    painted: list[Rect] = []
    if model.bits_allocated == 1:
        if model.samples != 1:
            raise RedactionError("Bits Allocated 1 is only valid for single-sample images")
        total = count * model.rows * model.columns
        packed = np.frombuffer(buf, dtype=np.uint8)
        bits = np.unpackbits(packed, bitorder="little")[:total].reshape(count, model.rows, model.columns)
        for rect, (value,) in boxes:
            bits[:, rect.top:rect.bottom, rect.left:rect.right] = value & 1
            painted.append(rect)
        repacked = np.packbits(bits.reshape(-1), bitorder="little")
        full = total // 8
        buf[:full] = repacked[:full].tobytes()
        if total % 8:  # keep the bits after the last pixel exactly as they were
            keep = (0xFF << (total % 8)) & 0xFF
            buf[full] = (buf[full] & keep) | (int(repacked[full]) & ~keep & 0xFF)
        return painted
    view = frames_view(buf, model, count)
    for rect, words in boxes:
        t, b, l, r = rect.top, rect.bottom, rect.left, rect.right
        if model.is_ybr_422_native:
            rect = widen_to_pairs(rect, model.columns)
            p0, p1 = rect.left // 2, (rect.right + 1) // 2  # a box reaching an odd last column takes its pair
            y, cb, cr = words
            view[:, t:b, p0:p1, 0:2] = y
            view[:, t:b, p0:p1, 2] = cb
            view[:, t:b, p0:p1, 3] = cr
        elif model.samples == 1:
            view[:, t:b, l:r] = words[0]
        elif model.planar == 1:
            for k in range(3):
                view[:, k, t:b, l:r] = words[k]
        else:
            view[:, t:b, l:r, :] = np.asarray(words, dtype=view.dtype)
        painted.append(rect)
    return painted
