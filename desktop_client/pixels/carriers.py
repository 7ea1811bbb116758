"""PHI carriers beside the main Pixel Data: the Icon Image Sequence and overlay planes.

A thumbnail of the image (Icon Image Sequence, Annex E action X) shows the same burned-in text,
so it is removed from every redacted object, at any depth. Overlay Data (60xx,3000) lying under a
redaction box is cleared bit by bit (PS3.3 C.9.2: Overlay Origin is 1-based, bits are packed
little-end first), or every overlay group is removed when the caller asks for it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.datadict import DicomDictionary
from pydicom.tag import Tag

from desktop_client.core.geometry import Rect

ICON_IMAGE_SEQUENCE = Tag(0x0088, 0x0200)
_MAYBE_SQ = frozenset({"SQ", None})  # None: an implicit VR raw element
#: Public sequences (what the dictionary knows an implicit VR element to be).
_SEQUENCE_TAGS = frozenset(tag for tag, entry in DicomDictionary.items() if entry[0] == "SQ")
_ICON_LE, _ICON_BE = b"\x88\x00\x00\x02", b"\x00\x88\x02\x00"
OVERLAY_GROUPS = range(0x6000, 0x6020, 2)
_OVERLAY_GROUP_SET = frozenset(OVERLAY_GROUPS)


def remove_icons(ds: Dataset) -> bool:
    """Delete every Icon Image Sequence in ``ds`` (top level and nested); True if one was found."""
    found = False
    if ICON_IMAGE_SEQUENCE in ds:
        del ds[ICON_IMAGE_SEQUENCE]
        found = True
    # Walk the raw elements: a sequence is parsed only when its bytes could hold an icon
    # (converting every element of a large header costs more than the redaction itself).
    sequences = [elem.tag for elem in ds.values() if elem.VR in _MAYBE_SQ and _may_hold_icon(elem)]
    for tag in sequences:
        for item in ds[tag].value or []:
            found = remove_icons(item) or found
    return found


def _may_hold_icon(elem: DataElement | RawDataElement) -> bool:
    """True for a sequence that may nest an Icon Image Sequence.

    A raw sequence's bytes must contain the icon tag in the dataset's byte order for that to be
    possible, whatever the VR encoding or lengths inside; a match that is not really a tag only
    costs parsing the sequence.
    """
    if elem.VR is None and elem.tag not in _SEQUENCE_TAGS:  # implicit VR raw element
        return False
    if isinstance(elem, RawDataElement) and isinstance(elem.value, bytes):
        return (_ICON_LE if elem.is_little_endian else _ICON_BE) in elem.value
    return True


def remove_overlays(ds: Dataset) -> int:
    """Delete all overlay groups (60xx); return how many groups were present."""
    removed = 0
    for group in OVERLAY_GROUPS:
        tags = [elem.tag for elem in ds.group_dataset(group)]
        if tags:
            removed += 1
            for tag in tags:
                del ds[tag]
    return removed


def _groups_with_overlay_data(ds: Dataset) -> list[int]:
    """Overlay groups holding Overlay Data, found with one pass over the tags (most images have none)."""
    return [tag >> 16 for tag in ds.keys() if tag & 0xFFFF == 0x3000 and (tag >> 16) in _OVERLAY_GROUP_SET]


def clear_overlays(ds: Dataset, rects: Sequence[Rect]) -> int:
    """Clear the overlay bits under ``rects`` (image coordinates); return overlays touched."""
    touched = 0
    for group in _groups_with_overlay_data(ds):
        data_tag = Tag(group, 0x3000)
        if not ds[data_tag].value:
            continue
        rows = int(ds.get(Tag(group, 0x0010)).value) if Tag(group, 0x0010) in ds else 0
        cols = int(ds.get(Tag(group, 0x0011)).value) if Tag(group, 0x0011) in ds else 0
        if rows <= 0 or cols <= 0:
            continue
        origin = ds[Tag(group, 0x0050)].value if Tag(group, 0x0050) in ds else [1, 1]
        origin_row, origin_col = int(origin[0]), int(origin[1])
        frames = int(ds[Tag(group, 0x0015)].value or 1) if Tag(group, 0x0015) in ds else 1
        raw = bytes(ds[data_tag].value)
        total = rows * cols * frames
        if len(raw) * 8 < total:
            frames = max(1, (len(raw) * 8) // (rows * cols))
            total = rows * cols * frames
        bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")
        plane = bits[:total].reshape(frames, rows, cols)
        changed = False
        for rect in rects:
            top = max(0, rect.top - (origin_row - 1))
            bottom = min(rows, rect.bottom - (origin_row - 1))
            left = max(0, rect.left - (origin_col - 1))
            right = min(cols, rect.right - (origin_col - 1))
            if top < bottom and left < right and plane[:, top:bottom, left:right].any():
                plane[:, top:bottom, left:right] = 0
                changed = True
        if changed:
            packed = np.packbits(bits, bitorder="little").tobytes()[:len(raw)]
            ds[data_tag].value = packed + raw[len(packed):]
            touched += 1
    return touched
