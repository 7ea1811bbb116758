"""Templates on disk: one JSON file per template, written atomically.

User templates live in ``core.paths.data_dir()/templates`` (data the user would miss, unlike the
cache). The repository's ``templates_store/`` ships example templates; they are listed read-only
and can be duplicated into the user folder to be edited. Names are unique (case-insensitive)
across both, because the CLI's ``--template NAME`` picks a template by name.

Files are written to a private temporary file in the same folder and renamed over the target, so a
crash never leaves half a template; unreadable files are skipped and reported in ``problems``
instead of stopping the app.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import re
import tempfile
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable

from desktop_client.core import paths
from desktop_client.core.geometry import Rect
from desktop_client.templates.ctp import CtpImport, parse_ctp_script
from desktop_client.templates.dicomedit import rectangles_from_dicomedit
from desktop_client.templates.model import FORMAT, FORMAT_VERSION, MatchKeys, Template, TemplateError, now_iso

log = logging.getLogger(__name__)

#: Example templates shipped with the source tree (absent from a bare wheel install, which is fine).
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "templates_store"


def default_author() -> str:
    try:
        return getpass.getuser()
    except Exception:  # getuser raises various errors when no user name is set (containers)
        return ""


def _write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class TemplateStore:
    """The user's templates plus the shipped read-only examples.

    Reads the folders on construction and on ``reload()``; every change writes through to disk
    immediately, so a template saved in the GUI is there after a restart and for the CLI.
    """

    def __init__(self, root: Path | str | None = None, shipped: Path | str | None | bool = True) -> None:
        self.root = Path(root) if root is not None else paths.data_dir() / "templates"
        if shipped is True:
            self.shipped_dir: Path | None = SHIPPED_DIR
        elif shipped is False or shipped is None:
            self.shipped_dir = None
        else:
            self.shipped_dir = Path(shipped)
        self.problems: list[str] = []
        self._templates: dict[str, Template] = {}
        self._files: dict[str, Path] = {}
        self.reload()

    # -- reading --------------------------------------------------------------------------------
    def reload(self) -> None:
        """Re-read both folders (another window or the CLI may have changed them)."""
        self.problems = []
        self._templates, self._files = {}, {}
        if self.shipped_dir is not None and self.shipped_dir.is_dir():
            self._load_dir(self.shipped_dir, read_only=True)
        if self.root.is_dir():
            self._load_dir(self.root, read_only=False)

    def _load_dir(self, folder: Path, read_only: bool) -> None:
        for path in sorted(folder.glob("*.json")):
            try:
                template = Template.from_json(json.loads(path.read_text(encoding="utf-8")),
                                              read_only=read_only)
            except (OSError, ValueError, TemplateError) as exc:
                self.problems.append(f"{path.name}: {exc}")
                log.warning("skipping unreadable template file %s: %s", path.name, exc)
                continue
            if template.id in self._templates or self._name_taken(template.name):
                self.problems.append(f"{path.name}: a template with the same id or name is already loaded")
                continue
            self._templates[template.id] = template
            self._files[template.id] = path

    def all(self) -> list[Template]:
        """Every template, user ones first, then by name."""
        return sorted(self._templates.values(), key=lambda t: (t.read_only, t.name.lower()))

    def __len__(self) -> int:
        return len(self._templates)

    def get(self, template_id: str) -> Template:
        try:
            return self._templates[template_id]
        except KeyError:
            raise TemplateError(f"no template with id {template_id!r}") from None

    def get_by_name(self, name: str) -> Template:
        """The template called ``name`` (case-insensitive; an id is accepted too)."""
        wanted = name.strip().lower()
        for template in self._templates.values():
            if template.name.lower() == wanted or template.id == name.strip():
                return template
        known = ", ".join(sorted(t.name for t in self._templates.values())) or "none saved yet"
        raise TemplateError(f"no template named {name!r} (known templates: {known})")

    def matching(self, instance_or_scan: Any) -> list[Template]:
        """Templates that fit an instance, a scan (its representative instance) or a scan ref."""
        return [t for t in self.all() if t.matches(instance_or_scan)]

    def path_of(self, template_id: str) -> Path:
        return self._files[template_id]

    # -- changing -------------------------------------------------------------------------------
    def _name_taken(self, name: str, except_id: str | None = None) -> bool:
        lowered = name.strip().lower()
        return any(t.name.lower() == lowered and t.id != except_id for t in self._templates.values())

    def unique_name(self, base: str) -> str:
        """``base``, or ``base (2)``, ``base (3)``… whichever is free."""
        name, n = base.strip() or "Template", 2
        candidate = name
        while self._name_taken(candidate):
            candidate = f"{name} ({n})"
            n += 1
        return candidate

    def _check_name(self, name: str, except_id: str | None = None) -> str:
        name = " ".join(name.split())
        if not name:
            raise TemplateError("a template needs a name")
        if self._name_taken(name, except_id):
            raise TemplateError(f"a template named {name!r} already exists; choose another name")
        return name

    def _writable(self, template_id: str) -> Template:
        template = self.get(template_id)
        if template.read_only:
            raise TemplateError(f"{template.name!r} is a shipped example; duplicate it to change it")
        return template

    def _save(self, template: Template) -> Template:
        path = self._files.get(template.id) or self.root / f"{template.id}.json"
        _write_json_atomic(path, template.to_json())
        self._templates[template.id] = template
        self._files[template.id] = path
        return template

    def create(self, name: str, match: MatchKeys, rectangles: Iterable[Rect], *,
               description: str = "", author: str | None = None) -> Template:
        """Save a new template; the rectangles must not be empty."""
        rects = [r for r in rectangles if not r.is_empty]
        if not rects:
            raise TemplateError("a template needs at least one rectangle")
        stamp = now_iso()
        template = Template(id=uuid.uuid4().hex, name=self._check_name(name), match=match,
                            rectangles=rects, description=description.strip(),
                            author=default_author() if author is None else author,
                            created=stamp, modified=stamp)
        return self._save(template)

    def update(self, template_id: str, *, name: str | None = None, description: str | None = None,
               rectangles: Iterable[Rect] | None = None, match: MatchKeys | None = None) -> Template:
        """Change a user template's name, description, rectangles or match keys."""
        template = self._writable(template_id)
        changes: dict[str, Any] = {"modified": now_iso()}
        if name is not None:
            changes["name"] = self._check_name(name, except_id=template_id)
        if description is not None:
            changes["description"] = description.strip()
        if rectangles is not None:
            rects = [r for r in rectangles if not r.is_empty]
            if not rects:
                raise TemplateError("a template needs at least one rectangle")
            changes["rectangles"] = rects
        if match is not None:
            changes["match"] = match
        return self._save(replace(template, **changes))

    def rename(self, template_id: str, name: str) -> Template:
        return self.update(template_id, name=name)

    def duplicate(self, template_id: str, name: str | None = None) -> Template:
        """A writable copy (the way to edit a shipped example)."""
        source = self.get(template_id)
        new_name = self._check_name(name) if name else self.unique_name(f"{source.name} (copy)")
        stamp = now_iso()
        copy = replace(source, id=uuid.uuid4().hex, name=new_name, created=stamp, modified=stamp,
                       read_only=False, rectangles=list(source.rectangles))
        return self._save(copy)

    def delete(self, template_id: str) -> None:
        self._writable(template_id)
        self._files.pop(template_id).unlink(missing_ok=True)
        del self._templates[template_id]

    # -- exchange -------------------------------------------------------------------------------
    def export(self, template_ids: Iterable[str], path: Path | str) -> Path:
        """Write templates to ``path``: one template object, or a bundle when several."""
        chosen = [self.get(i) for i in template_ids]
        if not chosen:
            raise TemplateError("choose at least one template to export")
        data: Any = (chosen[0].to_json() if len(chosen) == 1 else
                     {"format": FORMAT, "version": FORMAT_VERSION,
                      "templates": [t.to_json() for t in chosen]})
        target = Path(path)
        _write_json_atomic(target, data)
        return target

    def import_file(self, path: Path | str) -> list[Template]:
        """Add the templates of an exported JSON file, a CTP pixel script or a DicomEdit script.

        Imported templates get fresh ids, and a free name when theirs is taken, so importing the
        same file twice never overwrites anything. CTP scripts go through ``import_ctp``;
        DicomEdit scripts (``.das``/``.txt`` with ``alterPixels``) need the match keys of the
        images they were written for, so they are refused here with that explanation.
        """
        source = Path(path)
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateError(f"cannot read {source.name}: {exc}") from None
        stripped = text.lstrip()
        if not stripped.startswith(("{", "[")):
            if "{" in text and re.search(r"\(\s*-?\d+\s*,", text):
                return self.import_ctp(text, source_name=source.name).templates
            if rectangles_from_dicomedit(text):
                raise TemplateError(f"{source.name} is a DicomEdit script; its rectangles do not say which "
                                    "images they fit. Draw them on a scan and save a template instead.")
            raise TemplateError(f"{source.name} is neither a template file nor a CTP pixel script")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise TemplateError(f"{source.name} is not valid JSON ({exc})") from None
        items = data.get("templates") if isinstance(data, dict) and "templates" in data else data
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list) or not items:
            raise TemplateError(f"{source.name} contains no templates")
        parsed = [Template.from_json(item) for item in items]  # validate all before saving any
        added = []
        for template in parsed:
            ident = template.id if template.id not in self._templates else uuid.uuid4().hex
            added.append(self._save(replace(template, id=ident, read_only=False,
                                             name=self.unique_name(template.name))))
        return added

    def import_ctp(self, text: str, *, source_name: str = "CTP script") -> "CtpImportResult":
        """Turn each importable signature of a DicomPixelAnonymizer script into a template."""
        parsed: CtpImport = parse_ctp_script(text)
        added = []
        for region_set in parsed.imported:
            lines = [f"Imported from {source_name}: {{ {region_set.signature} }}"]
            if region_set.dropped_conditions:
                lines.append("Conditions a template cannot check (so it matches more widely): "
                             + "; ".join(region_set.dropped_conditions))
            stamp = now_iso()
            template = Template(id=uuid.uuid4().hex, name=self.unique_name(f"CTP {region_set.title}"),
                                match=region_set.match, rectangles=region_set.rectangles,
                                description="\n".join(lines), author=default_author(),
                                created=stamp, modified=stamp)
            added.append(self._save(template))
        return CtpImportResult(templates=added, skipped=parsed.skipped)


@dataclass(slots=True)
class CtpImportResult:
    """Templates created from a CTP script, and the signatures that could not be imported."""

    templates: list[Template]
    skipped: list[str]

