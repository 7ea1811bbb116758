"""Tag paths and the DICOM data model the scripts act on (dicomedit.md §4, §5.1, §12).

The reference turns every element of an object into a canonical path string and matches script
paths as regular expressions against those strings. We match *structurally* instead (the spec's
advice, §4.2): a path is a tuple of steps, and each tag position is a ``(mask, value)`` pair —
hex digits fix a nibble, ``X`` frees it, ``@``/``#`` fix only its lowest bit — so testing an
element is one ``tag & mask == value``. The semantics are those of the regexes:

* a path must match the *whole* position of an element, so ``(0010,0010)`` is top level only;
* ``*`` = any number (≥ 0) of sequence levels, ``+`` = at least one, ``.`` = exactly one;
* an element step without index (or with ``[%]``) goes through every item of the sequence;
* a private step ``(gggg,{creator}hh)`` matches ``(gggg,bbhh)`` for every block ``bb`` that the
  creator owns *in the same item* (duplicate creators: every block);
* creator elements (gggg,0010-00FF) are never matched by a creator-syntax step. (Decision: the
  reference's regexes can hit a creator element through ``?=``/``collectValues`` in corner cases
  (§4.4, quirk 7); we do not reproduce that, so those statements never corrupt private blocks.)

Values are read and written as the reference's toolkit renders them (§5.1): multi-valued text
joined with backslashes, binary numbers as decimal text, AT as 8 upper-case hex digits; numeric
VRs parse the text written into them (``1234567`` into US wraps to ``54919``); everything else is
stored exactly as given, without VR validation. Unknown tags (no dictionary VR) are written as LO,
as DE4 does — the DE6 toolkit would write UN, which downstream readers cannot interpret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from pydicom import config as _pdconfig
from pydicom.datadict import dictionary_VR, private_dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag

from desktop_client.dicomedit.errors import ScriptRuntimeError

_IGNORE = _pdconfig.IGNORE

_INT_VRS = {"US": (16, False), "SS": (16, True), "UL": (32, False), "SL": (32, True),
            "UV": (64, False), "SV": (64, True)}
_FLOAT_VRS = {"FL", "FD", "OF", "OD"}
_BYTES_VRS = {"OB", "OW", "OL", "OV", "UN"}


# --------------------------------------------------------------------------------------------
# Path structure


@dataclass(frozen=True, slots=True)
class ElementStep:
    """One ``(gggg,eeee)`` / ``(gggg,{creator}hh)`` step, with its optional item selector.

    Public: ``mask``/``value`` cover the 32-bit tag. Private: ``mask``/``value`` cover the group
    (16 bits) and ``emask``/``evalue`` the low element byte; ``creator`` is the creator text.
    ``item`` is the item index, ``None`` for any item; ``indexed`` says brackets were written.
    """

    text: str
    mask: int
    value: int
    creator: str | None = None
    emask: int = 0xFF
    evalue: int = 0
    item: int | None = None
    indexed: bool = False

    @property
    def private(self) -> bool:
        return self.creator is not None

    @property
    def exact(self) -> bool:
        if self.creator is None:
            return self.mask == 0xFFFFFFFF
        return self.mask == 0xFFFF and self.emask == 0xFF

    def with_item(self, item: int | None, indexed: bool) -> "ElementStep":
        suffix = "" if not indexed else f"[{'%' if item is None else item}]"
        return ElementStep(self.text + suffix, self.mask, self.value, self.creator, self.emask,
                           self.evalue, item, indexed)


@dataclass(frozen=True, slots=True)
class WildcardStep:
    """``*`` (any depth ≥ 0), ``+`` (≥ 1) or ``.`` (exactly one sequence level)."""

    kind: str

    @property
    def text(self) -> str:
        return self.kind


Step = ElementStep | WildcardStep


@dataclass(frozen=True, slots=True)
class TagPath:
    """A parsed script tag path; ``text`` is how it is shown in messages and used as a key."""

    steps: tuple[Step, ...]
    text: str
    simple: int | None = field(default=None, compare=False)
    """The tag when the path is one exact public top-level element (the common, fast case)."""
    singular: bool = field(default=False, compare=False)
    """True when the path names at most one element or item (§4.3)."""

    def __post_init__(self) -> None:
        if len(self.steps) == 1:
            step = self.steps[0]
            if isinstance(step, ElementStep) and step.creator is None and not step.indexed \
                    and step.mask == 0xFFFFFFFF:
                object.__setattr__(self, "simple", step.value)
        object.__setattr__(self, "singular", self._is_singular())

    def _is_singular(self) -> bool:
        last = len(self.steps) - 1
        for i, step in enumerate(self.steps):
            if isinstance(step, WildcardStep) or not step.exact:
                return False
            if step.item is None and (i < last or step.indexed):
                return False
        return True

    @property
    def is_private(self) -> bool:
        last = self.steps[-1]
        return isinstance(last, ElementStep) and last.private

    def __str__(self) -> str:
        return self.text

    @property
    def reference_text(self) -> str:
        """The path as XNAT's messages print it: ``0018901X``, ``00081140[%]/00081155``.

        The reference prints each step as its group and element digits as written (wildcards
        kept), a private step as ``gggg"creator"10hh`` (its default block), a sequence step with
        its item number (``[%]`` when none was written) and joins steps with ``/``. Error messages
        use it so that a site admin recognises the server's wording.
        """
        out = []
        last = len(self.steps) - 1
        for i, step in enumerate(self.steps):
            if isinstance(step, WildcardStep):
                out.append(step.kind)
                continue
            body = step.text[1:step.text.index(")")].replace(" ", "")
            group, element = body.split(",", 1)
            if step.creator is not None:
                element = f'"{step.creator}"10{element[element.index("}") + 1:]}'
            text = group + element
            if step.indexed or i < last:
                text += f"[{'%' if step.item is None else step.item}]"
            out.append(text)
        return "/".join(out)


def nibble_pattern(chars: str) -> tuple[int, int]:
    """``(mask, value)`` of a run of hex positions (digits, X/x, @ even, # odd)."""
    mask = value = 0
    for ch in chars:
        mask <<= 4
        value <<= 4
        if ch in "xX":
            continue
        if ch == "@":
            mask |= 1
        elif ch == "#":
            mask |= 1
            value |= 1
        else:
            mask |= 0xF
            value |= int(ch, 16)
    return mask, value


def public_step(group: str, element: str) -> ElementStep:
    mask, value = nibble_pattern(group + element)
    return ElementStep(f"({group},{element})", mask, value)


def private_step(group: str, creator: str, element: str) -> ElementStep:
    gmask, gvalue = nibble_pattern(group)
    emask, evalue = nibble_pattern(element)
    return ElementStep(f"({group},{{{creator}}}{element})", gmask, gvalue, creator, emask, evalue)


def exact_step(tag: int, item: int | None = None) -> ElementStep:
    """A numeric step of the direct notation (``set``/``delete``): private tags numerically."""
    step = ElementStep(f"({tag >> 16:04X},{tag & 0xFFFF:04X})", 0xFFFFFFFF, tag)
    return step if item is None else step.with_item(item, True)


# --------------------------------------------------------------------------------------------
# Reading and writing values


def _format_float(value: float, vr: str) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        return repr(value)
    text = f"{value:.7g}" if vr in ("FL", "OF") else repr(float(value))
    if "e" not in text and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _one(value: object, vr: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if vr == "AT" and isinstance(value, int):  # a BaseTag
        return f"{value:08X}"
    if isinstance(value, float) and vr in _FLOAT_VRS:
        return _format_float(value, vr)
    return str(value)


def render(elem: DataElement) -> str:
    """The text the reference reads for a present element (§5.1)."""
    vr = elem.VR
    value = elem.value
    if vr == "SQ" or value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        if vr in _BYTES_VRS:
            text = bytes(value).rstrip(b"\x00 ") if vr == "UN" else bytes(value)
            try:
                decoded = text.decode("ascii")
            except UnicodeDecodeError:
                return "\\".join(str(b) for b in value)
            if decoded.isprintable():
                return decoded
            return "\\".join(str(b) for b in value)
        return bytes(value).decode("latin-1").rstrip("\x00 ")
    if isinstance(value, (MultiValue, list, tuple)):
        return "\\".join(_one(v, vr) for v in value)
    return _one(value, vr)


# Fast paths: a value read from an element still in its raw (undecoded) form is decoded here
# for the common single-byte/UTF-8 character sets, and a new text value is stored raw in the
# dataset's own encoding. Elements the script merely reads therefore stay raw, and pydicom writes
# raw elements straight through — this halves the cost of a typical site script. The rules below
# reproduce pydicom's own decoding for these VRs (tests compare both for every element).
_CODECS = {"iso8859": "latin-1", "latin_1": "latin-1", "UTF8": "utf-8"}
_STRIP_EACH = frozenset({"LO", "SH", "UC"})
_STRIP_ALL = frozenset({"AS", "CS", "DA", "TM", "DT", "UI", "LT", "ST", "UT"})
_RAW_WRITE = _STRIP_EACH | _STRIP_ALL | {"PN", "AE"}
_NUMBER_STRINGS = frozenset({"DS", "IS"})


_CHARSET_CODECS = {"": "latin-1", "ISO_IR 6": "latin-1", "ISO_IR 100": "latin-1",
                   "ISO_IR 192": "utf-8"}


def _codec(ds: Dataset) -> str | None:
    """Python codec of the dataset's text, or None when pydicom must handle it (ISO 2022...)."""
    elem = ds._dict.get(BaseTag(0x00080005))  # noqa: SLF001
    if elem is None:  # nested items inherit the parent's character set
        charset = ds._parent_encoding  # noqa: SLF001
        if isinstance(charset, str):
            return _CODECS.get(charset)
        return _CODECS.get(charset[0]) if len(charset) == 1 else None
    value = elem.value
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str) or "\\" in value:
        return None
    return _CHARSET_CODECS.get(value.strip(" \0"))


_DICTIONARY_VRS: dict[int, str] = {}


def _implicit_vr(tag: int) -> str:
    vr = _DICTIONARY_VRS.get(tag)
    if vr is None:
        try:
            vr = dictionary_VR(tag)
        except KeyError:
            vr = ""
        _DICTIONARY_VRS[tag] = vr
    return vr


def read_value(ds: Dataset, tag: int) -> str:
    """``render(ds[tag])`` without decoding raw text elements through pydicom when possible."""
    raw = ds._dict[BaseTag(tag)]  # noqa: SLF001
    if isinstance(raw, RawDataElement) and not raw.is_buffered:
        vr = raw.VR
        if vr is None and not tag & 0x10000:  # implicit VR: pydicom uses the dictionary too
            vr = _implicit_vr(tag)
        if vr in _STRIP_EACH or vr in _STRIP_ALL or vr in _NUMBER_STRINGS:
            data = raw.value
            if not data:
                return ""
            codec = _codec(ds)
            if codec is not None and isinstance(data, bytes):
                text = data.decode(codec)
                if vr in _STRIP_EACH:
                    return "\\".join(v.rstrip("\0 ") for v in text.split("\\"))
                if vr in _NUMBER_STRINGS:  # IS/DS keep each value's text, stripped both sides
                    return "\\".join(v.strip(" \0") for v in text.rstrip(" \0").split("\\"))
                return text.rstrip("\0 ")
    return render(ds[tag])


def vr_of(ds: Dataset, tag: int) -> str:
    """VR of a present element without decoding its value when it is still raw."""
    vr = ds._dict[BaseTag(tag)].VR  # noqa: SLF001
    if vr is None and not tag & 0x10000:
        vr = _implicit_vr(tag)
    return vr or ds[tag].VR


def new_element(ds: Dataset, tag: int, vr: str, text: str) -> DataElement | RawDataElement:
    """The element to store: raw bytes in the dataset's encoding for plain text, else decoded."""
    if text and vr in _RAW_WRITE:
        implicit, little = ds.original_encoding
        if implicit is not None and little is not None:
            codec = _codec(ds)
            if codec == "utf-8" or (codec is not None and text.isascii()):
                data = text.encode(codec)
                if len(data) % 2:
                    data += b"\0" if vr == "UI" else b" "
                return RawDataElement(BaseTag(tag), vr, len(data), data, 0, implicit, little, True)
    return make_element(tag, vr, text)


def element_vr(ds: Dataset, tag: int, creator: str | None = None) -> str:
    """The VR a new value for ``tag`` gets: existing VR, else dictionary VR, else LO."""
    existing = ds._dict.get(BaseTag(tag))  # noqa: SLF001 - the fast path the whole engine relies on
    if existing is not None:
        vr = existing.VR  # raw elements know their VR unless implicit: no value decoding
        if vr is None or vr == "UN":
            vr = ds[tag].VR
        if vr and vr != "UN":
            return vr
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        vr = ""
        if creator is not None:
            try:
                vr = private_dictionary_VR(tag, creator)
            except KeyError:
                vr = ""
    if not vr or vr in ("UN", "NONE"):
        return "LO"
    return vr.split(" or ")[0]


def _numbers(text: str, vr: str) -> list[int] | list[float]:
    parts = text.split("\\")
    if vr in _FLOAT_VRS:
        out_f: list[float] = []
        for p in parts:
            try:
                out_f.append(float(p.strip()))
            except ValueError:
                raise ScriptRuntimeError(f'For input string: "{p}"') from None
        return out_f
    bits, signed = _INT_VRS[vr]
    out: list[int] = []
    for p in parts:
        try:
            n = int(p.strip())
        except ValueError:
            raise ScriptRuntimeError(f'For input string: "{p}"') from None
        n &= (1 << bits) - 1  # Java's narrowing conversion (§5.1, quirk 11)
        if signed and n >= 1 << (bits - 1):
            n -= 1 << bits
        out.append(n)
    return out


def make_element(tag: int, vr: str, text: str) -> DataElement:
    """A new element holding ``text`` interpreted for ``vr`` (no VR validation, §6.1)."""
    if vr == "SQ":
        return DataElement(tag, "SQ", Sequence())
    if text == "":
        return DataElement(tag, vr, None if vr in _INT_VRS or vr in _FLOAT_VRS else "",
                           validation_mode=_IGNORE)
    if vr in _INT_VRS or vr in _FLOAT_VRS:
        numbers = _numbers(text, vr)
        return DataElement(tag, vr, numbers[0] if len(numbers) == 1 else numbers,
                           validation_mode=_IGNORE)
    if vr == "AT":
        try:
            tags = [int(p.strip().strip("()").replace(",", ""), 16) for p in text.split("\\")]
        except ValueError:
            raise ScriptRuntimeError(f'For input string: "{text}"') from None
        return DataElement(tag, vr, tags[0] if len(tags) == 1 else tags, validation_mode=_IGNORE)
    if vr in _BYTES_VRS:
        return DataElement(tag, vr, text.encode("utf-8"), validation_mode=_IGNORE)
    if vr in ("DS", "IS"):
        try:
            return DataElement(tag, vr, text, validation_mode=_IGNORE)
        except (ValueError, OverflowError):
            # Not a number: the reference stores the text anyway; keep it verbatim.
            elem = DataElement(tag, vr, None, validation_mode=_IGNORE)
            parts = text.split("\\")
            elem._value = parts[0] if len(parts) == 1 else MultiValue(str, parts)  # noqa: SLF001
            return elem
    return DataElement(tag, vr, text, validation_mode=_IGNORE)


# --------------------------------------------------------------------------------------------
# Private creators


def is_creator_tag(tag: int) -> bool:
    return bool(tag & 0x10000) and 0x10 <= (tag & 0xFFFF) <= 0xFF


def _creator_text(ds: Dataset, tag: int) -> str:
    value = ds[tag].value
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("latin-1")
    if isinstance(value, (MultiValue, list)):
        value = "\\".join(str(v) for v in value)
    return str(value or "").rstrip(" \x00")


def creator_blocks(ds: Dataset, group_mask: int, group_value: int, creator: str) -> list[int]:
    """``(group << 8) | block`` for every block owned by ``creator`` in matching groups."""
    out = []
    for tag in ds._dict:  # noqa: SLF001
        if tag & 0x10000 and 0x10 <= (tag & 0xFFFF) <= 0xFF and (tag >> 16) & group_mask == group_value:
            if _creator_text(ds, tag) == creator:
                out.append(((tag >> 16) << 8) | (tag & 0xFF))
    return out


def find_block(ds: Dataset, group: int, creator: str) -> int | None:
    base = group << 16
    keys = ds._dict  # noqa: SLF001
    for block in range(0x10, 0x100):
        tag = base | block
        if tag in keys and _creator_text(ds, tag) == creator:
            return block
    return None


def reserve_block(ds: Dataset, group: int, creator: str) -> int:
    """The creator's block, reserving the first free slot 0x10-0xFF if it has none (§4.4)."""
    block = find_block(ds, group, creator)
    if block is not None:
        return block
    base = group << 16
    keys = ds._dict  # noqa: SLF001
    for block in range(0x10, 0x100):
        if base | block not in keys:
            ds[base | block] = DataElement(base | block, "LO", creator, validation_mode=_IGNORE)
            return block
    raise ScriptRuntimeError(f"No free private creator slot in group {group:04X} for {creator}")


def _step_tag(ds: Dataset, step: ElementStep, reserve: bool) -> int | None:
    """The concrete tag of an exact step in ``ds`` (private creators resolved or reserved)."""
    if step.creator is None:
        return step.value
    block = reserve_block(ds, step.value, step.creator) if reserve else \
        find_block(ds, step.value, step.creator)
    if block is None:
        return None
    return (step.value << 16) | (block << 8) | step.evalue


# --------------------------------------------------------------------------------------------
# Singular access


def _items_of(ds: Dataset, tag: int) -> Sequence | None:
    raw = ds._dict.get(BaseTag(tag))  # noqa: SLF001
    if raw is None or raw.VR not in _MAYBE_SQ:
        return None
    elem = ds[tag]
    if elem.VR != "SQ":
        return None
    return elem.value


def resolve(ds: Dataset, path: TagPath, reserve: bool) -> tuple[Dataset, int] | Dataset | None:
    """Locate a singular path: ``(dataset, tag)`` for an element that exists, the item dataset
    for an item path, or None. ``reserve`` reproduces the creator-reserving read (§4.4)."""
    steps = path.steps
    current = ds
    last = len(steps) - 1
    for i, step in enumerate(steps):
        assert isinstance(step, ElementStep)
        tag = _step_tag(current, step, reserve)
        if tag is None or tag not in current._dict:  # noqa: SLF001
            return None
        if i == last and step.item is None:
            return current, tag
        items = _items_of(current, tag)
        if items is None or step.item is None or not 0 <= step.item < len(items):
            return None
        current = items[step.item]
        if i == last:
            return current
    return None


def read(ds: Dataset, path: TagPath) -> str | None:
    """Value of a singular path: None when absent (§5.1). Reading may reserve a creator."""
    tag = path.simple
    if tag is not None:
        return read_value(ds, tag) if tag in ds._dict else None  # noqa: SLF001
    found = resolve(ds, path, reserve=True)
    if found is None:
        return None
    if isinstance(found, Dataset):
        return ""
    parent, tag = found
    return read_value(parent, tag)


def exists(ds: Dataset, path: TagPath) -> bool:
    return resolve(ds, path, reserve=False) is not None


def write(ds: Dataset, path: TagPath, text: str) -> None:
    """Assign a singular element path, creating sequences, items and creators on the way."""
    tag = path.simple
    if tag is not None:
        store(ds, new_element(ds, tag, element_vr(ds, tag), text))
        return
    steps = path.steps
    current = ds
    last = len(steps) - 1
    for i, step in enumerate(steps):
        assert isinstance(step, ElementStep)
        tag = _step_tag(current, step, reserve=True)
        assert tag is not None
        if i == last:
            if step.item is not None:
                raise ScriptRuntimeError(f"Cannot assign a value to the sequence item {path.text}")
            vr = element_vr(current, tag, step.creator)
            store(current, new_element(current, tag, vr, text))
            return
        items = _items_of(current, tag)
        if items is None:
            if tag in current._dict:  # noqa: SLF001
                raise ScriptRuntimeError(f"Cannot write {path.text}: {step.text} is not a sequence")
            current[tag] = DataElement(tag, "SQ", Sequence())
            items = current[tag].value
        while len(items) <= (step.item or 0):
            items.append(Dataset())
        current = items[step.item or 0]


def set_element(ds: Dataset, tag: int, text: str, creator: str | None = None) -> None:
    """Overwrite one element in one dataset keeping its VR (used by in-place functions)."""
    store(ds, new_element(ds, tag, element_vr(ds, tag, creator), text))


_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})


def store(ds: Dataset, elem: DataElement | RawDataElement) -> None:
    """``ds[tag] = elem``; plain public elements skip pydicom's bookkeeping (none applies)."""
    tag = elem.tag
    if tag & 0x10000 or elem.VR == "SQ" or tag in _PIXEL_TAGS:
        ds[tag] = elem
    else:
        ds._dict[tag] = elem  # noqa: SLF001


# --------------------------------------------------------------------------------------------
# Pattern matching


Match = tuple[Dataset, int | None]
"""``(dataset, tag)`` for an element; ``(item dataset, None)`` for a sequence item."""


_MAYBE_SQ = (None, "SQ", "UN")


def _sequences(ds: Dataset) -> Iterator[Dataset]:
    """Every item of every sequence in ``ds`` (the VR test is inlined: this is the hot loop)."""
    for tag, elem in list(ds._dict.items()):  # noqa: SLF001
        if elem.VR in _MAYBE_SQ:
            items = _items_of(ds, tag)
            if items:
                yield from items


def _element_tags(ds: Dataset, step: ElementStep) -> list[int]:
    keys = ds._dict  # noqa: SLF001
    if step.creator is None:
        if step.mask == 0xFFFFFFFF:
            return [step.value] if step.value in keys else []
        mask, value = step.mask, step.value
        return [t for t in keys if t & mask == value]
    blocks = creator_blocks(ds, step.mask, step.value, step.creator)
    if not blocks:
        return []
    if step.emask == 0xFF:
        return [t for t in ((gb << 8) | step.evalue for gb in blocks) if t in keys]
    wanted = set(blocks)
    return [t for t in keys if t & 0x10000 and (t >> 8) in wanted and t & step.emask == step.evalue]


def _walk(ds: Dataset, steps: tuple[Step, ...], i: int, out: dict[tuple[int, int | None], Match],
          ) -> None:
    step = steps[i]
    last = i == len(steps) - 1
    if isinstance(step, WildcardStep):
        if last:
            _all_elements(ds, step.kind, out)
            return
        if step.kind == "*":
            _walk(ds, steps, i + 1, out)
            for item in _sequences(ds):
                _walk(item, steps, i, out)
        elif step.kind == "+":
            star = steps[:i] + (WildcardStep("*"),) + steps[i + 1:]
            for item in _sequences(ds):
                _walk(item, star, i, out)
        else:
            for item in _sequences(ds):
                _walk(item, steps, i + 1, out)
        return
    for tag in _element_tags(ds, step):
        if last and step.item is None:
            out[(id(ds), tag)] = (ds, tag)
            continue
        items = _items_of(ds, tag)
        if not items:
            continue
        chosen = items if step.item is None else (
            [items[step.item]] if 0 <= step.item < len(items) else [])
        for item in chosen:
            if last:
                out[(id(item), None)] = (item, None)
            else:
                _walk(item, steps, i + 1, out)


def _all_elements(ds: Dataset, kind: str, out: dict[tuple[int, int | None], Match]) -> None:
    """A path ending in a sequence wildcard: every element at the depths it stands for."""
    if kind in ("*", "."):
        for tag in ds._dict:  # noqa: SLF001
            out[(id(ds), tag)] = (ds, tag)
    if kind in ("*", "+"):
        for item in _sequences(ds):
            _all_elements(item, "*", out)


def find(ds: Dataset, path: TagPath) -> list[Match]:
    """Every existing element/item the (possibly plural) path matches, in document order."""
    out: dict[tuple[int, int | None], Match] = {}
    _walk(ds, path.steps, 0, out)
    return list(out.values())


def delete(ds: Dataset, path: TagPath) -> None:
    """``-path``: remove matches; items are emptied, creator elements are kept (§6.3)."""
    simple = path.simple
    if simple is not None:
        keys = ds._dict  # noqa: SLF001
        if simple in keys:
            if simple & 0x10000 or simple in _PIXEL_TAGS:
                if not is_creator_tag(simple):
                    del ds[simple]
            else:
                del keys[BaseTag(simple)]  # plain public element: pydicom has no bookkeeping to update
        return
    for parent, tag in find(ds, path):
        if tag is None:
            parent.clear()
        elif not is_creator_tag(tag) and tag in parent._dict:  # noqa: SLF001
            del parent[tag]


def remove_all_private(ds: Dataset) -> None:
    """Every odd-group element (creators included) at every level (§6.10)."""
    keys = ds._dict  # noqa: SLF001
    doomed = [t for t in keys if t & 0x10000]
    for tag in doomed:
        del keys[tag]
    if doomed:
        ds._private_blocks = {}  # noqa: SLF001 - what pydicom's __delitem__ does for creators
    for item in list(_sequences(ds)):
        remove_all_private(item)


def iter_all(ds: Dataset) -> Iterator[tuple[Dataset, int]]:
    """Every element at every depth (parents before children)."""
    for tag, elem in list(ds._dict.items()):  # noqa: SLF001
        yield ds, tag
        if elem.VR in _MAYBE_SQ:
            items = _items_of(ds, tag)
            if items:
                for item in items:
                    yield from iter_all(item)
