"""A lean walker over the top level of a DICOM header, for the scanner's hot path.

pydicom builds a DataElement (and often converts its value) for every element it passes, which
caps a pure-pydicom scanner near the speed of a naive full ``dcmread`` loop. The scanner needs
~30 top-level attributes and the position of the pixel data, so this module walks the raw
element headers with ``struct.unpack_from`` and only decodes the values it wants, skipping
sequences (defined or undefined length) without building them.

It handles the encodings that make up nearly every file: Part-10 or raw, explicit or implicit VR
little endian and explicit VR big endian. Anything else (deflate, malformed structure, odd
character sets we would have to guess) raises :class:`Unsupported`, and the caller falls back to
pydicom, so correctness never depends on this shortcut. Tests compare both paths on every
pydicom test file.
"""

from __future__ import annotations

from struct import unpack_from

_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV", b"UV"})
_UNDEFINED = 0xFFFFFFFF
_ITEM = 0xFFFEE000
_ITEM_END = 0xFFFEE00D
_SEQ_END = 0xFFFEE0DD
_PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
_TS_TAG = 0x00020010
_DEFLATED = "1.2.840.10008.1.2.1.99"
_BIG_ENDIAN = "1.2.840.10008.1.2.2"
_IMPLICIT = "1.2.840.10008.1.2"
_EXPLICIT = "1.2.840.10008.1.2.1"

#: Wanted top-level tags and how to decode them: "s" text, "u" unsigned short, "i" integer string.
WANTED: dict[int, str] = {
    0x00080005: "cs",
    0x00080016: "s", 0x00080018: "s", 0x00080020: "s", 0x00080030: "s", 0x00080050: "s",
    0x00080060: "s", 0x00080070: "t", 0x00081010: "t", 0x00081030: "t", 0x0008103E: "t", 0x00081090: "t",
    0x00100010: "t", 0x00100020: "t",
    0x0020000D: "s", 0x0020000E: "s", 0x00200010: "s", 0x00200011: "i", 0x00200013: "i",
    0x00280002: "u", 0x00280004: "s", 0x00280008: "i", 0x00280010: "u", 0x00280011: "u", 0x00280100: "u",
    0x00280101: "u", 0x00280103: "u", 0x00280301: "s",
}
_META_WANTED = {0x00020002: "s", 0x00020003: "s", _TS_TAG: "s"}


class Unsupported(Exception):
    """This object needs the full parser (pydicom)."""


class Header:
    """What the walk found: decoded values by tag, the transfer syntax and the pixel data position."""

    __slots__ = ("raw", "values", "meta", "transfer_syntax", "pixel_offset", "pixel_length")

    def __init__(self) -> None:
        #: The walk's finds before decoding: tag -> (kind from WANTED, value bytes, VR bytes).
        self.raw: dict[int, tuple[str, bytes, bytes]] = {}
        #: Decoded: text (backslash-joined) for text kinds, int or None for numbers.
        self.values: dict[int, str | int | None] = {}
        self.meta: dict[int, str] = {}
        self.transfer_syntax = ""
        self.pixel_offset = -1
        self.pixel_length = 0

    @property
    def has_pixel_data(self) -> bool:
        return self.pixel_offset >= 0


def walk(buf: bytes, kind: str, complete: bool) -> Header:
    """Walk ``buf``; ``kind`` is ``"part10"`` or ``"raw"`` (see reader.classify_head).

    ``complete`` says whether ``buf`` is the whole object or only a prefix. Raises
    :class:`EOFError` when a prefix ends before the pixel data (the caller reads more), and
    :class:`Unsupported` when the object needs pydicom.
    """
    header = Header()
    pos = 0
    if kind == "part10":
        pos = _walk_meta(buf, 132, header)
        ts = str(header.meta.get(_TS_TAG, "")) or _IMPLICIT
    else:
        if len(buf) < 8:
            raise Unsupported("too short")
        if unpack_from("<H", buf, 0)[0] > 0x00FF:
            raise Unsupported("raw big endian dataset")
        ts = _EXPLICIT if buf[4:6] in _VR_SET else _IMPLICIT
    header.transfer_syntax = ts
    if ts == _DEFLATED:
        raise Unsupported("deflated")
    big = ts == _BIG_ENDIAN
    implicit = ts == _IMPLICIT
    _walk_dataset(buf, pos, header, implicit, big, complete)
    _decode_text(header, buf)
    return header


_VR_SET = frozenset(
    b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV".split()
)


def _walk_meta(buf: bytes, pos: int, header: Header) -> int:
    """File meta is always explicit VR little endian; stop at the first non-0002 group."""
    n = len(buf)
    while pos + 8 <= n:
        group, elem = unpack_from("<HH", buf, pos)
        if group != 0x0002:
            return pos
        vr = buf[pos + 4:pos + 6]
        if vr in _LONG_VRS:
            if pos + 12 > n:
                raise EOFError
            length = unpack_from("<L", buf, pos + 8)[0]
            pos += 12
        else:
            length = unpack_from("<H", buf, pos + 6)[0]
            pos += 8
        if length == _UNDEFINED or pos + length > n:
            raise EOFError if length != _UNDEFINED else Unsupported("undefined length in file meta")
        tag = (group << 16) | elem
        if tag in _META_WANTED:
            header.meta[tag] = buf[pos:pos + length].rstrip(b"\x00 ").decode("ascii", "replace")
        pos += length
    raise EOFError


def _walk_dataset(buf: bytes, pos: int, header: Header, implicit: bool, big: bool, complete: bool) -> None:
    n = len(buf)
    # One unpack per element header: tag + (VR and short length | long length).
    fmt_head = (">HH2sH" if big else "<HH2sH") if not implicit else "<HHL"
    fmt_long = ">L" if big else "<L"
    values = header.raw
    long_vrs, vr_set, wanted = _LONG_VRS, _VR_SET, WANTED
    while True:
        if pos + 8 > n:
            if complete and pos == n:
                return  # the object ends without pixel data
            if complete:
                raise Unsupported("trailing bytes after the last element")
            raise EOFError
        if implicit:
            group, elem, length = unpack_from(fmt_head, buf, pos)
            vr = b""
            pos += 8
        else:
            group, elem, vr, length = unpack_from(fmt_head, buf, pos)
            if vr in long_vrs:
                if pos + 12 > n:
                    raise EOFError
                length = unpack_from(fmt_long, buf, pos + 8)[0]
                pos += 12
            elif vr in vr_set:
                pos += 8
            else:
                raise Unsupported(f"unknown VR {vr!r}")
        tag = (group << 16) | elem
        if tag in _PIXEL_TAGS:
            header.pixel_offset = pos
            header.pixel_length = length
            return
        if group == 0xFFFE:
            raise Unsupported("delimiter at top level")
        if length == _UNDEFINED:
            pos = _skip_undefined(buf, pos, implicit or vr == b"UN", big)
            continue
        end = pos + length
        kind = wanted.get(tag)
        if kind:
            if end > n:
                raise EOFError
            values[tag] = (kind, buf[pos:end], vr)
        if end > n and complete:
            raise Unsupported("element runs past the end of the object")
        pos = end


#: Sequences nested deeper than this are no real DICOM structure (real objects nest a handful deep).
MAX_DEPTH = 64


class TooDeep(Exception):
    """Sequences nested beyond :data:`MAX_DEPTH`: refused instead of recursing until Python gives up."""


def _skip_undefined(buf: bytes, pos: int, implicit: bool, big: bool, depth: int = 1) -> int:
    """Skip an undefined-length sequence (items and nested datasets) and return the position after it."""
    if depth > MAX_DEPTH:
        raise TooDeep(f"sequences nested more than {MAX_DEPTH} deep")
    n = len(buf)
    fmt = ">HHL" if big else "<HHL"
    while True:
        if pos + 8 > n:
            raise EOFError
        group, elem, length = unpack_from(fmt, buf, pos)
        tag = (group << 16) | elem
        pos += 8
        if tag == _SEQ_END:
            return pos
        if tag != _ITEM:
            raise Unsupported("unexpected element in a sequence")
        if length != _UNDEFINED:
            pos += length
            continue
        pos = _skip_item(buf, pos, implicit, big, depth)


def _skip_item(buf: bytes, pos: int, implicit: bool, big: bool, depth: int = 1) -> int:
    """Skip the elements of an undefined-length item up to its delimiter."""
    n = len(buf)
    fmt_tag = ">HH" if big else "<HH"
    fmt_short = ">H" if big else "<H"
    fmt_long = ">L" if big else "<L"
    while True:
        if pos + 8 > n:
            raise EOFError
        group, elem = unpack_from(fmt_tag, buf, pos)
        tag = (group << 16) | elem
        if tag == _ITEM_END:
            return pos + 8
        if implicit:
            vr = b""
            length = unpack_from("<L", buf, pos + 4)[0]
            pos += 8
        else:
            vr = buf[pos + 4:pos + 6]
            if vr in _LONG_VRS:
                if pos + 12 > n:
                    raise EOFError
                length = unpack_from(fmt_long, buf, pos + 8)[0]
                pos += 12
            elif vr in _VR_SET:
                length = unpack_from(fmt_short, buf, pos + 6)[0]
                pos += 8
            else:
                raise Unsupported(f"unknown VR {vr!r} in a sequence item")
        if length == _UNDEFINED:
            pos = _skip_undefined(buf, pos, implicit or vr == b"UN", big, depth + 1)
        else:
            pos += length


def _decode_text(header: Header, buf: bytes) -> None:
    """Turn the raw wanted values into Python values, honouring Specific Character Set."""
    raw = header.raw
    big = header.transfer_syntax == _BIG_ENDIAN
    charset = raw.pop(0x00080005, None)
    encodings = None
    if charset is not None:
        from pydicom.charset import convert_encodings  # only for non-ASCII character sets

        names = [c.strip(" \x00") for c in charset[1].decode("ascii", "replace").split("\\")]
        if names not in ([""], ["ISO_IR 6"]):
            try:
                encodings = convert_encodings(names)
            except Exception as exc:
                raise Unsupported(f"character set {names}") from exc
    decoded: dict[int, str | int | None] = {}
    for tag, (kind, value, _vr) in raw.items():
        if kind == "u":
            if len(value) < 2:
                decoded[tag] = None
                continue
            decoded[tag] = unpack_from(">H" if big else "<H", value, 0)[0]
        elif kind == "i":
            text = value.decode("ascii", "replace").strip(" \x00")
            first = text.split("\\")[0].strip()
            try:
                decoded[tag] = int(first) if first else None
            except ValueError:
                try:
                    decoded[tag] = int(float(first))
                except ValueError:
                    decoded[tag] = None
        elif kind == "t" and encodings and any(b > 0x7F or b == 0x1B for b in value):
            from pydicom.charset import decode_bytes

            decoded[tag] = decode_bytes(value, encodings, {0x5C, 0x3D, 0x5E}).strip(" \x00")
        else:
            decoded[tag] = value.decode("latin_1").strip(" \x00")
    header.values = decoded
