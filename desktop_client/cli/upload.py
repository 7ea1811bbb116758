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
from typing import TYPE_CHECKING, Any

from desktop_client.cli.common import (EXIT_NOT_VERIFIABLE, EXIT_SOME_FAILED, UserError, print_json, print_skipped,
                                       require_regular_file, skipped_json)
from desktop_client.core.formatting import human_bytes
from desktop_client.core.geometry import Rect

if TYPE_CHECKING:
    from desktop_client.scripts import ScriptSource

SUBJECT_SCHEMES = ("auto", "patient-name", "patient-id")
SESSION_SCHEMES = ("auto", "accession", "patient-id")


# ---- registration --------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:
    up = sub.add_parser("upload", help="anonymize, redact and upload sessions (headless)",
                        description="Scan PATHs, then anonymize, redact and send every session found "
                                    "to DEST, verified, with a receipt.")
    up.add_argument("paths", nargs="*", metavar="PATH",
                    help="folder, file, archive or DICOMDIR (with --plan: the plan's, unless given)")
    up.add_argument("--plan", metavar="FILE",
                    help="run a plan saved by the desktop app (Summary: Save plan…) or by "
                         "--save-plan: destination, labels and review decisions come from it")
    up.add_argument("--save-plan", metavar="FILE",
                    help="also save this upload's plan (labels, decisions) for a later --plan run")
    up.add_argument("--to", metavar="DEST",
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
                    help="relabeling CSV, as the desktop app exports it (Study UID, XNAT Subject ID, "
                         "Session Label[, PET Tracer], then a column per script variable); "
                         "sessions missing from it are not uploaded")
    up.add_argument("--template", action="append", default=[], metavar="NAME",
                    help="apply a saved redaction template to every scan it matches")
    up.add_argument("--rect", action="append", default=[], metavar="SERIES_UID:l,t,r,b",
                    help="black out a rectangle in every image of a series")
    up.add_argument("--exclude", action="append", default=[], metavar="SERIES_UID",
                    help="leave a series out")
    up.add_argument("--redact-detected", action="store_true",
                    help="black out the burned-in text the finder reads as likely patient data "
                         "(the output is searched again before it is sent)")
    up.add_argument("--accept-visible-text", action="append", default=[], metavar="SERIES_UID|all",
                    help="send a series whose burned-in text is visible as it is (recorded in the receipt)")
    up.add_argument("--strip-private-text", action="append", default=[], metavar="SERIES_UID|all",
                    help="remove the private elements holding text and the overlays of a series "
                         "whose header text may identify the patient and which the scripts keep "
                         "(a built-in step run before the scripts; recorded in the receipt)")
    up.add_argument("--accept-private-text", action="append", default=[], metavar="SERIES_UID|all",
                    help="send such a series with that header text as it is (recorded in the receipt)")
    up.add_argument("--script", action="append", default=[], metavar="FILE",
                    help="project DicomEdit script, applied after the site script (non-XNAT "
                         "destinations; XNAT uses the server's)")
    up.add_argument("--site-script", default="default", metavar="FILE|default|none",
                    help="site script of a non-XNAT destination: 'default' (the shipped DICOM "
                         "PS3.15 Basic Profile script, the default), a file, or 'none' to send "
                         "headers unchanged")
    up.add_argument("--include-free-text", action="append", default=[],
                    metavar="SERIES_UID[:as-is|:text-removed]",
                    help="send a scan that contains free text (reports, documents, annotations; "
                         "excluded by default): with its text, or with its text content removed; "
                         "recorded in the receipt")
    up.add_argument("--remember-paths", action="store_true",
                    help="keep readable source paths in the transfer queue so 'transfers resume' "
                         "needs no --from (folder names often carry patient IDs)")
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
    up.add_argument("--allow-http", action="store_true",
                    help="allow an unencrypted http:// XNAT address on another machine (your "
                         "password and files then cross the network readable by others)")
    up.add_argument("--receipt-dir", metavar="DIR", help="where to write the receipts")
    up.add_argument("--workers", type=int, default=None,
                    help="processes for anonymization and redaction (default: number of cores)")
    up.add_argument("--chunk-files", type=int, default=1000,
                    help="at most this many files per unit, the resume granularity (and at most "
                         "512 MB); an XNAT upload sends one request per unit")
    up.add_argument("--skip-sent", action="store_true",
                    help="leave out studies the receipts show were already sent to this destination "
                         "(without it they are sent again, with a warning)")
    up.add_argument("--dry-run", action="store_true", help="show the plan; send nothing")
    up.add_argument("--json", action="store_true", help="print the result as one JSON document")
    up.set_defaults(func=run_upload)

    tr = sub.add_parser("transfers", help="list, inspect, resume, cancel or clean queued transfers")
    tr.add_argument("action", nargs="?", default="list",
                    choices=["list", "show", "resume", "cancel", "receipt", "clean"])
    tr.add_argument("id", nargs="?", help="transfer id (or a unique prefix); 'clean' without one cleans all")
    tr.add_argument("--json", action="store_true", help="print JSON")
    tr.add_argument("--from", dest="sources", action="append", default=[], metavar="PATH",
                    help="resume: the folder(s) the transfer's files came from (the queue keeps "
                         "no paths; they are found again by their keyed reference)")
    tr.set_defaults(func=run_transfers)


# ---- building the transfers ----------------------------------------------------------------------


def _variables(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--var expects NAME=VALUE, got {pair!r}")
        out[name.strip()] = value
    return out


def _templates(names: list[str]) -> list[Any]:
    if not names:
        return []
    from desktop_client.templates import TemplateError, TemplateStore

    store = TemplateStore()
    try:
        return [store.get_by_name(name) for name in names]
    except TemplateError as exc:
        raise UserError(str(exc)) from None


def _rect_options(items: list[str]) -> list[tuple[str, Rect]]:
    out = []
    for item in items:
        uid, sep, rect_text = item.rpartition(":")
        if not sep or not uid:
            raise UserError(f"--rect expects SERIES_UID:l,t,r,b, got {item!r}")
        try:
            out.append((uid, Rect.parse(rect_text)))
        except ValueError as exc:
            raise UserError(str(exc)) from None
    return out


def _scripts(args: argparse.Namespace, dest: Any) -> list[ScriptSource] | None:
    """The scripts ``--site-script``/``--script`` name; None for XNAT, whose server applies its
    own (UserError with the reason when a script cannot be used)."""
    from desktop_client.scripts import DEFAULT, FILE, OFF, ScriptChoiceError, ScriptSlots
    from desktop_client.transfer import DestinationKind

    if dest.kind is DestinationKind.XNAT:
        if args.script or args.site_script != DEFAULT:
            raise UserError("an XNAT server applies its own site and project scripts; --script and "
                            "--site-script are only for the other destinations")
        return None
    site = args.site_script
    mode = DEFAULT if site == DEFAULT else OFF if site == "none" else FILE
    slots = ScriptSlots(mode, site if mode == FILE else "", tuple(args.script))
    try:
        chain = slots.chain()
    except ScriptChoiceError as exc:
        raise UserError(str(exc)) from None
    if not slots.anonymizes:
        print("xnat-upload: warning: --site-script none and no --script: headers are sent "
              "unchanged (patient name, ID, birth date, accession number included)", file=sys.stderr)
    return chain


def _free_text_inclusions(items: list[str]) -> list[tuple[str, str]]:
    """``--include-free-text SERIES_UID[:MODE]`` as ``(series, mode)`` (mode as-is by default)."""
    from desktop_client.grouping import INCLUDE_AS_IS

    out = []
    for item in items:
        uid, sep, mode = item.partition(":")
        out.append((uid, mode if sep else INCLUDE_AS_IS))
    return out


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
    """Labels already used in the project (the same catalogue the desktop app asks)."""
    from desktop_client.plan.targets import existing_session_labels, explain_error, target_for

    try:
        target = target_for(dest, password)
        if target is None:
            return set()
        try:
            return existing_session_labels(target, project)
        finally:
            target.close()
    except Exception as exc:  # noqa: BLE001 - any failure of the server or disk is one sentence
        raise UserError(explain_error(exc)) from None


def _xnat_client(dest: Any, password: str | None) -> Any:
    """A client of the destination's server as the upload itself connects (TLS and plain-http
    choices of the destination); the caller closes it (``with``)."""
    from desktop_client.xnat import XnatClient

    return XnatClient(dest.url, dest.username, password or "", verify=dest.verify_tls,
                      allow_insecure=not dest.verify_tls, allow_http=dest.allow_http)


def _server_filter_exclusions(dest: Any, project: str, password: str | None,
                              sessions: list[Any]) -> dict[str, str]:
    """Scans XNAT's series import filter would drop (issue 17 §3): excluded with its reason."""
    from desktop_client.plan.review import series_filter_exclusions
    from desktop_client.transfer import DestinationKind
    from desktop_client.xnat import XnatError
    from desktop_client.xnat.series_filter import SeriesFilterError

    if dest.kind is not DestinationKind.XNAT:
        return {}
    try:
        with _xnat_client(dest, password) as client:
            filters = client.project_settings(project).series_import_filters()
    except XnatError as exc:
        raise UserError(exc.user_message) from None
    except SeriesFilterError as exc:
        raise UserError(f"{exc}; fix it on the server, or nobody can tell which series XNAT "
                        "keeps") from None
    return series_filter_exclusions(sessions, filters)


#: Options a saved plan already decides; giving one with --plan would be ignored, so it is refused.
_PLANNED = {"to": "--to", "user": "--user", "project": "--project", "subject": "--subject",
            "subject_scheme": "--subject-scheme", "session": "--session",
            "session_scheme": "--session-scheme", "var": "--var", "labels": "--labels",
            "template": "--template", "rect": "--rect", "exclude": "--exclude",
            "script": "--script", "lookup_table": "--lookup-table", "merge": "--merge",
            "insecure": "--insecure", "allow_http": "--allow-http",
            "include_free_text": "--include-free-text", "save_plan": "--save-plan"}


def _destination(args: argparse.Namespace) -> tuple[Any, str, Any]:
    """(destination, project, the loaded plan or None) from --plan or from --to and friends."""
    from desktop_client.plan import planfile
    from desktop_client.transfer import DestinationKind, DestinationSpec
    from desktop_client.xnat import XnatInsecureTransportError as XnatInsecure

    if args.plan:
        given = [flag for name, flag in _PLANNED.items() if getattr(args, name, None)]
        if given:
            raise UserError(f"the plan already decides {', '.join(given)}; leave them out, or "
                            "plan again without --plan")
        try:
            loaded = planfile.load(args.plan)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        return loaded.destination, loaded.project, loaded
    if not args.to:
        raise UserError("say where to send: --to DEST (or --plan FILE)")
    try:
        dest = DestinationSpec.parse(args.to, username=args.user, calling_aet=args.calling_aet,
                                     verify_tls=not args.insecure, allow_http=args.allow_http)
        if dest.kind is DestinationKind.XNAT:
            from desktop_client.xnat import parse_address
            from desktop_client.xnat.address import check_transport

            check_transport(parse_address(dest.url), dest.allow_http)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    except XnatInsecure as exc:
        raise UserError(exc.user_message) from None
    if dest.kind is DestinationKind.XNAT and not args.user:
        raise UserError("an XNAT upload needs --user")
    if dest.kind is DestinationKind.XNAT and not args.project:
        raise UserError("an XNAT upload needs --project")
    return dest, args.project or ("LOCAL" if dest.kind is DestinationKind.LOCAL else ""), None


def run_upload(args: argparse.Namespace) -> int:
    for option, value in (("--plan", args.plan), ("--labels", args.labels), ("--lookup-table", args.lookup_table),
                          *(("--script", script) for script in args.script)):
        if value:
            require_regular_file(value, option)  # a FIFO would be read forever
    dest, project, loaded = _destination(args)
    if not args.paths and loaded is None:
        raise UserError("give the folders, files or archives to upload")
    paths = args.paths or loaded.sources
    for p in paths:
        if not os.path.exists(p):
            raise UserError(f"{p} does not exist" + (" (named by the plan)" if not args.paths else ""))
    # The burned-in text search comes after the scan and the plan; its worker starts now and
    # loads its models meanwhile (and the searches start as soon as the scans are known), so
    # little of that second of start-up is left on the path to the first file sent.
    finder = _text_finder(args)
    try:
        return _upload(args, dest, project, loaded, paths, finder)
    finally:
        if finder is not None:
            finder.close()


def _text_finder(args: argparse.Namespace) -> Any:
    """The gate's finder, warming up; None with ``--workers 0`` (everything in this process).

    One worker process: its detector already runs on every core (onnxruntime's threads), and a
    second worker would load the models a second time, on the cores the scan is using.
    """
    from desktop_client.textfind import TextFinder

    if args.workers is not None and args.workers <= 0:
        return None
    finder = TextFinder(1, background=False, cache_first=True)  # the upload waits for it
    finder.warm()
    return finder


def _upload(args: argparse.Namespace, dest: Any, project: str, loaded: Any, paths: list[str],
            finder: Any) -> int:
    interactive = sys.stdin.isatty() and sys.stderr.isatty()
    password = None if args.dry_run else _password(dest, interactive)
    # Only the specs outlive this call: the scan result (about 0.7 KB per file) is freed before
    # the transfers run, and the queue then reads a session's files one unit at a time.
    if args.remember_paths:  # the user's explicit opt-in (folder names often carry patient IDs)
        from desktop_client.core.privacy import set_remember_source_paths

        set_remember_source_paths(True)
    specs, skipped, held = _build_specs(args, paths, dest, project, password, loaded, finder)
    if held:
        from desktop_client.plan.textgate import held_message

        print(held_message(held), file=sys.stderr)
    if args.dry_run:
        plan = [_plan(spec) for spec in specs]
        if args.json:
            print_json({"dry_run": True, "destination": dest.display, "sessions": plan,
                        "skipped_files": len(skipped), "skipped": skipped_json(skipped)})
        else:
            _print_plan(dest.display, plan, skipped)
        return 1 if held else 0
    for spec in specs:  # issue 14 §2: said before anything is sent, not only in a dry run
        for scan in spec.session.sorted_scans():
            line = _carries(spec, scan)
            if line:
                print(f"xnat-upload: scan {scan.series_description or scan.series_number}: {line}",
                      file=sys.stderr)
    code = _run(specs, password, args.workers, args.json, skipped=skipped) if specs else 1
    return max(code, 1) if held else code


def _build_specs(args: argparse.Namespace, paths: list[str], dest: Any, project: str,
                 password: str | None, loaded: Any, finder: Any) -> tuple[list[Any], list[Any], list[Any]]:
    """Scan the paths and plan every session as the GUI would (or as the loaded plan says);
    (validated specs, skipped files with their reasons, scans held back by the burned-in text gate)."""
    from desktop_client.plan import planfile
    from desktop_client.plan.review import ScanReviewChoice
    from desktop_client.plan.specs import SpecOptions, build_specs
    from desktop_client.plan.textgate import prefetch_scans
    from desktop_client.scanning import scan_paths

    result = scan_paths(paths)
    if not result.sessions:
        raise UserError("no DICOM sessions found in the given paths")
    if finder is not None:
        prefetch_scans(finder, result.sessions)
    try:
        existing = set() if args.dry_run else _existing_session_labels(dest, project, password)
        if loaded is not None:
            plans, decisions = planfile.resolve(loaded, result.sessions)
            options = SpecOptions(destination=dest, project=project,
                                  user=loaded.user or getpass.getuser(), scripts=loaded.scripts,
                                  lookup_table=loaded.lookup_table)
        else:
            options = SpecOptions(destination=dest, project=project,
                                  user=args.user or getpass.getuser(),
                                  scripts=_scripts(args, dest), lookup_table=_lookup_table(args))
            plans, decisions = _plan_from_options(args, result.sessions, existing)
            for plan in plans:
                plan.merge = args.merge
        if not args.dry_run:
            for uid, reason in _server_filter_exclusions(dest, project, password,
                                                         result.sessions).items():
                # A person's decision (or --exclude) stands; the filter decides the rest.
                decisions.setdefault(uid, ScanReviewChoice(excluded=True, exclude_reason=reason))
        clashes = sorted({p.label for p in plans if not p.merge} & existing)
        if clashes:
            raise UserError(f"session {', '.join(clashes)} already exists in project {project}; "
                            "choose another label, or give --merge to add these scans to it")
        options.receipt_dir, options.max_chunk_files = args.receipt_dir, args.chunk_files
        plans = _earlier_uploads(plans, dest, project, args.receipt_dir, args.skip_sent)
        private = _private_text_options(args, dest, project, password, plans, options)
        plans, held = _text_gate(args, plans, decisions, private, finder)
        specs = build_specs(plans, decisions, options, private.checks)
        if args.save_plan:
            saved = planfile.save(planfile.plan_file(
                paths, dest, plans, decisions, project=project, user=options.user,
                scripts=options.scripts, lookup_table=options.lookup_table), args.save_plan)
            print(f"Plan saved to {saved} (it names patients' studies: keep it private).",
                  file=sys.stderr)
        return specs, list(result.skipped), held
    except (OSError, ValueError) as exc:
        raise UserError(str(exc)) from None


def _earlier_uploads(plans: list[Any], dest: Any, project: str, receipt_dir: str | None,
                     skip: bool) -> list[Any]:
    """Say which studies the receipts show were already sent here; leave them out with --skip-sent."""
    from desktop_client.core.paths import data_dir
    from desktop_client.plan.history import previous_uploads

    folders = [data_dir() / "receipts", *([Path(receipt_dir)] if receipt_dir else [])]
    earlier = previous_uploads([p.session for p in plans], dest, project, folders)
    kept = []
    for plan in plans:
        before = earlier.get(plan.session.study_instance_uid)
        if before is None:
            kept.append(plan)
            continue
        action = "skipped (--skip-sent)" if skip else "sending it again"
        print(f"xnat-upload: session {plan.label or plan.session.study_instance_uid}: this study was "
              f"sent to {before.destination} on {before.day} (receipt {before.receipt}); {action}",
              file=sys.stderr)
        if not skip:
            kept.append(plan)
    if not kept:
        raise UserError("every study was already sent to this destination (see the receipts); "
                        "nothing to do without them")
    return kept


def _private_text_options(args: argparse.Namespace, dest: Any, project: str, password: str | None,
                          plans: list[Any], options: Any) -> Any:
    """The private text rule's inputs: the scripts the destination will apply (an XNAT server's
    are fetched now, as the upload will fetch them; not in a dry run, which has no password) and
    the command line's decisions."""
    from desktop_client.plan.privatetext import chain_from_sources, session_variables
    from desktop_client.plan.textgate import PrivateTextOptions
    from desktop_client.transfer import DestinationKind

    scripts: Any = options.scripts
    if dest.kind is DestinationKind.XNAT:
        scripts = None if args.dry_run else _xnat_scripts(dest, project, password)
    elif scripts is None:  # a plan that names none: the destination's default slots apply
        from desktop_client.scripts import ScriptSlots

        scripts = ScriptSlots().chain()
    table = options.lookup_table.text if options.lookup_table is not None else ""
    chain = chain_from_sources(scripts, lookup_table=table, variables=session_variables(plans, project))
    return PrivateTextOptions(chain, args.strip_private_text, args.accept_private_text)


def _xnat_scripts(dest: Any, project: str, password: str | None) -> list[Any]:
    """The XNAT site and project anonymization scripts, as the upload applies them."""
    from desktop_client.scripts import server_scripts
    from desktop_client.xnat import XnatError

    try:
        with _xnat_client(dest, password) as client:
            return server_scripts(*client.anonymization_scripts(project))
    except XnatError as exc:
        raise UserError(exc.user_message) from None


def _text_gate(args: argparse.Namespace, plans: list[Any], decisions: dict[str, Any],
               private: Any, finder: Any) -> tuple[list[Any], list[Any]]:
    """Search the scans for burned-in text, check their private text against the scripts, and
    hold back what nobody decided on (plan.textgate); then end the finder's workers, whose
    memory the transfer can use."""
    from desktop_client.plan.textgate import apply_text_gate

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            sys.stderr.write(f"\rSearching for burned-in text: {done}/{total} scans ")
            sys.stderr.flush()

    try:
        left, held = apply_text_gate(plans, decisions, redact_detected=args.redact_detected,
                                     accept=args.accept_visible_text, workers=0 if finder is None else 1,
                                     progress=progress, private=private, finder=finder)
    finally:
        if finder is not None:
            finder.close(wait=False)  # its worker ends by itself; the transfer need not wait
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    return left, held


def _plan_from_options(args: argparse.Namespace, sessions: list[Any],
                       existing: set[str]) -> tuple[list[Any], dict[str, Any]]:
    from desktop_client.plan.headless import (decisions_from_options, plans_from_csv,
                                              plans_from_schemes)

    variables = _variables(args.var)
    tracer = variables.pop("tracer", "")
    decisions = decisions_from_options(sessions, templates=_templates(args.template),
                                       rectangles=_rect_options(args.rect), excluded=args.exclude,
                                       include_free_text=_free_text_inclusions(args.include_free_text))
    if args.labels:
        return plans_from_csv(sessions, args.labels, tracer=tracer, variables=variables), decisions
    return plans_from_schemes(sessions, subject=args.subject,
                              subject_scheme=args.subject_scheme or "auto", session=args.session,
                              session_scheme=args.session_scheme or "auto", tracer=tracer,
                              variables=variables, existing_sessions=existing), decisions


def _carries(spec: Any, scan: Any) -> str:
    """What the scan carries in private elements and overlays and what becomes of it, as the
    private text check found (``plan.privatetext``): checked, never claimed."""
    choice = spec.choice(scan.series_instance_uid)
    entry = choice.private_text
    if choice.excluded or entry is None:
        return ""
    return f"carries {' and '.join(entry.carried)}: {entry.outcome}"


def _plan(spec: Any) -> dict[str, Any]:
    from desktop_client.transfer.spec import scan_ids

    ids = scan_ids(spec)
    return {
        "project": spec.project, "subject": spec.subject, "session": spec.session_label,
        "study_date": spec.session.study_date, "modalities": spec.session.modalities,
        "scans": [{
            "series_instance_uid": scan.series_instance_uid, "scan_id": ids[scan.series_instance_uid],
            "description": scan.series_description, "files": scan.files, "bytes": scan.bytes,
            "excluded": spec.choice(scan.series_instance_uid).excluded,
            "exclude_reason": spec.choice(scan.series_instance_uid).exclude_reason,
            "decision": spec.choice(scan.series_instance_uid).decision,
            "rectangles": [str(e.rect) for e in spec.choice(scan.series_instance_uid).rectangles],
            "carries": _carries(spec, scan) or None,
        } for scan in spec.session.sorted_scans()],
        "scripts": "server (site + project)" if spec.scripts is None else
        [s.name for s in spec.prelude + spec.scripts],
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
            mark = f"EXCLUDED ({s['exclude_reason']})" if s["excluded"] else (f"redact {'; '.join(s['rectangles'])}"
                                                     if s["rectangles"] else "")
            print(f"  scan {s['scan_id']:>6}  {s['files']:>5} files  {human_bytes(s['bytes']):>9}  "
                  f"{s['description'][:40]:<40} {mark}")
            if s["carries"]:
                print(f"{'':>14}{s['carries']}")
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
            print(f"xnat-upload: paused; resume with: xnat-upload transfers resume {ids[0][:8]} "
                  "--from PATH (the folders given here)",
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
        if args.sources:  # the queue keeps no paths: scanning the folders makes them known
            from desktop_client.scanning import scan_paths

            scan_paths(args.sources)
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

