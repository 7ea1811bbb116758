"""The DicomEdit 6 built-in functions (dicomedit.md §9) and the shared UID helpers (§10).

Every function takes the per-object ``Context`` and the evaluated arguments (tag paths still as
``TagPath`` objects) and returns a value or ``VOID``. Argument handling follows the reference:
only the first argument of the scalar string functions is dereferenced; the others go through
the plain to-string rule, so a tag path there becomes its path text (quirk 2, reproduced).

Decisions where the reference is silent or unhelpful (see also the package docstring):
* in-place date shifting (``shiftDateTimeListByIncrement``, ``shiftDateTimeSequenceByIncrement``)
  skips present-but-empty values and shifts each backslash-separated value of a multi-valued
  element separately; ``mapReferencedUIDs`` maps each value of a multi-valued UI separately.
  For single, non-empty values (the only case the reference tests) the result is identical.
* ``getURL`` works only when the host passed an ``http_get`` callable (off by default, so a
  script cannot make the client contact arbitrary servers).
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from typing import Any, Callable

from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from desktop_client.core.geometry import BLACK, Fill, PixelEdit, Rect
from desktop_client.dicomedit import datetimes, paths
from desktop_client.dicomedit.errors import Rejected, ScriptRuntimeError
from desktop_client.dicomedit.msgformat import format_message
from desktop_client.dicomedit.paths import TagPath
from desktop_client.dicomedit.runtime import (VOID, Context, compile_regex, flatten, to_bool,
                                              to_string)

Function = Callable[[Context, list[Any]], Any]


class FunctionError(ScriptRuntimeError):
    """A failure the reference reports as ``Error evaluating <name>``."""


# ---- UIDs (§10) ------------------------------------------------------------------------------


def hash_uid(text: str) -> str:
    """Name-based UUID v5 of ``text`` without namespace, as a ``2.25.`` UID (byte-exact)."""
    b = bytearray(hashlib.sha1(text.encode("utf-8")).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x50
    b[8] = (b[8] & 0x3F) | 0x80
    return "2.25." + str(int.from_bytes(b, "big"))


def new_uid(root: str = "2.25") -> str:
    """A random UID ``root.<decimal of a random UUID>`` (dcm4che ``UIDUtils.createUID``)."""
    return f"{root}.{uuid.uuid4().int}"


_UID_ROOT = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


def _check_root(root: str) -> None:
    if len(root) > 24 or not _UID_ROOT.match(root):
        raise ScriptRuntimeError(f"Invalid UID root '{root}': it must be a valid UID of at most "
                                 "24 characters")


# ---- helpers ---------------------------------------------------------------------------------


def _need(name: str, args: list[Any], count: int | tuple[int, int], usage: str) -> None:
    low, high = (count, count) if isinstance(count, int) else count
    if not low <= len(args) <= high:
        raise FunctionError(f"Error evaluating {name}: usage {usage}")


def _first_text(ctx: Context, name: str, args: list[Any]) -> str:
    value = ctx.deref(args[0])
    if value is None:
        raise FunctionError(f"Error evaluating {name}: the value is null (absent attribute or "
                            "unset variable)")
    return to_string(value)


def _int(value: Any, what: str) -> int:
    try:
        return int(to_string(value).strip())
    except ValueError:
        raise ScriptRuntimeError(f'For input string: "{to_string(value)}" ({what} must be a whole '
                                 "number)") from None


@functools.lru_cache(maxsize=1024)
def _parse_path_string(text: str) -> TagPath | None:
    """Path strings are parsed once per distinct text (scripts pass the same ones per object)."""
    from desktop_client.dicomedit.de6_parser import parse_tagpath

    try:
        return parse_tagpath(text)
    except ValueError:
        return None


def _as_path(value: Any) -> TagPath | None:
    if isinstance(value, TagPath):
        return value
    if isinstance(value, str):
        return _parse_path_string(value)
    return None


def _paths_strict(args: list[Any]) -> list[TagPath]:
    out = []
    for arg in flatten(args):
        path = _as_path(arg)
        if path is None:
            raise ScriptRuntimeError(f"Argument {to_string(arg)} is not a valid tagPath.")
        out.append(path)
    return out


def _element_matches(ds: Dataset, path: TagPath) -> list[tuple[Dataset, int]]:
    return [(parent, tag) for parent, tag in paths.find(ds, path)
            if tag is not None and not paths.is_creator_tag(tag)]


# ---- string functions (§9.1) -----------------------------------------------------------------


def f_concatenate(ctx: Context, args: list[Any]) -> Any:
    parts = []
    for a in args:
        v = ctx.deref(a)
        if v is None:
            raise ScriptRuntimeError("java.lang.NullPointerException: concatenate of a null value "
                                     "(absent attribute or unset variable)")
        parts.append(to_string(v))
    return "".join(parts)


def f_format(ctx: Context, args: list[Any]) -> Any:
    if not args:
        raise FunctionError("Error evaluating format: usage format[pattern, arg0, arg1, ...]")
    values = [to_string(ctx.deref(a)) for a in flatten(args[1:])]
    return format_message(to_string(args[0]), values)


def f_lowercase(ctx: Context, args: list[Any]) -> Any:
    _need("lowercase", args, 1, "lowercase[value]")
    return _first_text(ctx, "lowercase", args).lower()


def f_uppercase(ctx: Context, args: list[Any]) -> Any:
    _need("uppercase", args, 1, "uppercase[value]")
    return _first_text(ctx, "uppercase", args).upper()


def f_substring(ctx: Context, args: list[Any]) -> Any:
    _need("substring", args, 3, "substring[value, begin, end]")
    text = _first_text(ctx, "substring", args)
    begin, end = _int(args[1], "begin"), _int(args[2], "end")
    if not 0 <= begin <= end <= len(text):
        raise ScriptRuntimeError(f"begin {begin}, end {end}, length {len(text)}")
    return text[begin:end]


def f_replace(ctx: Context, args: list[Any]) -> Any:
    _need("replace", args, 3, "replace[value, target, replacement]")
    text = _first_text(ctx, "replace", args)
    return text.replace(to_string(args[1]), to_string(args[2]))


def f_match(ctx: Context, args: list[Any]) -> Any:
    _need("match", args, 3, "match[ value, regex, group-index ]")
    text = _first_text(ctx, "match", args)
    if args[1] is None:
        raise ScriptRuntimeError("java.lang.NullPointerException: match with a null regex")
    m = compile_regex(to_string(args[1])).search(text)
    if m is None:
        return None
    group = _int(args[2], "group")
    try:
        return m.group(group)
    except IndexError:
        raise ScriptRuntimeError(f"No group {group}") from None


def f_ismatch(ctx: Context, args: list[Any]) -> Any:
    _need("ismatch", args, 2, "ismatch[value, regex]")
    text = _first_text(ctx, "ismatch", args)
    return compile_regex(to_string(args[1])).fullmatch(text) is not None


def f_normalize(ctx: Context, args: list[Any]) -> Any:
    _need("normalizeString", args, (1, 2), "normalizeString[value] or normalizeString[value, "
          "replacement]")
    value = ctx.deref(args[0])
    if value is None:
        return None
    repl = to_string(args[1]) if len(args) > 1 else "_"
    out = []
    for ch in to_string(value):
        if ord(ch) < 0x80:
            out.append(ch)
        else:  # Java replaces per UTF-16 unit: characters beyond the BMP count twice
            out.append(repl * (2 if ord(ch) > 0xFFFF else 1))
    return "".join(out)


def f_get_url(ctx: Context, args: list[Any]) -> Any:
    _need("getURL", args, 1, "getURL[url]")
    url = to_string(ctx.deref(args[0]))
    getter = ctx.state.http_get
    if getter is None:
        raise ScriptRuntimeError(f"getURL is disabled in this client (the script wanted {url}); "
                                 "ask your administrator to enable it")
    try:
        body = getter(url)
    except Exception as exc:  # noqa: BLE001 - any transport failure is the script's error
        raise ScriptRuntimeError(f"getURL failed for {url}: {exc}") from None
    text = "".join((body or "").splitlines())
    if not text:
        raise ScriptRuntimeError(f"Empty response from external webservice: {url}")
    return text


def f_lookup(ctx: Context, args: list[Any]) -> Any:
    if len(args) != 2:
        raise ScriptRuntimeError(f"lookup illegal arguments: {to_string(args)}")
    key = ctx.deref(args[1])
    if key is None:
        return None
    return ctx.state.lookup_table.get(f"{to_string(args[0]).strip()}/{to_string(key)}")


# ---- UID functions (§9.2) --------------------------------------------------------------------


def f_hash_uid(ctx: Context, args: list[Any]) -> Any:
    if not args:
        raise FunctionError("Error evaluating hashUID: usage hashUID[value]")
    value = ctx.deref(args[0])
    return None if value is None else hash_uid(to_string(value))


def f_hash_uid_list(ctx: Context, args: list[Any]) -> Any:
    for path in _paths_strict(args):
        for parent, tag in _element_matches(ctx.ds, path):
            text = paths.read_value(parent, tag)
            paths.set_element(parent, tag, "\\".join(hash_uid(v) for v in text.split("\\")))
    return VOID


def f_new_uid(ctx: Context, args: list[Any]) -> Any:
    return new_uid()


def _mapped(ctx: Context, table_name: str, key: Any, root: str) -> str:
    table = ctx.state.uid_tables.setdefault(table_name, {})
    uid = table.get(key)
    if uid is None:
        _check_root(root)
        uid = table[key] = new_uid(root)
    return uid


def f_map_uid(ctx: Context, args: list[Any]) -> Any:
    _need("mapUID", args, 2, "mapUID[value, prefix]")
    key = args[0] if args[0] is None else to_string(args[0])  # not dereferenced (quirk 1)
    return _mapped(ctx, "mapUID", key, to_string(args[1]))


def f_map_referenced(ctx: Context, args: list[Any]) -> Any:
    if len(args) < 2:
        raise FunctionError("Error evaluating mapReferencedUIDs: usage mapReferencedUIDs[prefix, "
                            "\"tagpath\", ...]")
    root = to_string(args[0])
    for arg in flatten(args[1:]):
        path = _as_path(arg)
        if path is None:
            continue  # unparseable path strings are silently ignored (§9.2)
        for parent, tag in _element_matches(ctx.ds, path):
            text = paths.read_value(parent, tag)
            if text == "":
                continue
            mapped = [_mapped(ctx, "mapReferencedUIDs", v, root) for v in text.split("\\")]
            paths.set_element(parent, tag, "\\".join(mapped))
    return VOID


# ---- tag manipulation (§9.3) -----------------------------------------------------------------


def f_remove_tags(ctx: Context, args: list[Any]) -> Any:
    for path in _paths_strict(args):
        paths.delete(ctx.ds, path)
    return VOID


def f_retain_private(ctx: Context, args: list[Any]) -> Any:
    wanted = _paths_strict(args)
    for path in wanted:
        if not path.is_private:
            raise ScriptRuntimeError(f"retainPrivateTags needs private tag paths; {path} is public")
    kept: set[tuple[int, int]] = set()
    for path in wanted:
        for parent, tag in paths.find(ctx.ds, path):
            if tag is not None:
                kept.add((id(parent), tag))
    _prune_private(ctx.ds, kept)
    return VOID


def _prune_private(ds: Dataset, kept: set[tuple[int, int]]) -> bool:
    """Drop private data not kept; return whether ``ds`` still holds kept private data."""
    holds = False
    keys = ds._dict  # noqa: SLF001
    for tag in [t for t in keys if not paths.is_creator_tag(t)]:
        if (id(ds), tag) in kept:
            holds = True
            continue
        items = paths._items_of(ds, tag)  # noqa: SLF001
        if tag & 0x10000:
            if items:
                survivors = [item for item in items if _prune_private(item, kept)]
                if survivors:
                    items[:] = survivors
                    holds = True
                    continue
            del ds[tag]
        elif items:
            for item in items:
                holds = _prune_private(item, kept) or holds
    blocks = {(t >> 8) for t in keys if t & 0x10000 and not paths.is_creator_tag(t)}
    for tag in [t for t in keys if paths.is_creator_tag(t)]:
        if ((tag >> 16) << 8) | (tag & 0xFF) not in blocks:
            del ds[tag]
    return holds


_DIRECT_STEP = re.compile(r"\s*\(\s*([0-9a-fA-F]{4})\s*,\s*([0-9a-fA-F]{4})\s*\)\s*"
                          r"(?:\[\s*([0-9]+)\s*\]\s*)?")


def parse_direct_path(text: str) -> TagPath:
    """The ``set``/``delete`` notation (§4.5): numeric steps, decimal items, ``/`` between."""
    steps = []
    pos = 0
    while True:
        m = _DIRECT_STEP.match(text, pos)
        if m is None:
            raise ScriptRuntimeError(f"Failed to parse tag path '{text}'")
        tag = int(m.group(1) + m.group(2), 16)
        steps.append(paths.exact_step(tag, int(m.group(3)) if m.group(3) else None))
        pos = m.end()
        if pos == len(text):
            break
        if text[pos] != "/":
            raise ScriptRuntimeError(f"Failed to parse tag path '{text}'")
        pos += 1
    for step in steps[:-1]:
        if step.item is None:
            raise ScriptRuntimeError(f"Failed to parse tag path '{text}': every sequence step "
                                     "needs an item number")
    return TagPath(tuple(steps), text.strip())


def f_delete(ctx: Context, args: list[Any]) -> Any:
    _need("delete", args, 1, 'delete["(gggg,eeee)"]')
    path = parse_direct_path(to_string(args[0]))
    for parent, tag in paths.find(ctx.ds, path):
        if tag is None:
            parent.clear()
        else:
            del parent[tag]
    return VOID


def f_set(ctx: Context, args: list[Any]) -> Any:
    _need("set", args, 2, 'set["(gggg,eeee)", value]')
    path = parse_direct_path(to_string(args[0]))
    value = args[1]
    if value is not None:
        paths.write(ctx.ds, path, to_string(value))
    return VOID


def f_blank_values(ctx: Context, args: list[Any]) -> Any:
    targets: set[str] = set()
    for arg in flatten(args):
        if isinstance(arg, TagPath):  # every matching element's value (wildcards allowed)
            targets.update(paths.read_value(parent, tag) for parent, tag in paths.find(ctx.ds, arg)
                           if tag is not None)
        elif arg is not None:
            targets.add(to_string(arg))
    if not targets:
        return VOID
    for parent, tag in list(paths.iter_all(ctx.ds)):
        if tag & 0x10000:
            continue  # private data is left alone (reference test testBinaryVRsBlanking)
        if parent._dict[BaseTag(tag)].VR != "SQ" and paths.read_value(parent, tag) in targets:  # noqa: SLF001
            paths.set_element(parent, tag, "")
    return VOID


def f_collect_values(ctx: Context, args: list[Any]) -> Any:
    out: list[Any] = []
    for arg in flatten(args):
        if isinstance(arg, TagPath):
            for parent, tag in paths.find(ctx.ds, arg):
                if tag is not None:
                    out.append(paths.read_value(parent, tag))
        elif arg is not None:
            out.append(to_string(arg))
    return out


def f_is_present(ctx: Context, args: list[Any]) -> Any:
    for arg in args:
        if not isinstance(arg, TagPath):
            raise ScriptRuntimeError(f"Argument is not a tagPath: {to_string(arg)}")
        if not arg.singular:
            raise ScriptRuntimeError(f"Argument is not a singular tagPath: {arg}")
    return all(paths.exists(ctx.ds, arg) for arg in args)


# ---- pixels (§9.7) ---------------------------------------------------------------------------


def _properties(text: str) -> dict[str, str]:
    props: dict[str, str] = {}
    for line in re.sub(r"\s+", "", text).split(","):
        if not line:
            continue
        m = re.match(r"([^=:]*)[=:](.*)", line)
        key, value = (m.group(1), m.group(2)) if m else (line, "")
        props[key] = value
    return props


def _pick(props: dict[str, str], short: str, long: str) -> str | None:
    return props.get(short, props.get(long))


def parse_alter_pixels(shape: str, shape_props: str, fill: str, fill_props: str) -> PixelEdit:
    """Validate an ``alterPixels`` request and build the pixel engine's ``PixelEdit``."""
    if shape.strip().lower() != "rectangle" or fill.strip().lower() != "solid":
        raise ValueError(f"alterPixels supports only the shape \"rectangle\" with the fill "
                         f"\"solid\" (got \"{shape}\" and \"{fill}\")")
    props = _properties(shape_props)
    coords = []
    for short, long in (("l", "left"), ("t", "top"), ("r", "right"), ("b", "bottom")):
        raw = _pick(props, short, long)
        if raw is None:
            raise ValueError(f"alterPixels rectangle needs l, t, r and b (missing {short}) in "
                             f"\"{shape_props}\"")
        try:
            coords.append(int(raw))
        except ValueError:
            raise ValueError(f"alterPixels rectangle value {short}={raw} is not a whole number") \
                from None
    left, top, right, bottom = coords
    rect = Rect(left, top, left + abs(right - left), top + abs(bottom - top))
    fprops = _properties(fill_props)
    try:
        grey = _pick(fprops, "v", "value")
        if grey is not None:
            fill_obj = Fill.grey(int(grey))
        elif any(_pick(fprops, s, lng) is not None for s, lng in
                 (("r", "red"), ("g", "green"), ("b", "blue"))):
            r, g, b = (int(_pick(fprops, s, lng) or 0) for s, lng in
                       (("r", "red"), ("g", "green"), ("b", "blue")))
            fill_obj = Fill.colour(r, g, b)
        else:
            fill_obj = BLACK
    except ValueError:
        fill_obj = BLACK  # an unparseable fill is black in the reference (§9.7)
    values = [fill_obj.value] if fill_obj.value is not None else list(fill_obj.rgb or ())
    if any(not 0 <= v <= 255 for v in values):
        raise ValueError(f"alterPixels fill values must be 0-255 (got \"{fill_props}\")")
    return PixelEdit(rect=rect, fill=fill_obj, shape="rectangle")


def f_alter_pixels(ctx: Context, args: list[Any]) -> Any:
    if len(args) != 4:
        raise FunctionError("Error evaluating alterPixels: usage alterPixels[\"rectangle\", "
                            "\"l=..., t=..., r=..., b=...\", \"solid\", \"v=...\"]")
    try:
        edit = parse_alter_pixels(*(to_string(ctx.deref(a)) for a in args))
    except ValueError as exc:
        raise ScriptRuntimeError(str(exc)) from None
    ctx.pixel_edits.append(edit)
    return VOID


# ---- dates (§9.4, §9.5) ----------------------------------------------------------------------


def _date_argument(ctx: Context, name: str, value: Any, vrs: tuple[str, ...]) -> str:
    """The text a shift function works on, with XNAT's wording when it cannot have one.

    An absent attribute reads as null, which the reference then fails to parse ("Failed to
    parse DICOM time string 'null'"); an attribute of another VR is refused with the reference's
    "must resolve to an attribute with VR = DA" sentence, the path printed as XNAT prints it.
    """
    if isinstance(value, TagPath):
        where = value.reference_text
        if not value.singular:
            raise FunctionError(f"Error evaluating {name}: {name}-argument must resolve to a "
                                f"single attribute: {where}")
        found = paths.resolve(ctx.ds, value, reserve=True)
        if found is None or isinstance(found, Dataset):
            raise FunctionError(f"Error evaluating {name}: Failed to parse DICOM time string "
                                f"'null' (the attribute {where} is absent)")
        parent, tag = found
        vr = paths.vr_of(parent, tag)
        if vr not in vrs:
            raise FunctionError(f"Error evaluating {name}: {name}-argument must resolve to an "
                                f"attribute with VR = {' or '.join(vrs)}: {where}, {vr}")
        return paths.read_value(parent, tag)
    if value is None:
        raise FunctionError(f"Error evaluating {name}: Failed to parse DICOM time string 'null'")
    return to_string(value)


def _shift(name: str, text: str, seconds: int) -> str:
    try:
        return datetimes.shift(text, seconds)
    except ScriptRuntimeError as exc:
        raise FunctionError(f"Error evaluating {name}: {exc}") from None


def f_shift_date(ctx: Context, args: list[Any]) -> Any:
    _need("shiftDateByIncrement", args, (2, 3), "shiftDateByIncrement[date, n, unit]")
    text = _date_argument(ctx, "shiftDateByIncrement", args[0], ("DA",))
    unit = to_string(args[2]) if len(args) > 2 else None
    return _shift("shiftDateByIncrement", text,
                  datetimes.increment_seconds(to_string(args[1]), unit, "days"))


def f_shift_datetime(ctx: Context, args: list[Any]) -> Any:
    _need("shiftDateTimeByIncrement", args, (2, 3), "shiftDateTimeByIncrement[datetime, n, unit]")
    text = _date_argument(ctx, "shiftDateTimeByIncrement", args[0], ("DA", "DT"))
    unit = to_string(args[2]) if len(args) > 2 else None
    return _shift("shiftDateTimeByIncrement", text,
                  datetimes.increment_seconds(to_string(args[1]), unit, "seconds"))


def _shift_in_place(ctx: Context, name: str, path_values: list[Any], seconds: int,
                    strict: bool) -> None:
    for arg in path_values:
        path = _as_path(arg)
        if path is None:
            if strict:
                raise ScriptRuntimeError(f"Argument {to_string(arg)} is not a valid tagPath.")
            continue
        for parent, tag in _element_matches(ctx.ds, path):
            if paths.vr_of(parent, tag) == "SQ":
                continue
            text = paths.read_value(parent, tag)
            if text == "":
                continue
            shifted = "\\".join(_shift(name, v, seconds) for v in text.split("\\"))
            paths.set_element(parent, tag, shifted)


def f_shift_list(ctx: Context, args: list[Any]) -> Any:
    _need("shiftDateTimeListByIncrement", args, (2, 3),
          "shiftDateTimeListByIncrement[{tagpaths}, n, unit]")
    if not isinstance(args[0], list):
        raise FunctionError("Error evaluating shiftDateTimeListByIncrement: the first argument "
                            "must be a list of tag paths")
    unit = to_string(args[2]) if len(args) > 2 else None
    seconds = datetimes.increment_seconds(to_string(args[1]), unit, "seconds")
    _shift_in_place(ctx, "shiftDateTimeListByIncrement", flatten(args[0]), seconds, strict=True)
    return VOID


def f_shift_sequence(ctx: Context, args: list[Any]) -> Any:
    if len(args) < 2:
        raise FunctionError("Error evaluating shiftDateTimeSequenceByIncrement: usage "
                            "shiftDateTimeSequenceByIncrement[seconds, \"tagpath\", ...]")
    seconds = datetimes.increment_seconds(to_string(args[0]), None, "seconds")
    _shift_in_place(ctx, "shiftDateTimeSequenceByIncrement", flatten(args[1:]), seconds,
                    strict=False)
    return VOID


_DOB, _STUDY_DATE, _AGE = 0x00100030, 0x00080020, 0x00101010
_MAX_AGE_DAYS = round(365.24 * 89)  # 32506


def f_scale_age(ctx: Context, args: list[Any]) -> Any:
    ds = ctx.ds
    keys = ds._dict  # noqa: SLF001
    if _DOB in keys and _STUDY_DATE in keys:
        dob, study = paths.render(ds[_DOB]), paths.render(ds[_STUDY_DATE])
        if dob and study:
            excess = datetimes.days_between(dob, study) - _MAX_AGE_DAYS
            if excess > 0:
                for parent, tag in list(paths.iter_all(ds)):
                    if tag == _DOB:
                        value = paths.read_value(parent, tag)
                        if value:
                            paths.set_element(parent, tag, datetimes.shift(value, excess * 86400))
    if _AGE in keys:
        age = paths.render(ds[_AGE])
        if age and datetimes.age_in_years(age) > 89:
            for parent, tag in list(paths.iter_all(ds)):
                if tag == _AGE:
                    paths.set_element(parent, tag, "089Y")
    return VOID


# ---- control (§9.8) --------------------------------------------------------------------------


def f_reject(ctx: Context, args: list[Any]) -> Any:
    fire = to_bool(ctx.deref(args[0])) if args else True
    if fire and not ctx.state.ignore_rejections:
        raise Rejected("rejected by the script (reject[])")
    return VOID


BUILTINS: dict[str, Function] = {
    "concatenate": f_concatenate, "format": f_format, "lowercase": f_lowercase,
    "uppercase": f_uppercase, "substring": f_substring, "replace": f_replace,
    "hashUID": f_hash_uid, "hashUIDList": f_hash_uid_list, "newUID": f_new_uid,
    "getURL": f_get_url, "retainPrivateTags": f_retain_private, "lookup": f_lookup,
    "shiftDateByIncrement": f_shift_date, "shiftDateTimeListByIncrement": f_shift_list,
    "shiftDateTimeByIncrement": f_shift_datetime,
    "shiftDateTimeSequenceByIncrement": f_shift_sequence, "mapUID": f_map_uid,
    "mapReferencedUIDs": f_map_referenced, "delete": f_delete, "set": f_set, "match": f_match,
    "ismatch": f_ismatch, "isPresent": f_is_present, "alterPixels": f_alter_pixels,
    "removeTags": f_remove_tags, "normalizeString": f_normalize,
    "scalePatientAgeAndDobFromStudyDate": f_scale_age, "collectValues": f_collect_values,
    "blankValues": f_blank_values, "reject": f_reject,
    "true": lambda ctx, args: True, "false": lambda ctx, args: False,
}
