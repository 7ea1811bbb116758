"""Header-only reading of one DICOM object into an :class:`Instance` (or a reasoned skip).

Why not ``dcmread``: the scanner must touch as few bytes as possible. We let pydicom parse only
the attributes we need (``specific_tags``) and stop at the first pixel data element, so a 512×512
slice costs one or two small reads. Stopping there also tells us, for free, whether the object
has pixel data and whether the file is long enough to hold it (a cheap truncation check).

DICOM is recognised by content: the ``DICM`` magic at offset 128, or a raw dataset (no preamble)
whose first element looks like a real group-0008 (or 0002) element in either VR encoding.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, BinaryIO

from desktop_client.core.errors import one_line
from desktop_client.scanning import fastheader
from desktop_client.scanning.model import Instance, Location, Skipped

if TYPE_CHECKING:  # pydicom is imported when first needed (see parse_header)
    from pydicom.dataset import Dataset

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
_IMPLICIT_LE = "1.2.840.10008.1.2"
_EXPLICIT_LE = "1.2.840.10008.1.2.1"
_DEFLATED_LE = "1.2.840.10008.1.2.1.99"
_EXPLICIT_BE = "1.2.840.10008.1.2.2"
_PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
_UNDEFINED = 0xFFFFFFFF
#: Bytes read up front; enough for nearly every header, larger ones are re-read from the source.
PREFIX_BYTES = 16 * 1024

_WANTED = [
    0x00080005,  # Specific Character Set (to decode names correctly)
    0x00080016, 0x00080018, 0x00080020, 0x00080030, 0x00080050, 0x00080060, 0x00080070,
    0x00081010, 0x00081030, 0x0008103E, 0x00081090,
    0x00100010, 0x00100020,
    0x0020000D, 0x0020000E, 0x00200010, 0x00200011, 0x00200013,
    0x00280002, 0x00280004, 0x00280008, 0x00280010, 0x00280011, 0x00280100, 0x00280101,
    0x00280103, 0x00280301,
]
_VRS = frozenset(
    b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN "
    b"UR US UT UV".split()
)


class _Stop:
    """``stop_when`` callback that notes whether (and where) pixel data was reached."""

    __slots__ = ("fp", "pixel_length", "pixel_offset", "seen")

    def __init__(self, fp: BinaryIO) -> None:
        self.fp = fp
        self.seen = False
        self.pixel_length = 0
        self.pixel_offset = 0

    def __call__(self, tag: int, vr: str | None, length: int) -> bool:
        if tag in _PIXEL_TAGS:
            self.seen = True
            self.pixel_length = length
            self.pixel_offset = self.fp.tell()
            return True
        return False


def looks_like_raw_dataset(head: bytes) -> bool:
    """True when ``head`` plausibly starts a DICOM dataset written without a Part-10 preamble."""
    if len(head) < 8:
        return False
    for fmt in ("<HH", ">HH"):
        group, element = struct.unpack(fmt, head[:4])
        if group not in (0x0002, 0x0008) or group % 2:
            continue
        if head[4:6] in _VRS:
            return True
        (length,) = struct.unpack(fmt[0] + "I", head[4:8])
        if fmt == "<HH" and (length < 0x10000 or length == _UNDEFINED) and element < 0x0100:
            return True
    return False


def classify_head(head: bytes) -> str:
    """``"part10"``, ``"raw"`` or ``"other"`` from a file's first bytes."""
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "part10"
    return "raw" if looks_like_raw_dataset(head) else "other"


def _value(value: object, kind: str) -> str | int | None:
    """A pydicom value as the walker decodes it: text joined with backslashes, or an int."""
    several = isinstance(value, Sequence) and not isinstance(value, (str, bytes))  # MultiValue, list
    if kind in ("u", "i"):
        if isinstance(value, Sequence) and several:
            value = value[0] if len(value) else None
        if value is None or value == "":
            return None
        text = str(value)
        try:
            return int(value) if isinstance(value, (int, float)) else int(text)
        except (ValueError, OverflowError):
            try:
                return int(float(text))
            except (ValueError, OverflowError):
                return None
    if value is None:
        return ""
    if isinstance(value, Sequence) and several:
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _transfer_syntax(ds: Dataset) -> str:
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if ts:
        return str(ts)
    implicit, little = ds.original_encoding
    if implicit:
        return _IMPLICIT_LE
    return _EXPLICIT_LE if little else _EXPLICIT_BE


def parse_header(fp: BinaryIO, location: Location, size: int) -> Instance | Skipped:
    """Parse the header of one object from ``fp`` (positioned at its start) with pydicom.

    pydicom is imported here, not at module level, so scanner workers that only ever take the
    lean path start without paying for it.
    """
    from pydicom.errors import InvalidDicomError
    from pydicom.filereader import read_partial

    start = fp.tell()
    head = fp.read(132)
    kind = classify_head(head)
    if kind == "other":
        return Skipped(str(location), "not a DICOM file")
    fp.seek(start)
    stop = _Stop(fp)
    try:
        with warnings.catch_warnings():
            # Non-conformant values are common in the wild; the scanner reports objects, not style.
            warnings.simplefilter("ignore")
            ds = read_partial(fp, stop_when=stop, force=(kind == "raw"), specific_tags=list(_WANTED))
            return _to_instance(ds, stop, location, size, start)
    except InvalidDicomError as exc:
        return Skipped(str(location), f"not a DICOM file ({exc})")
    except (EOFError, struct.error, OSError) as exc:
        return Skipped(str(location), f"truncated DICOM file ({exc or 'ends inside an element'})")
    except RecursionError:
        return Skipped(str(location), "corrupt DICOM header (sequences nested too deeply to read)")
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - pydicom raises many types on malformed input
        # BytesLengthException (a bogus File Meta group length), zlib.error (a "deflated" object
        # that is not), ValueError, KeyError...: one object's reason, never the end of the scan.
        return Skipped(str(location), f"corrupt DICOM header ({one_line(exc)})")


def _to_instance(ds: Dataset, stop: _Stop, location: Location, size: int, start: int) -> Instance | Skipped:
    """Express pydicom's result as a walker :class:`Header`, so both paths share one mapping."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "DirectoryRecordSequence" in ds:
        return Skipped(str(location), "DICOMDIR index file (its listed files are scanned instead)")
    header = fastheader.Header()
    for tag, kind in fastheader.WANTED.items():
        if tag in ds:
            header.values[tag] = _value(ds[tag].value, kind)
    if meta is not None:
        for tag in (0x00020002, 0x00020003):
            if tag in meta:
                header.meta[tag] = str(meta[tag].value or "")
    header.transfer_syntax = _transfer_syntax(ds)
    if stop.seen:
        header.pixel_offset = stop.pixel_offset - start
        # Deflated objects are inflated into a new buffer: file offsets say nothing there.
        header.pixel_length = _UNDEFINED if header.transfer_syntax == _DEFLATED_LE else stop.pixel_length
    return _from_header(header, location, size)


def _pydicom_from_prefix(prefix: bytes, location: Location, size: int) -> Instance | Skipped | None:
    fp = io.BytesIO(prefix)
    result = parse_header(fp, location, size)
    if isinstance(result, Skipped) and result.reason.startswith("truncated") and len(prefix) < size:
        return None
    if isinstance(result, Instance) and not result.has_pixel_data and len(prefix) < size:
        return None  # pixel data may lie beyond the prefix: decide from the whole object
    return result


def read_header_bytes(prefix: bytes, location: Location, size: int) -> Instance | Skipped | None:
    """Parse from an in-memory prefix; None when the prefix ended before the header did.

    The lean walker (:mod:`fastheader`) handles the common encodings; anything it declines is
    parsed by pydicom, so the result never depends on the shortcut.
    """
    kind = classify_head(prefix[:132])
    if kind == "other":
        return Skipped(str(location), "not a DICOM file")
    complete = len(prefix) >= size
    try:
        header = fastheader.walk(prefix, kind, complete)
    except fastheader.TooDeep as exc:
        return Skipped(str(location), f"corrupt DICOM header ({exc}; not a real DICOM structure)")
    except EOFError:
        return None if not complete else _pydicom_from_prefix(prefix, location, size)
    except (fastheader.Unsupported, struct.error, UnicodeError, LookupError, ValueError):
        return _pydicom_from_prefix(prefix, location, size)
    return _from_header(header, location, size)


def _from_header(header: fastheader.Header, location: Location, size: int) -> Instance | Skipped:
    v = header.values
    meta = header.meta

    def text(tag: int) -> str:
        value = v.get(tag)
        return value if isinstance(value, str) else ""

    def number(tag: int) -> int | None:
        value = v.get(tag)
        return value if isinstance(value, int) else None

    sop_class = text(0x00080016) or str(meta.get(0x00020002, ""))
    if sop_class == MEDIA_STORAGE_DIRECTORY:
        return Skipped(str(location), "DICOMDIR index file (its listed files are scanned instead)")
    study, series = text(0x0020000D), text(0x0020000E)
    sop_instance = text(0x00080018) or str(meta.get(0x00020003, ""))
    missing = [name for name, value in (("Study Instance UID", study), ("Series Instance UID", series),
                                        ("SOP Instance UID", sop_instance)) if not value]
    if missing:
        return Skipped(str(location), f"DICOM object without {', '.join(missing)} (cannot be placed in a session)")
    if header.has_pixel_data and header.pixel_length != _UNDEFINED:
        if header.pixel_offset + header.pixel_length > size:
            return Skipped(str(location), "truncated DICOM file (pixel data is shorter than its header says)")
    frames = number(0x00280008)
    return Instance(
        location=location,
        size=size,
        study_instance_uid=study,
        series_instance_uid=series,
        sop_instance_uid=sop_instance,
        sop_class_uid=sop_class,
        transfer_syntax_uid=header.transfer_syntax,
        modality=text(0x00080060).upper(),
        instance_number=number(0x00200013),
        rows=number(0x00280010),
        columns=number(0x00280011),
        frames=frames if frames and frames > 0 else 1,
        photometric_interpretation=text(0x00280004),
        bits_allocated=number(0x00280100),
        bits_stored=number(0x00280101),
        samples_per_pixel=number(0x00280002),
        pixel_representation=number(0x00280103),
        has_pixel_data=header.has_pixel_data,
        patient_name=text(0x00100010),
        patient_id=text(0x00100020),
        study_date=text(0x00080020),
        study_time=text(0x00080030),
        study_description=text(0x00081030),
        study_id=text(0x00200010),
        accession_number=text(0x00080050),
        series_number=number(0x00200011),
        series_description=text(0x0008103E),
        manufacturer=text(0x00080070),
        manufacturer_model_name=text(0x00081090),
        station_name=text(0x00081010),
        burned_in_annotation=text(0x00280301).upper(),
    )
