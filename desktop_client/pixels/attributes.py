"""Reading the few header values redaction needs without converting pydicom's raw elements.

Redaction runs on every object of an upload, and pydicom's element conversion (plus keyword
access) costs more than painting a CT slice: reading the Image Pixel module through it took about
a tenth of the whole read+write time. Elements that were never touched also stay raw, so the
writer copies their bytes instead of re-encoding them. Only values whose encoding is unambiguous
are decoded here (a US word of exactly two bytes, a short ASCII string); anything else goes through
pydicom, so an odd file is read exactly as pydicom reads it.
"""

from __future__ import annotations

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

PIXEL_PADDING_VALUE, SMALLEST_IMAGE_PIXEL_VALUE, LARGEST_IMAGE_PIXEL_VALUE = 0x00280120, 0x00280106, 0x00280107
ROWS, COLUMNS, SAMPLES_PER_PIXEL = 0x00280010, 0x00280011, 0x00280002
BITS_ALLOCATED, BITS_STORED, HIGH_BIT, PIXEL_REPRESENTATION = 0x00280100, 0x00280101, 0x00280102, 0x00280103
PHOTOMETRIC_INTERPRETATION, PLANAR_CONFIGURATION, NUMBER_OF_FRAMES = 0x00280004, 0x00280006, 0x00280008
SOP_INSTANCE_UID, MEDIA_STORAGE_SOP_INSTANCE_UID = 0x00080018, 0x00020003
BURNED_IN_ANNOTATION, TRANSFER_SYNTAX_UID = 0x00280301, 0x00020010

#: Tags whose only VR is US (PS3.6), so two raw bytes are the whole value.
_US_TAGS = frozenset({ROWS, COLUMNS, SAMPLES_PER_PIXEL, BITS_ALLOCATED, BITS_STORED, HIGH_BIT,
                      PIXEL_REPRESENTATION, PLANAR_CONFIGURATION})
#: Tags with a single-valued text VR (CS, UI) decoded as stripped ASCII. Number of Frames (IS)
#: is left to pydicom, whose IS accepts forms like "3.0".
_TEXT_TAGS = frozenset({PHOTOMETRIC_INTERPRETATION, SOP_INSTANCE_UID, MEDIA_STORAGE_SOP_INSTANCE_UID,
                        BURNED_IN_ANNOTATION, TRANSFER_SYNTAX_UID})


def value(ds: Dataset, tag: int) -> object:
    """The value of ``tag`` in ``ds`` (None when absent), as pydicom would give it for valid data.

    US tags give an ``int``; text tags give a ``str`` stripped of padding. Raw elements with an
    unexpected VR or length fall back to pydicom's own conversion.
    """
    elem = ds.get_item(tag)
    if elem is None:
        return None
    if isinstance(elem, RawDataElement) and elem.VR in (None, "US", "CS", "UI"):
        data = elem.value
        if not data:
            return None if tag in _US_TAGS else ""
        if tag in _US_TAGS and len(data) == 2 and elem.VR in (None, "US"):
            return int.from_bytes(data, "little" if elem.is_little_endian else "big")
        if tag in _TEXT_TAGS and elem.VR != "US" and b"\\" not in data:
            try:
                return data.decode("ascii").strip(" \x00")
            except UnicodeDecodeError:
                pass
    return ds[tag].value


def pixel_word(ds: Dataset, tag: int, signed: bool) -> int | None:
    """A "US or SS" pixel-value element (Pixel Padding Value, Smallest/Largest Image Pixel Value).

    Read raw when it is one 2-byte word: pydicom resolves these VRs by Pixel Representation on
    every conversion, which costs more than painting a CT slice. Same rule here (an explicit VR
    wins; an implicit one is SS for ``signed`` data); anything else goes through pydicom. None
    when absent or not one whole number (undecoded bytes, several values): callers then leave
    the element alone.
    """
    elem = ds.get_item(tag)
    if elem is None:
        return None
    if isinstance(elem, RawDataElement) and isinstance(elem.value, bytes) and len(elem.value) == 2 \
            and elem.VR in (None, "US", "SS"):
        return int.from_bytes(elem.value, "little" if elem.is_little_endian else "big",
                              signed=elem.VR == "SS" or (elem.VR is None and signed))
    word = ds[tag].value
    return int(word) if isinstance(word, int) else None
