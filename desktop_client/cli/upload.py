"""``xnat-upload upload`` (headless bulk upload) and ``xnat-upload transfers`` (the queue).

``upload`` scans the paths, makes one transfer per session found (labels from the options, a
scheme or a CSV), queues them in the same persistent queue the desktop application uses, and
runs them in the foreground with a progress bar (a terminal) or JSON lines (anything else). The
exit code is 0 only when every selected scan was sent and verified (1: some failed; 4: stored
but the destination could not confirm it, see cli/common.py). An interrupted run is resumed
with ``xnat-upload transfers resume ID``.

Passwords come from the OS keyring, ``XNAT_PASSWORD`` or a prompt — never from a file or the
command line.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from desktop_client.cli.common import (EXIT_NOT_VERIFIABLE, EXIT_SOME_FAILED, UserError, human_bytes, print_json,
                                       print_skipped, skipped_json)
from desktop_client.core.geometry import PixelEdit, Rect
from desktop_client.labels import (LabelPool, LabelRow, SessionScheme, SubjectScheme,
                                   assign_session_labels, assign_subject_labels, import_csv,
                                   label_problem)
from desktop_client.scanning.model import Session

SUBJECT_SCHEMES = ("auto", "patient-name", "patient-id")
SESSION_SCHEMES = ("auto", "accession", "patient-id")


# ---- registration --------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:
    up = sub.add_parser("upload", help="anonymize, redact and upload sessions (headless)",
                        description="Scan PATHs, then anonymize, redact and send every session found "
                                    "to DEST, verified, with a receipt.")
    up.add_argument("paths", nargs="+", metavar="PATH", help="folder, file, archive or DICOMDIR")
    up.add_argument("--to", required=True, metavar="DEST",
                    help="http(s)://host[/context] (XNAT), a folder (local archive), "
                         "dicom://CALLED_AET@host:port (C-STORE) or dicomweb+http(s)://host[:port]/path")
    up.add_argument("--user", default="", help="user name at the destination")
    up.add_argument("--project", default="", help="XNAT project ID (local archive: top folder)")
    subj = up.add_mutually_exclusive_group()
    subj.add_argument("--subject", metavar="LABEL", help="subject label for every session")
    subj.add_argument("--subject-scheme", choices=SUBJECT_SCHEMES,
                      help="derive subject labels (default: auto, as the desktop client's bulk mode)")
    sess = up.add_mutually_exclusive_group()
    sess.add_argument("--session", metavar="LABEL", help="session label (one session only)")
    sess.add_argument("--session-scheme", choices=SESSION_SCHEMES,
                      help="derive session labels (default: auto = SUBJECT_MOD_n)")
    up.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                    help="value of an anonymization script variable")
    up.add_argument("--labels", metavar="CSV",
                    help="relabeling CSV (Study UID, XNAT Subject ID, Session Label[, PET Tracer]); "
                         "sessions missing from it are not uploaded")
    up.add_argument("--template", action="append", default=[], metavar="NAME",
                    help="apply a saved redaction template to every scan it matches")
    up.add_argument("--rect", action="append", default=[], metavar="SERIES_UID:l,t,r,b",
                    help="black out a rectangle in every image of a series")
    up.add_argument("--exclude", action="append", default=[], metavar="SERIES_UID",
                    help="leave a series out")
    up.add_argument("--script", action="append", default=[], metavar="FILE",
                    help="DicomEdit script to apply (non-XNAT destinations; XNAT uses the server's)")
    up.add_argument("--lookup-table", metavar="FILE",
                    help="DicomEdit lookup table ('keyType/key = value' lines) for the scripts' "
                         "lookup[...]; the receipt records its checksum, never its entries")
    up.add_argument("--merge", action="store_true",
                    help="add the scans to a session that already exists under the same label "
                         "(XNAT: an archived session of the same subject); without it an existing "
                         "label is refused")
    up.add_argument("--calling-aet", default="XNATUPLOAD", help="our AE title for C-STORE")
    up.add_argument("--insecure", action="store_true",
                    help="do not check the server's TLS certificate (only for a server you trust)")
    up.add_argument("--receipt-dir", metavar="DIR", help="where to write the receipts")
    up.add_argument("--workers", type=int, default=None,
                    help="processes for anonymization and redaction (default: number of cores)")
    up.add_argument("--chunk-files", type=int, default=1000,
                    help="at most this many files per unit, the resume granularity (and at most "
                         "512 MB); an XNAT upload sends one request per unit")
    up.add_argument("--dry-run", action="store_true", help="show the plan; send nothing")
    up.add_argument("--json", action="store_true", help="print the result as one JSON document")
    up.set_defaults(func=run_upload)

    tr = sub.add_parser("transfers", help="list, inspect, resume, cancel or clean queued transfers")
    tr.add_argument("action", nargs="?", default="list",
                    choices=["list", "show", "resume", "cancel", "receipt", "clean"])
    tr.add_argument("id", nargs="?", help="transfer id (or a unique prefix); 'clean' without one cleans all")
    tr.add_argument("--json", action="store_true", help="print JSON")
    tr.set_defaults(func=run_transfers)


# ---- labels --------------------------------------------------------------------------------------


def _label(value: str, what: str) -> str:
    problem = label_problem(value)
    if problem:
        raise UserError(f"{what} {value!r}: {problem}")
    return value


def assign_labels(sessions: list[Session], args: argparse.Namespace,
                  existing_sessions: set[str]) -> list[tuple[Session, str, str, str]]:
    """``(session, subject, session_label, tracer)`` for every session to upload.

    Uses the same schemes and uniqueness rules as the desktop application's bulk mode
    (``desktop_client.labels``): automatic subjects once per patient name, ``SUBJECT_MOD_n``
    sessions unique among the project's archive, prearchive and this run.
    """
    tracer = _variables(args.var).get("tracer", "")
    if args.labels:
        table = [LabelRow.from_session(s, tracer=tracer) for s in sessions]
        try:
            imported = import_csv(Path(args.labels), table)
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read {args.labels}: {exc}") from None
        if imported.errors:
            raise UserError(f"{args.labels}: " + " ".join(imported.errors[:5]))
        rows = {r.study_uid: r for r in imported.rows}
        chosen = [(s, rows[s.study_instance_uid].subject, rows[s.study_instance_uid].session,
                   rows[s.study_instance_uid].tracer)
                  for s in sessions if s.study_instance_uid not in imported.unchecked]
        if not chosen:
            raise UserError(f"no study in {args.labels} matches the scanned sessions")
        return chosen
    if args.session and len(sessions) > 1:
        raise UserError(f"--session names one session, but the paths hold {len(sessions)}; use "
                        "--session-scheme or --labels")
    uids = [s.study_instance_uid for s in sessions]
    if args.subject:
        subjects = dict.fromkeys(uids, _label(args.subject, "subject label"))
    else:
        subjects = assign_subject_labels(sessions, SubjectScheme.parse(args.subject_scheme or "auto"))
    if args.session:
        labels = dict.fromkeys(uids, _label(args.session, "session label"))
    else:
        labels = assign_session_labels(sessions, SessionScheme.parse(args.session_scheme or "auto"),
                                       subjects, LabelPool(existing_sessions),
                                       tracers=dict.fromkeys(uids, tracer) if tracer else None)
    out = []
    for session in sessions:
        uid = session.study_instance_uid
        if not subjects[uid] or not labels[uid]:
            raise UserError(f"study {session.study_description or uid} has no value for the chosen "
                            "labeling scheme; give --subject/--session or a --labels CSV")
        out.append((session, subjects[uid], labels[uid], tracer))
    return out


# ---- building the transfers ----------------------------------------------------------------------


def _variables(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--var expects NAME=VALUE, got {pair!r}")
        out[name.strip()] = value
    return out


def _rectangles(args: argparse.Namespace, sessions: list[Session]) -> dict[str, list[PixelEdit]]:
    """Rectangles per series from ``--template`` (matched per scan) and ``--rect``."""
    per_series: dict[str, list[PixelEdit]] = {}
    scans = {uid: scan for s in sessions for uid, scan in s.scans.items()}
    if args.template:
        from desktop_client.templates import TemplateError, TemplateStore

        store = TemplateStore()
        for name in args.template:
            try:
                template = store.get_by_name(name)
            except TemplateError as exc:
                raise UserError(str(exc)) from None
            for uid, scan in scans.items():
                if template.matches(scan):
                    per_series.setdefault(uid, []).extend(PixelEdit(r) for r in template.rectangles)
    for item in args.rect:
        uid, sep, rect_text = item.rpartition(":")
        if not sep or not uid:
            raise UserError(f"--rect expects SERIES_UID:l,t,r,b, got {item!r}")
        if uid not in scans:
            raise UserError(f"--rect names series {uid}, which is not in the scanned paths")
        try:
            per_series.setdefault(uid, []).append(PixelEdit(Rect.parse(rect_text)))
        except ValueError as exc:
            raise UserError(str(exc)) from None
    return per_series


def _scripts(args: argparse.Namespace, dest: Any) -> list[Any] | None:
    from desktop_client.dicomedit import ScriptSyntaxError, compile_script
    from desktop_client.transfer import DestinationKind, ScriptSource

    if dest.kind is DestinationKind.XNAT:
        if args.script:
            raise UserError("an XNAT server applies its own site and project scripts; --script is "
                            "only for the other destinations")
        return None
    sources = []
    for path in args.script:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read script {path}: {exc}") from None
        try:
            compile_script(text)
        except ScriptSyntaxError as exc:
            raise UserError(f"script {path} has an error at {exc}") from None
        sources.append(ScriptSource(Path(path).name, text))
    return sources


def _lookup_table(args: argparse.Namespace) -> Any:
    from desktop_client.transfer.spec import LookupTable

    if not args.lookup_table:
        return None
    try:
        return LookupTable.read(args.lookup_table)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _password(dest: Any, interactive: bool) -> str | None:
    from desktop_client.transfer import default_credentials

    if not dest.username:
        return None
    password = default_credentials(dest)
    if password is None and interactive:
        password = getpass.getpass(f"Password for {dest.username} at {dest.display}: ")
    if password is None:
        raise UserError(f"no password for {dest.username}: store it in the keyring (the desktop "
                        "app's 'remember'), set XNAT_PASSWORD, or run in a terminal to be asked")
    return password


def _existing_session_labels(dest: Any, project: str, password: str | None) -> set[str]:
    from desktop_client.transfer import DestinationKind

    if dest.kind is not DestinationKind.XNAT:
        return set()
    from desktop_client.xnat import XnatClient, XnatError

    try:
        with XnatClient(dest.url, dest.username, password or "", verify=dest.verify_tls,
                        allow_insecure=not dest.verify_tls) as client:
            client.project(project)
            return set(client.session_labels(project))
    except XnatError as exc:
        raise UserError(str(exc.user_message if hasattr(exc, "user_message") else exc)) from None


def run_upload(args: argparse.Namespace) -> int:
    from desktop_client.transfer import DestinationKind, DestinationSpec

    try:
        dest = DestinationSpec.parse(args.to, username=args.user, calling_aet=args.calling_aet,
                                     verify_tls=not args.insecure)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if dest.kind is DestinationKind.XNAT and not args.user:
        raise UserError("an XNAT upload needs --user")
    if dest.kind is DestinationKind.XNAT and not args.project:
        raise UserError("an XNAT upload needs --project")
    for p in args.paths:
        if not os.path.exists(p):
            raise UserError(f"{p} does not exist")
    interactive = sys.stdin.isatty() and sys.stderr.isatty()
    project = args.project or ("LOCAL" if dest.kind is DestinationKind.LOCAL else "")
    password = None if args.dry_run else _password(dest, interactive)
    # Only the specs outlive this call: the scan result (about 0.7 KB per file) is freed before
    # the transfers run, and the queue then reads a session's files one unit at a time.
    specs, skipped = _build_specs(args, dest, project, password)
    if args.dry_run:
        plan = [_plan(spec) for spec in specs]
        if args.json:
            print_json({"dry_run": True, "destination": dest.display, "sessions": plan,
                        "skipped_files": len(skipped), "skipped": skipped_json(skipped)})
        else:
            _print_plan(dest.display, plan, skipped)
        return 0
    return _run(specs, password, args.workers, args.json, skipped=skipped)


def _build_specs(args: argparse.Namespace, dest: Any, project: str,
                 password: str | None) -> tuple[list[Any], list[Any]]:
    """Scan the paths and turn every session into a validated spec; (specs, skipped files)."""
    from desktop_client.scanning import scan_paths
    from desktop_client.transfer import DestinationKind, ScanChoice, TransferSpec
    from desktop_client.transfer.spec import MERGE

    result = scan_paths(args.paths)
    if not result.sessions:
        raise UserError("no DICOM sessions found in the given paths")
    scripts = _scripts(args, dest)
    lookup_table = _lookup_table(args)
    rects = _rectangles(args, result.sessions)
    excluded = set(args.exclude)
    known = {uid for s in result.sessions for uid in s.scans}
    unknown = excluded - known
    if unknown:
        raise UserError(f"--exclude names series not in the scanned paths: {', '.join(sorted(unknown))}")
    existing = set() if args.dry_run else _existing_session_labels(dest, project, password)
    labelled = assign_labels(result.sessions, args, existing)
    clashes = sorted({label for _, _, label, _ in labelled} & existing)
    if clashes and not args.merge:
        raise UserError(f"session {', '.join(clashes)} already exists in project {project}; "
                        "choose another label, or give --merge to add these scans to it")
    variables = _variables(args.var)
    specs = []
    for session, subject, label, tracer in labelled:
        choices = {}
        for uid in session.scans:
            if uid in excluded:
                choices[uid] = ScanChoice(uid, excluded=True, exclude_reason="excluded on the command line")
            elif uid in rects:
                choices[uid] = ScanChoice(uid, tuple(rects[uid]))
        needs_labels = dest.kind in (DestinationKind.XNAT, DestinationKind.LOCAL) or bool(project)
        spec = TransferSpec(
            session=session, destination=dest, project=project,
            subject=subject if needs_labels else "", session_label=label if needs_labels else "",
            variables={**variables, **({"tracer": tracer} if tracer else {})}, choices=choices,
            scripts=scripts, user=args.user or getpass.getuser(),
            max_chunk_files=max(1, args.chunk_files), receipt_dir=args.receipt_dir,
            lookup_table=lookup_table, overwrite=MERGE if args.merge else None)
        try:
            spec.validate()
        except ValueError as exc:
            raise UserError(str(exc)) from None
        specs.append(spec)
    return specs, list(result.skipped)


def _plan(spec: Any) -> dict[str, Any]:
    from desktop_client.transfer.engine import scan_ids

    ids = scan_ids(spec)
    return {
        "project": spec.project, "subject": spec.subject, "session": spec.session_label,
        "study_date": spec.session.study_date, "modalities": spec.session.modalities,
        "scans": [{
            "series_instance_uid": scan.series_instance_uid, "scan_id": ids[scan.series_instance_uid],
            "description": scan.series_description, "files": scan.files, "bytes": scan.bytes,
            "excluded": spec.choice(scan.series_instance_uid).excluded,
            "rectangles": [str(e.rect) for e in spec.choice(scan.series_instance_uid).rectangles],
        } for scan in spec.session.sorted_scans()],
        "scripts": "server (site + project)" if spec.scripts is None else [s.name for s in spec.scripts],
        "lookup_table": None if spec.lookup_table is None else {
            "name": spec.lookup_table.name, "entries": spec.lookup_table.entries,
            "sha256": spec.lookup_table.sha256},
        "merge": spec.overwrite is not None,
    }


def _print_plan(dest: str, plan: list[dict[str, Any]], skipped: list[Any]) -> None:
    print(f"Dry run: nothing is sent. Destination: {dest}")
    for p in plan:
        print(f"\n{p['project'] or '-'} / {p['subject'] or '-'} / {p['session'] or '-'}  "
              f"({', '.join(p['modalities'])}, {p['study_date'] or 'no date'})")
        scripts = p["scripts"] if isinstance(p["scripts"], str) else (", ".join(p["scripts"]) or "none")
        print(f"  scripts: {scripts}")
        if p["lookup_table"]:
            print(f"  lookup table: {p['lookup_table']['name']} ({p['lookup_table']['entries']} entries)")
        if p["merge"]:
            print("  an existing session with this label gets these scans added (--merge)")
        for s in p["scans"]:
            mark = "EXCLUDED" if s["excluded"] else (f"redact {'; '.join(s['rectangles'])}"
                                                     if s["rectangles"] else "")
            print(f"  scan {s['scan_id']:>6}  {s['files']:>5} files  {human_bytes(s['bytes']):>9}  "
                  f"{s['description'][:40]:<40} {mark}")
    if skipped:
        print()
        print_skipped(skipped)


# ---- running with progress -----------------------------------------------------------------------


class _Progress:
    """A one-line bar on a terminal, JSON lines otherwise (throttled)."""

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.lock = threading.Lock()
        self.latest: dict[str, Any] = {}
        self.last = float("-inf")

    def __call__(self, event: Any) -> None:
        with self.lock:
            if event.kind == "progress":
                self.latest[event.transfer_id] = event
            now = time.monotonic()
            if event.kind == "state":
                self._show(event)
            elif event.kind == "progress" and now - self.last >= (0.2 if self.tty else 1.0):
                self.last = now
                self._show(event)

    def _show(self, event: Any) -> None:
        events = list(self.latest.values())
        files = sum(e.files_done for e in events)
        files_total = sum(e.files_total for e in events)
        done = sum(e.bytes_done for e in events)
        total = sum(e.bytes_total for e in events) or 1
        rate = sum(e.rate for e in events)
        eta = (total - done) / rate if rate > 0 else None
        if self.tty:
            width = 28
            filled = int(width * done / total)
            eta_text = f"{int(eta) // 60}:{int(eta) % 60:02d}" if eta is not None else "--:--"
            line = (f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * done / total:5.1f}%  "
                    f"{files}/{files_total} files  {human_bytes(done)}/{human_bytes(total)}  "
                    f"{human_bytes(rate)}/s  ETA {eta_text} ")
            sys.stderr.write(line)
            sys.stderr.flush()
        else:
            record = {"event": event.kind, "transfer": event.transfer_id, "state": event.state.value,
                      "files_done": files, "files_total": files_total, "bytes_done": done,
                      "bytes_total": total, "rate": round(rate, 1),
                      "eta_seconds": None if eta is None else round(eta, 1)}
            if event.message and event.kind == "state":
                record["message"] = event.message
            sys.stdout.write(json.dumps(record) + "\n")
            sys.stdout.flush()

    def finish(self) -> None:
        if self.tty:
            sys.stderr.write("\n")


def _open_queue(workers: int | None, password: str | None) -> Any:
    from desktop_client.transfer import TransferQueue, default_credentials

    def credentials(dest: Any) -> str | None:
        return password if password is not None else default_credentials(dest)

    return TransferQueue(workers=workers, credentials=credentials)


def _run(specs: list[Any], password: str | None, workers: int | None, as_json: bool,
         ids: list[str] | None = None, queue: Any = None, skipped: list[Any] | None = None) -> int:
    from desktop_client.transfer import QueueBusy, State

    queue = queue or _open_queue(workers, password)
    tty = sys.stderr.isatty()
    progress = _Progress(tty)
    try:
        ids = list(ids or []) + [queue.submit(spec) for spec in specs]
        specs.clear()  # the queue holds them now; each still references its whole session
        queue.subscribe(progress)
        try:
            queue.start(only=ids)
        except QueueBusy as exc:
            raise UserError(f"{exc}; the transfers were queued and will run there") from None
        try:
            states = {i: queue.wait(i) for i in ids}
        except KeyboardInterrupt:
            for i in ids:
                queue.pause(i)
            for i in ids:
                queue.wait(i, timeout=30)
            progress.finish()
            print(f"xnat-upload: paused; resume with: xnat-upload transfers resume {ids[0][:8]}",
                  file=sys.stderr)
            return 130
        progress.finish()
        results = [_result(queue, i) for i in ids]
    finally:
        queue.close()
    skipped = skipped or []
    if as_json or not tty:
        if tty:
            print_json({"transfers": results, "skipped": skipped_json(skipped)})
        else:
            sys.stdout.write(json.dumps({"event": "result", "transfers": results,
                                         "skipped": skipped_json(skipped)}) + "\n")
    else:
        for r in results:
            _print_result(r)
        print_skipped(skipped)
    if not all(s is State.DONE for s in states.values()):
        return EXIT_SOME_FAILED
    if any((r.get("verification") or {}).get("state") == "not-verifiable" for r in results):
        return EXIT_NOT_VERIFIABLE  # stored, but the node would not confirm it
    return 0


def _result(queue: Any, transfer_id: str) -> dict[str, Any]:
    status = queue.status(transfer_id)
    receipts = queue.receipt_paths(transfer_id)
    return {
        "id": transfer_id, "state": status.state.value, "error": status.error,
        "destination": status.destination, "project": status.project, "subject": status.subject,
        "session": status.session_label, "files_sent": sum(s.files_sent for s in status.scans),
        "files_total": status.files_total, "link": status.link, "session_uri": status.session_uri,
        "verification": status.verification,
        "scans": [{"scan_id": s.scan_id, "description": s.description,
                   "state": s.state.value if s.state else "excluded", "files": s.files,
                   "files_sent": s.files_sent, "error": s.error} for s in status.scans],
        "receipt_json": str(receipts[0]) if receipts else None,
        "receipt_pdf": str(receipts[1]) if receipts and receipts[1] else None,
    }


def _print_result(r: dict[str, Any]) -> None:
    label = "/".join(x for x in (r["project"], r["subject"], r["session"]) if x) or r["destination"]
    print(f"{r['id'][:8]}  {r['state'].upper():<9} {label}: {r['files_sent']}/{r['files_total']} files")
    if r["error"]:
        print(f"          reason: {r['error']}")
    if r["verification"]:
        v = r["verification"]
        verdict = "NOT VERIFIABLE" if v.get("state") == "not-verifiable" else ("yes" if v["ok"] else "NO")
        print(f"          verified: {verdict} ({v['method']}): {v['details']}")
    if r["link"]:
        print(f"          {r['link']}")
    if r["receipt_pdf"]:
        print(f"          receipt: {r['receipt_pdf']}")


# ---- transfers -----------------------------------------------------------------------------------


def run_transfers(args: argparse.Namespace) -> int:
    from desktop_client.transfer import State, TransferQueue

    queue = TransferQueue()
    try:
        if args.action == "list":
            rows = queue.list()
            if args.json:
                print_json([_brief(s) for s in rows])
            elif not rows:
                print("No transfers.")
            else:
                for s in rows:
                    b = _brief(s)
                    print(f"{s.id[:8]}  {s.state.value:<9} {b['files_done']:>5}/{b['files_total']:<5} "
                          f"{b['label']:<40} {s.destination}" + (f"  ({s.error[:60]})" if s.error else ""))
            return 0
        if args.action == "clean":
            return _clean(queue, args)
        if not args.id:
            raise UserError(f"'transfers {args.action}' needs a transfer id (see 'transfers list')")
        try:
            transfer_id = queue.store.find(args.id)
        except KeyError:
            raise UserError(f"no single transfer matches {args.id!r} (see 'transfers list')") from None
        if args.action == "show":
            result = _result(queue, transfer_id)
            result["log"] = [{"time": e.ts, "level": e.level, "event": e.event, "message": e.message}
                             for e in queue.log(transfer_id)[-50:]]
            if args.json:
                print_json(result)
            else:
                _print_result(result)
                for s in result["scans"]:
                    print(f"    scan {s['scan_id']:>6} {s['state']:<9} {s['files_sent']}/{s['files']} "
                          f"{s['description'][:40]}" + (f"  {s['error']}" if s["error"] else ""))
                for e in result["log"][-15:]:
                    when = time.strftime("%H:%M:%S", time.localtime(e["time"]))
                    print(f"    {when} {e['level']:<7} {e['message']}")
            return 0
        if args.action == "receipt":
            paths = queue.receipt_paths(transfer_id) or queue.write_receipts(transfer_id)
            if args.json:
                print_json({"json": str(paths[0]), "pdf": str(paths[1]) if paths[1] else None})
            else:
                print(paths[0])
                if paths[1]:
                    print(paths[1])
            return 0
        if queue.is_busy_elsewhere():
            raise UserError("another instance of the uploader is running these transfers; use it")
        state = queue.status(transfer_id).state
        if args.action == "cancel":
            if state.finished and state is not State.FAILED:
                raise UserError(f"transfer {transfer_id[:8]} is already {state.value}")
            if state is State.RUNNING:  # left running by a crash: nobody holds the queue
                queue.store.recover()
            queue.cancel(transfer_id)
            print(f"{transfer_id[:8]} cancelled")
            return 0
        # resume
        if state is State.DONE:
            raise UserError(f"transfer {transfer_id[:8]} is already done")
        if state is State.PAUSED:
            queue.resume(transfer_id)
        elif state in (State.FAILED, State.CANCELLED):
            queue.restart(transfer_id)
        spec = queue.store.get(transfer_id).spec
        interactive = sys.stdin.isatty() and sys.stderr.isatty()
        password = _password(spec.destination, interactive)
        queue.close()
        return _run([], password, None, args.json, ids=[transfer_id])
    finally:
        queue.close()


def _clean(queue: Any, args: argparse.Namespace) -> int:
    """``transfers clean [ID]``: delete staging folders of cancelled and failed transfers."""
    transfer_id = None
    if args.id:
        try:
            transfer_id = queue.store.find(args.id)
        except KeyError:
            raise UserError(f"no single transfer matches {args.id!r} (see 'transfers list')") from None
    if queue.is_busy_elsewhere():
        raise UserError("another instance of the uploader is running these transfers; use it")
    cleaned = queue.clean(transfer_id)
    if args.json:
        print_json({"cleaned": cleaned})
    else:
        for tid in cleaned:
            print(f"{tid[:8]} staging folder deleted (a restart sends every scan again)")
        print(f"{len(cleaned)} staging folder(s) deleted")
    return 0


def _brief(s: Any) -> dict[str, Any]:
    return {"id": s.id, "state": s.state.value, "destination": s.destination,
            "label": "/".join(x for x in (s.project, s.subject, s.session_label) if x) or "-",
            "files_done": s.files_done, "files_total": s.files_total, "error": s.error}

