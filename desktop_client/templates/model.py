"""What a redaction template is, and which images it fits.

A template is a reusable set of rectangles for one kind of image. Like the official client it is
matched on the four values the bulk groups are keyed on (Modality, Rows, Columns, SOP Class UID,
all exact) so a template drawn on one 640×480 ultrasound never lands on a 1024×768 one where the
burned-in text sits elsewhere. Unlike it, a template may narrow the match further by equipment
(Manufacturer, Manufacturer's Model Name, Station Name: case-insensitive substring tests, the way
CTP's pixel anonymizer signatures are written), because two vendors' scanners with the same matrix
put their text in different corners.

A key left as ``None`` matches anything; templates drawn in the app always set the four exact keys,
only templates imported from CTP scripts (whose signatures rarely name a SOP class) leave some open.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Protocol

from desktop_client.core.errors import UploaderError
from desktop_client.core.geometry import Rect

FORMAT = "xnat-desktop-uploader/template"
FORMAT_VERSION = 1


class TemplateError(UploaderError):
    """A template cannot be read, written or changed; the message is meant for the user."""


class _HasImageAttributes(Protocol):
    modality: str
    rows: int | None
    columns: int | None
    sop_class_uid: str


def now_iso() -> str:
    """UTC timestamp with seconds, the form stored in template files."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class MatchKeys:
    """Which images a template fits (see the module docstring for the rules)."""

    modality: str | None = None
    rows: int | None = None
    columns: int | None = None
    sop_class_uid: str | None = None
    manufacturer: str | None = None
    model_name: str | None = None
    station_name: str | None = None

    @classmethod
    def of(cls, obj: Any) -> "MatchKeys":
        """The exact keys of an instance, scan or scan reference (equipment left open)."""
        inst = _instance_of(obj)
        return cls(modality=(inst.modality or "").upper() or None, rows=inst.rows,
                   columns=inst.columns, sop_class_uid=inst.sop_class_uid or None)

    def matches(self, obj: Any) -> bool:
        """True when an instance (or a scan's representative instance) fits these keys."""
        inst = _instance_of(obj)
        if self.modality is not None and (inst.modality or "").upper() != self.modality.upper():
            return False
        if self.rows is not None and inst.rows != self.rows:
            return False
        if self.columns is not None and inst.columns != self.columns:
            return False
        if self.sop_class_uid is not None and inst.sop_class_uid != self.sop_class_uid:
            return False
        for wanted, attr in ((self.manufacturer, "manufacturer"),
                             (self.model_name, "manufacturer_model_name"),
                             (self.station_name, "station_name")):
            if wanted and wanted.strip().lower() not in str(getattr(inst, attr, "") or "").lower():
                return False
        return True

    @property
    def size_text(self) -> str:
        if self.rows is None and self.columns is None:
            return "any size"
        return f"{self.rows if self.rows is not None else '*'}×{self.columns if self.columns is not None else '*'}"

    def to_json(self) -> dict[str, Any]:
        return {"modality": self.modality, "rows": self.rows, "columns": self.columns,
                "sop_class_uid": self.sop_class_uid, "manufacturer": self.manufacturer,
                "model_name": self.model_name, "station_name": self.station_name}

    @classmethod
    def from_json(cls, data: Any) -> "MatchKeys":
        if not isinstance(data, dict):
            raise TemplateError("the template's 'match' must be an object")
        def text(key: str) -> str | None:
            value = data.get(key)
            if value is None or value == "":
                return None
            if not isinstance(value, str):
                raise TemplateError(f"the template's match key {key!r} must be text")
            return value.strip()
        def number(key: str) -> int | None:
            value = data.get(key)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise TemplateError(f"the template's match key {key!r} must be a positive whole number")
            return value
        return cls(modality=text("modality"), rows=number("rows"), columns=number("columns"),
                   sop_class_uid=text("sop_class_uid"), manufacturer=text("manufacturer"),
                   model_name=text("model_name"), station_name=text("station_name"))


def _instance_of(obj: Any) -> _HasImageAttributes:
    """Instances are used as is; scans (and ScanRef-like ``.scan`` holders) by representative."""
    scan = getattr(obj, "scan", None)
    if scan is not None and hasattr(scan, "representative"):
        obj = scan
    if hasattr(obj, "representative") and getattr(obj, "instances", None):
        return obj.representative
    return obj


@dataclass(slots=True)
class Template:
    """A named, reusable set of redaction rectangles (image pixel coordinates, every frame)."""

    id: str
    name: str
    match: MatchKeys
    rectangles: list[Rect]
    description: str = ""
    author: str = ""
    created: str = field(default_factory=now_iso)
    modified: str = field(default_factory=now_iso)
    #: Shipped examples (``templates_store/``) cannot be changed, only duplicated.
    read_only: bool = False

    def matches(self, obj: Any) -> bool:
        return self.match.matches(obj)

    def renamed(self, name: str) -> "Template":
        return replace(self, name=name, modified=now_iso())

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "version": FORMAT_VERSION, "id": self.id, "name": self.name,
            "description": self.description, "author": self.author, "created": self.created,
            "modified": self.modified, "match": self.match.to_json(),
            "rectangles": [[r.left, r.top, r.right, r.bottom] for r in self.rectangles],
        }

    @classmethod
    def from_json(cls, data: Any, *, read_only: bool = False) -> "Template":
        """Validate and build a template; raises TemplateError naming what is wrong."""
        if not isinstance(data, dict):
            raise TemplateError("a template must be a JSON object")
        if data.get("format", FORMAT) != FORMAT:
            raise TemplateError(f"not a template file (format {data.get('format')!r})")
        version = data.get("version", FORMAT_VERSION)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise TemplateError(f"template format version {version!r} is newer than this app understands")
        ident, name = data.get("id"), data.get("name")
        if not isinstance(ident, str) or not ident.strip():
            raise TemplateError("the template has no 'id'")
        if not isinstance(name, str) or not name.strip():
            raise TemplateError("the template has no 'name'")
        rects_raw = data.get("rectangles")
        if not isinstance(rects_raw, list):
            raise TemplateError(f"template {name!r}: 'rectangles' must be a list of [left, top, right, bottom]")
        rects: list[Rect] = []
        for item in rects_raw:
            if (not isinstance(item, list) or len(item) != 4
                    or not all(isinstance(v, int) and not isinstance(v, bool) for v in item)):
                raise TemplateError(f"template {name!r}: rectangle {item!r} is not four whole numbers")
            rect = Rect(*item)
            if rect.is_empty or rect.left < 0 or rect.top < 0:
                raise TemplateError(f"template {name!r}: rectangle {item!r} is empty or off the image")
            rects.append(rect)
        strings = {}
        for key in ("description", "author", "created", "modified"):
            value = data.get(key, "")
            if not isinstance(value, str):
                raise TemplateError(f"template {name!r}: {key!r} must be text")
            strings[key] = value
        return cls(id=ident.strip(), name=name.strip(), match=MatchKeys.from_json(data.get("match", {})),
                   rectangles=rects, description=strings["description"], author=strings["author"],
                   created=strings["created"] or now_iso(), modified=strings["modified"] or now_iso(),
                   read_only=read_only)
