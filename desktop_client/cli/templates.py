"""``xnat-upload templates``: list, show, export, import and delete redaction templates.

The same store as the app (``<data dir>/templates`` plus the shipped read-only examples), so a
template drawn in the GUI can be used with ``upload --template NAME``, shared as a file, or
turned into the ``alterPixels`` statements to paste into an XNAT project's anonymization script.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop_client.cli.common import UserError, print_json
from desktop_client.core.sop_classes import sop_class_name
from desktop_client.templates import Template, TemplateError, TemplateStore, to_dicomedit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("templates", help="list, show, export, import and delete redaction templates")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    ls = actions.add_parser("list", help="every template (user ones, then shipped examples)")
    ls.add_argument("--json", action="store_true", help="print one JSON array on stdout")
    ls.set_defaults(func=run_list)
    show = actions.add_parser("show", help="one template's match keys and boxes")
    show.add_argument("name")
    show.add_argument("--dicomedit", action="store_true",
                      help="print the alterPixels script XNAT's DicomEdit accepts instead")
    show.add_argument("--json", action="store_true", help="print the template file's JSON")
    show.set_defaults(func=run_show)
    export = actions.add_parser("export", help="write templates to a file to share them")
    export.add_argument("names", nargs="+", metavar="NAME")
    export.add_argument("--out", required=True, type=Path, help="file to write (.json)")
    export.set_defaults(func=run_export)
    imp = actions.add_parser("import", help="add templates from an exported file or a CTP DicomPixelAnonymizer.script")
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=run_import)
    delete = actions.add_parser("delete", help="delete a user template")
    delete.add_argument("name")
    delete.set_defaults(func=run_delete)


def _store() -> TemplateStore:
    return TemplateStore()


def _get(store: TemplateStore, name: str) -> Template:
    try:
        return store.get_by_name(name)
    except TemplateError as exc:
        raise UserError(str(exc)) from None


def _line(t: Template) -> str:
    m = t.match
    keys = f"{m.modality or '*'} {m.size_text} {sop_class_name(m.sop_class_uid) if m.sop_class_uid else 'any SOP class'}"
    extra = ", ".join(v for v in (m.manufacturer, m.model_name, m.station_name) if v)
    flag = " [example, read-only]" if t.read_only else ""
    return f"{t.name}{flag}: {keys}{' (' + extra + ')' if extra else ''}; {len(t.rectangles)} box(es)"


def run_list(args: argparse.Namespace) -> int:
    store = _store()
    if args.json:
        print_json([dict(t.to_json(), read_only=t.read_only) for t in store.all()])
        return 0
    for t in store.all():
        print(_line(t))
    if not len(store):
        print("No templates yet: draw boxes in the app's review step and choose “Save as template”.")
    for problem in store.problems:
        print(f"warning: {problem}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    t = _get(_store(), args.name)
    if args.dicomedit:
        print(to_dicomedit(t.rectangles), end="")
    elif args.json:
        print_json(t.to_json())
    else:
        print(_line(t))
        if t.description:
            print(t.description)
        for r in t.rectangles:
            print(f"  l={r.left}, t={r.top}, r={r.right}, b={r.bottom}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    store = _store()
    ids = [_get(store, n).id for n in args.names]
    try:
        path = store.export(ids, args.out)
    except (TemplateError, OSError) as exc:
        raise UserError(f"cannot write {args.out}: {exc}") from None
    print(f"Exported {len(ids)} template(s) to {path}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    store = _store()
    try:
        if args.file.suffix.lower() == ".script":
            result = store.import_ctp(args.file.read_text(encoding="utf-8"), source_name=args.file.name)
            added, skipped = result.templates, result.skipped
        else:
            added, skipped = store.import_file(args.file), []
    except (TemplateError, OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot import {args.file}: {exc}") from None
    for t in added:
        print(f"imported {_line(t)}")
    for reason in skipped:
        print(f"skipped {reason}")
    return 0 if added else 1


def run_delete(args: argparse.Namespace) -> int:
    store = _store()
    t = _get(store, args.name)
    try:
        store.delete(t.id)
    except TemplateError as exc:
        raise UserError(str(exc)) from None
    print(f"Deleted {t.name}")
    return 0
