"""Native (uncompressed) Pixel Data edited in place, whatever the layout.

The stored bytes are viewed as NumPy arrays laid out exactly as PS3.5 8.1.1 / PS3.3 C.7.6.3
describe them (frame, then colour-by-pixel or colour-by-plane, YBR_422 pixel pairs, bit-packed
Bits Allocated 1), and the rectangles are painted through those views: no decode, no copy of the
frames, no colour conversion. Frames present beyond Number of Frames are painted too.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset

from desktop_client.core.geometry import Rect
from desktop_client.pixels.errors import RedactionError
from desktop_client.pixels.imagemodel import ImageModel
from desktop_client.pixels.regions import widen_to_pairs

_SWAP_SIZES = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


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
    """Swap every OW/OF/OL/OD/OV value except Pixel Data, recursively (Big → Little Endian).

    pydicom re-encodes numbers itself when a Big Endian dataset is written as Little Endian, but
    leaves these byte strings (LUT data, overlay data) in the original order, which would corrupt
    them silently. Iterating converts every raw element while the dataset is still Big Endian.
    UN values are opaque and left as they are.
    """
    for elem in ds:  # iterating converts raw elements with the dataset's (big endian) encoding
        if elem.VR == "SQ":
            for item in elem.value or []:
                swap_dataset_words(item)
        elif elem.tag == 0x7FE00010:
            continue
        elif elem.VR in _SWAP_SIZES and isinstance(elem.value, (bytes, bytearray)):
            elem.value = swap_words(bytes(elem.value), _SWAP_SIZES[elem.VR])


def frames_view(buf: bytes | bytearray, model: ImageModel, count: int) -> np.ndarray:
    """View of ``count`` frames (writable for a bytearray): (F,R,C), (F,R,C,3), (F,3,R,C) or
    (F,R,C/2,4) for 4:2:2."""
    ba = model.bits_allocated
    dtype = np.dtype(f"<u{ba // 8}")
    rows, cols = model.rows, model.columns
    if model.is_ybr_422_native:
        if ba != 8 or cols % 2:
            raise RedactionError("YBR 4:2:2 data must be 8-bit with an even number of columns")
        shape: tuple[int, ...] = (count, rows, cols // 2, 4)
    elif model.samples == 1:
        shape = (count, rows, cols)
    elif model.planar == 1:
        shape = (count, 3, rows, cols)
    else:
        shape = (count, rows, cols, 3)
    n = int(np.prod(shape))
    return np.frombuffer(buf, dtype=dtype, count=n).reshape(shape)


def paint(buf: bytearray, model: ImageModel, boxes: list[tuple[Rect, tuple[int, ...]]],
          count: int) -> list[Rect]:
    """Paint stored words into ``buf``; return the regions actually painted (422 widened to pairs)."""
    if model.photometric == "YBR_PARTIAL_420":
        raise RedactionError("native YBR_PARTIAL_420 shares chroma samples between rows and cannot be edited")
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
            p0, p1 = rect.left // 2, rect.right // 2
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
