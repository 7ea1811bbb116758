"""Run-time values and state shared by both dialects (dicomedit.md §5.2, §1.3).

Script values are plain Python objects: ``None`` (null), ``str`` (strings and numbers — numbers
keep their source text), ``bool``, ``list`` and ``TagPath`` (a path passed *as a path* to a
function). ``VOID`` is what a function without a result returns; assigning it is an error.

``ScriptState`` is owned by one compiled script and lives as long as it does, so UID maps and
lookup tables persist across objects like the reference applicator's context. ``Context`` is the
per-object view handed to statements and functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from pydicom.dataset import Dataset

from desktop_client.core.geometry import PixelEdit
from desktop_client.dicomedit import paths
from desktop_client.dicomedit.errors import ScriptRuntimeError
from desktop_client.dicomedit.paths import ElementStep, TagPath


class _Void:
    __slots__ = ()

    def __repr__(self) -> str:
        return "VOID"


VOID = _Void()


def path_text(path: TagPath) -> str:
    """The canonical text of a script path (``00100010``), used where a path becomes a string."""
    parts = []
    for step in path.steps:
        if not isinstance(step, ElementStep):
            parts.append(step.text)
            continue
        inner = step.text[1:step.text.index(")")]
        group, _, element = inner.partition(",")
        if step.creator is not None:
            text = f'{group.lower()}"{step.creator}"xx{element[-2:].lower()}'
        else:
            text = (group + element).lower()
        if step.indexed:
            text += f"[{'%' if step.item is None else step.item}]"
        parts.append(text)
    return "/".join(parts)


def to_string(value: Any) -> str:
    """Java ``toString`` of a value (§5.2): null → ``null``, lists as ``[a, b]``."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, TagPath):
        return path_text(value)
    if isinstance(value, list):
        return "[" + ", ".join(to_string(v) for v in value) + "]"
    if value is VOID:
        return "VOID"
    return str(value)


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None or value is VOID:
        return False
    return to_string(value).strip().lower() == "true"


def flatten(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if isinstance(v, list):
            out.extend(flatten(v))
        else:
            out.append(v)
    return out


# ---- Java regex → Python ------------------------------------------------------------------

_POSIX = {
    "ASCII": r"\x00-\x7F", "Alpha": "a-zA-Z", "Digit": "0-9", "Alnum": "a-zA-Z0-9",
    "Upper": "A-Z", "Lower": "a-z", "Punct": r"!-/:-@\[-`{-~", "Space": r" \t\n\x0B\f\r",
    "XDigit": "0-9a-fA-F", "Blank": r" \t", "Cntrl": r"\x00-\x1F\x7F", "Print": r"\x20-\x7E",
    "Graph": r"\x21-\x7E", "L": r"^\W\d_", "IsAlphabetic": r"^\W\d_", "Lu": "A-Z", "Ll": "a-z",
    "N": r"\d", "IsDigit": r"\d",
}
_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


#: Java's predefined classes are ASCII-only (no UNICODE_CHARACTER_CLASS), Python's are Unicode:
#: ``\w+`` must not match "Jöhn" here when it does not in XNAT.
_ASCII_CLASSES = {"w": "a-zA-Z0-9_", "d": "0-9", "s": " \\t\\n\\x0B\\f\\r"}


def _translate(regex: str) -> str:
    out: list[str] = []
    i = 0
    n = len(regex)
    in_class = 0
    while i < n:
        ch = regex[i]
        if ch == "\\" and i + 1 < n:
            nxt = regex[i + 1]
            body = _ASCII_CLASSES.get(nxt.lower())
            if body is not None and (in_class == 0 or nxt.islower()):
                negate = nxt.isupper()
                out.append(body if in_class else ("[^" if negate else "[") + body + "]")
                i += 2
                continue
            if nxt in "pP" and i + 2 < n and regex[i + 2] == "{":
                end = regex.find("}", i + 3)
                name = regex[i + 3:end] if end > 0 else ""
                name = name[2:] if name.startswith("Is") and name[2:] in _POSIX else name
                body = _POSIX.get(name)
                if body is None:
                    raise ScriptRuntimeError(f"Unknown character property name {{{name}}} in "
                                             f"regex {regex}")
                negate = nxt == "P"
                if body.startswith("^"):
                    negate, body = not negate, body[1:]
                if in_class:
                    if negate:
                        raise ScriptRuntimeError(f"Unsupported negated class in regex {regex}")
                    out.append(body)
                else:
                    out.append(("[^" if negate else "[") + body + "]")
                i = end + 1
                continue
            if nxt == "Q":
                end = regex.find("\\E", i + 2)
                literal = regex[i + 2:] if end < 0 else regex[i + 2:end]
                out.append(re.escape(literal))
                i = n if end < 0 else end + 2
                continue
            if nxt == "z":
                out.append(r"\Z")
                i += 2
                continue
            if nxt == "k" and regex.startswith("<", i + 2):
                end = regex.find(">", i + 3)
                out.append(f"(?P={regex[i + 3:end]})")
                i = end + 1
                continue
            out.append(regex[i:i + 2])
            i += 2
            continue
        if ch == "[":
            in_class += 1
        elif ch == "&" and in_class and regex.startswith("&&", i):
            # Java's class intersection has no Python equivalent; guessing would match other text.
            raise ScriptRuntimeError(f"Unsupported Java class intersection (&&) in regex {regex}")
        elif ch == "]" and in_class:
            in_class -= 1
        elif ch == "(" and not in_class and regex.startswith("(?<", i) and \
                not regex.startswith("(?<=", i) and not regex.startswith("(?<!", i):
            out.append("(?P<")
            i += 3
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def compile_regex(regex: str) -> re.Pattern[str]:
    """A Java regex compiled for Python (cached: scripts reuse the same few patterns)."""
    pattern = _REGEX_CACHE.get(regex)
    if pattern is None:
        try:
            pattern = re.compile(_translate(regex))
        except re.error as exc:
            raise ScriptRuntimeError(f"Invalid regular expression {regex!r}: {exc}") from None
        _REGEX_CACHE[regex] = pattern
    return pattern


# ---- state ----------------------------------------------------------------------------------

HttpGet = Callable[[str], str]


@dataclass
class ScriptState:
    """Everything a compiled script keeps between objects (§1.3)."""

    lookup_table: dict[str, str] = field(default_factory=dict)
    http_get: HttpGet | None = None
    existing_session_labels: Any = ()
    ignore_rejections: bool = False
    uid_tables: dict[str, dict[Any, str]] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    custom_functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)


@dataclass
class Context:
    """One object being processed by one script."""

    ds: Dataset
    state: ScriptState
    messages: list[str] = field(default_factory=list)
    pixel_edits: list[PixelEdit] = field(default_factory=list)

    def read(self, path: TagPath) -> str | None:
        if not path.singular:
            raise ScriptRuntimeError(f"Path matching multiple tags not allowed as term: {path.reference_text}")
        return paths.read(self.ds, path)

    def deref(self, value: Any) -> Any:
        """Read a tag-path argument; other values unchanged (§5.2 dereferencing rule)."""
        if isinstance(value, TagPath):
            return self.read(value)
        return value


def parse_lookup_table(source: str | Mapping[str, str] | None) -> dict[str, str]:
    """Lookup table text (``keyType/key = value`` lines, §9.6) or a ready mapping."""
    if source is None:
        return {}
    if not isinstance(source, str):
        return {str(k): str(v) for k, v in source.items()}
    table: dict[str, str] = {}
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("//"):
            continue
        key_part, eq, value = line.partition("=")
        key_type, slash, key = key_part.partition("/")
        if not eq or not slash:
            # The line is not quoted: a lookup table's keys and values are often patient names.
            raise ValueError(f"line {number} is not 'keyType/key = value'")
        table[f"{key_type.strip()}/{key.rstrip()}"] = value.strip()
    return table
