"""``xnat-upload anonymize`` and ``xnat-upload check-script``: DicomEdit from the command line.

``anonymize`` applies the given scripts in order (site first, then project — XNAT's order) to
every DICOM object the ``scan`` command would find, and writes the results under ``--out``
mirroring the input layout; inputs are never modified. ``--dry-run`` writes nothing and shows,
per file, which attributes would change. ``check-script`` parses a script and reports its
dialect, its variables, or its errors with line and column, and warns (``FILE:LINE:COLUMN:
warning: …``) where the script uses a construct this client handles differently from XNAT
(the deviations listed in docs/dicomedit-conformance.md).
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from desktop_client.cli.common import (UserError, each_object, nothing_found, outcome_exit_code,
                                       output_folder, print_json, print_skipped, reason_of, require_inputs,
                                       require_regular_file, skipped_json)
from desktop_client.core.atomic import atomic_write
from desktop_client.core.errors import PASS_THROUGH
from desktop_client.dicomedit import (Script, ScriptSyntaxError, apply_chain, compile_script,
                                      variables_of)
from desktop_client.dicomedit.conformance import deviations_in
from desktop_client.dicomedit.paths import render


def register(sub: argparse._SubParsersAction) -> None:
    anon = sub.add_parser("anonymize", help="apply DicomEdit scripts (site, then project) to DICOM files")
    anon.add_argument("paths", nargs="+", metavar="PATH", help="folder, file, archive or DICOMDIR")
    anon.add_argument("--out", required=True, metavar="DIR", help="folder for the anonymized copies")
    anon.add_argument("--script", action="append", required=True, metavar="FILE",
                      help="DicomEdit script; repeat to chain (site script first, then project)")
    anon.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                      help="value of a script variable (project, subject, session, ...)")
    anon.add_argument("--lookup-table", metavar="FILE", help="lookup table for lookup[...]")
    anon.add_argument("--existing-label", action="append", default=[], metavar="LABEL",
                      help="a session label already used in the project (for makeSessionLabel)")
    anon.add_argument("--dry-run", action="store_true", help="write nothing; show what would change")
    anon.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    anon.set_defaults(func=run_anonymize)

    check = sub.add_parser("check-script", help="parse a DicomEdit script and list its variables")
    check.add_argument("file", metavar="FILE")
    check.add_argument("--dialect", choices=["DE6", "DE4"], help="force a dialect (default: XNAT's rule)")
    check.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    check.set_defaults(func=run_check)


# ---- scripts ---------------------------------------------------------------------------------


def _read_text(path: str, option: str = "") -> str:
    require_regular_file(path, option or "the file")
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path} does not exist; check the path and try again.") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a UTF-8 text file; is it really a DicomEdit script?") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None


def _load_scripts(args: argparse.Namespace) -> list[Script]:
    table = _read_text(args.lookup_table, "--lookup-table") if args.lookup_table else None
    scripts = []
    for path in args.script:
        try:
            scripts.append(compile_script(_read_text(path, "--script"), lookup_table=table,
                                          existing_session_labels=args.existing_label))
        except ScriptSyntaxError as exc:
            raise UserError(f"{path}:{exc.line}:{exc.column}: {exc.message}") from None
    return scripts


def _variables(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--var needs NAME=VALUE, got {pair!r}")
        out[name.strip()] = value
    return out


# ---- outputs ---------------------------------------------------------------------------------


def _safe_member(member: str) -> Path:
    parts = [p for p in Path(member.replace("\\", "/")).parts if p not in ("", ".", "..", "/")]
    return Path(*parts) if parts else Path("member")


def output_path(location: Any, inputs: list[Path], out: Path) -> Path:
    """Where an object goes under ``out``: its path relative to the input it came from."""
    source = Path(location.path).resolve()
    rel: Path | None = None
    for root in inputs:
        if root.is_dir() and (source == root or root in source.parents):
            rel = source.relative_to(root)
            break
    if rel is None:
        rel = Path(source.name)
    if location.member is not None:
        rel = Path(str(rel) + ".d") / _safe_member(location.member)
    return out / rel


def _write(ds: Dataset, target: Path) -> None:
    """Write ``ds`` to ``target`` atomically, the file meta naming the (possibly new) SOP Instance."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        if "SOPInstanceUID" in ds:
            meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        if "SOPClassUID" in ds:
            meta.MediaStorageSOPClassUID = ds.SOPClassUID
    atomic_write(target, lambda fh: ds.save_as(fh, enforce_file_format=False))


# ---- diff ------------------------------------------------------------------------------------


def _show(value: str | None) -> str:
    return "(absent)" if value is None else repr(value)


def diff(before: Dataset, after: Dataset, prefix: str = "") -> list[dict[str, Any]]:
    """Attribute-level changes between two datasets (nested items included)."""
    changes: list[dict[str, Any]] = []
    for tag in sorted(set(before.keys()) | set(after.keys())):
        old = before[tag] if tag in before else None
        new = after[tag] if tag in after else None
        name = f"{prefix}({tag >> 16:04X},{tag & 0xFFFF:04X})"
        present = old if old is not None else new
        assert present is not None  # the tag came from one of the two datasets
        keyword = present.keyword or "private/unknown"
        if old is not None and new is not None and old.VR == "SQ" and new.VR == "SQ":
            a, b = old.value, new.value
            if len(a) != len(b):
                changes.append({"tag": name, "keyword": keyword, "old": f"{len(a)} item(s)",
                                "new": f"{len(b)} item(s)"})
            for i in range(min(len(a), len(b))):
                changes.extend(diff(a[i], b[i], f"{name}[{i}]/"))
            continue
        old_text = None if old is None else ("<sequence>" if old.VR == "SQ" else render(old))
        new_text = None if new is None else ("<sequence>" if new.VR == "SQ" else render(new))
        if old_text != new_text or (old is not None and new is not None and old.VR != new.VR):
            changes.append({"tag": name, "keyword": keyword, "old": old_text, "new": new_text})
    return changes


# ---- commands --------------------------------------------------------------------------------


def run_anonymize(args: argparse.Namespace) -> int:
    require_inputs(args.paths)
    scripts = _load_scripts(args)
    variables = _variables(args.var)
    inputs, out = output_folder(args.paths, args.out)
    results, skipped = each_object(args.paths, lambda source, entry: _anonymize_one(
        source, scripts, variables, args.dry_run, inputs, out, entry))
    if not results:
        return nothing_found(skipped, args.json)
    counts = {s: sum(1 for r in results if r["status"] == s) for s in ("ok", "rejected", "error")}
    counts["skipped"] = len(skipped)
    if args.json:
        print_json({"dry_run": args.dry_run, "files": results, "skipped": skipped_json(skipped),
                    "summary": counts})
    else:
        for r in results:
            line = f"{r['status']:8} {r['file']}"
            if r.get("error"):
                line += f": {r['error']}"
            elif r.get("output"):
                line += f" -> {r['output']}"
            print(line)
            for message in r.get("messages", []):
                print(f"         echo: {message}")
            for edit in r.get("pixel_edits", []):
                print(f"         alterPixels {edit}" + (" (not executed: dry run)" if args.dry_run else ""))
            for c in r.get("changes", []):
                print(f"         {c['tag']} {c['keyword']}: {_show(c['old'])} -> {_show(c['new'])}")
        print_skipped(skipped)
        print(f"{counts['ok']} ok, {counts['rejected']} rejected, {counts['error']} error(s), "
              f"{counts['skipped']} skipped"
              + (" (dry run: nothing written)" if args.dry_run else f"; output in {out}"))
    return outcome_exit_code(counts["error"], len(skipped))


def _anonymize_one(source: Any, scripts: list[Script], variables: dict[str, str], dry_run: bool,
                   inputs: list[Path], out: Path, entry: dict[str, Any]) -> None:
    """Read, script and write one object, recording its outcome in ``entry``."""
    from desktop_client.scanning import read_dataset

    try:
        ds = read_dataset(source, stop_before_pixels=dry_run)
    except PASS_THROUGH:
        raise
    except BaseException as exc:  # noqa: BLE001 - unreadable input is reported, not fatal
        entry.update(status="error", error=f"cannot read: {reason_of(exc)}")
        return
    before = copy.deepcopy(ds) if dry_run else None
    outcome = apply_chain(scripts, ds, variables, execute_pixels=not dry_run)
    entry.update(status=outcome.status, error=outcome.error, messages=outcome.messages,
                 pixel_edits=[f"{e.rect} {_fill_text(e.fill)}" for e in outcome.pixel_edits])
    if dry_run:
        assert before is not None
        entry["changes"] = diff(before, ds)
        return
    if not outcome.ok:
        return
    target = output_path(source, inputs, out)
    if target.parent.resolve() / target.name == Path(source.path).resolve():  # a link there is replaced, not followed
        entry.update(status="error", error="the output would replace the input; choose another --out")
        return
    try:
        _write(ds, target)
    except PASS_THROUGH:
        raise
    except BaseException as exc:  # noqa: BLE001 - full disk, a value pydicom cannot encode...
        entry.update(status="error", error=f"cannot write {target} ({reason_of(exc)}); nothing was left there")
    else:
        entry["output"] = str(target)


def _fill_text(fill: Any) -> str:
    if fill.value is not None:
        return f"v={fill.value}"
    if fill.rgb is not None:
        return "r={},g={},b={}".format(*fill.rgb)
    return "black"


def run_check(args: argparse.Namespace) -> int:
    text = _read_text(args.file)
    try:
        script = compile_script(text, dialect=args.dialect)
    except ScriptSyntaxError as exc:
        if args.json:
            print_json({"file": args.file, "valid": False, "error": exc.message, "line": exc.line,
                        "column": exc.column})
        else:
            print(f"{args.file}:{exc.line}:{exc.column}: error: {exc.message}")
        return 1
    variables = variables_of([script])
    warnings = deviations_in(script.statements, script.dialect)
    if args.json:
        print_json({"file": args.file, "valid": True, "dialect": script.dialect,
                    "statements": len(script.statements), "alter_pixels": script.pixel_statements,
                    "warnings": [{"line": w.line, "column": w.column, "feature": w.feature.id,
                                  "status": w.feature.status, "construct": w.detail,
                                  "places": w.count, "reason": w.feature.reason} for w in warnings],
                    "variables": [{"name": v.name, "description": v.description, "hidden": v.hidden,
                                   "export_field": v.export_field, "initial_value": v.initial_value,
                                   "external": v.external} for v in variables]})
        return 0
    print(f"{args.file}: OK, DicomEdit {script.dialect[2]} ({len(script.statements)} statements"
          + (f", {script.pixel_statements} alterPixels" if script.pixel_statements else "") + ")")
    for w in warnings:
        print(f"{args.file}:{w.line}:{w.column}: warning: {w.message}")
    if variables:
        print("variables:")
        for v in variables:
            notes = ["supplied by XNAT or the user" if v.external else "set by the script"]
            if v.hidden:
                notes.append("hidden")
            if v.export_field:
                notes.append(f"export {v.export_field}")
            if v.initial_value is not None:
                notes.append(f"initial value {v.initial_value!r}")
            label = f" \"{v.description}\"" if v.description else ""
            print(f"  {v.name}{label} ({', '.join(notes)})")
    else:
        print("variables: none")
    return 0
