"""Which SOP classes are images a person could have burned text into.

The official client calls any series with Rows/Columns an image, so RT Dose (a dose grid) ends up
in the "valid" groups offered for redaction. We decide from the SOP class itself: a class is an
image storage class when its registered name says "Image Storage" (plus the enhanced US volume,
which is an image in all but name). Anything else, including private classes we cannot name, is a
non-image: it is never redacted, only uploaded or excluded by an explicit choice.
"""

from __future__ import annotations

from functools import lru_cache

from pydicom.uid import UID

_EXTRA_IMAGE_CLASSES = frozenset({"1.2.840.10008.5.1.4.1.1.6.2"})  # Enhanced US Volume Storage


@lru_cache(maxsize=512)
def sop_class_name(uid: str) -> str:
    """Human name of a SOP class ("CT Image Storage"), or the UID itself when unknown."""
    if not uid:
        return "(no SOP class)"
    name = UID(uid).name
    return name if name and name != uid else uid


@lru_cache(maxsize=512)
def is_image_storage(uid: str) -> bool:
    """True for SOP classes whose objects are images (CT, MR, US, SC, XA, WSI, ...)."""
    if uid in _EXTRA_IMAGE_CLASSES:
        return True
    name = UID(uid).name if uid else ""
    return "Image Storage" in name
