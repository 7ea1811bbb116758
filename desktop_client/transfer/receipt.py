"""Receipts: what was sent, where, by whom, with which scripts — as JSON and as a PDF.

The JSON receipt is the record a program can check (it has every sent object's MD5 and the
server-side verification); the PDF says the same for a person. Both are written at the end of
every transfer, successful or not, under ``<data dir>/receipts`` unless the transfer names a
folder. No patient name or ID appears in them: only labels, UIDs of the anonymized objects,
keyed source references and checksums (a lookup table is recorded by name, checksum and size,
never its entries). Source files are named by their keyed reference (``core.privacy``), never by
path: folder names under a selection usually carry patient IDs and accession numbers.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import itertools
import json
import os
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

from desktop_client import APP_NAME, __version__
from desktop_client.core.paths import data_dir
from desktop_client.transfer.pipeline import pixel_script
from desktop_client.transfer.spec import RecordStatus, State, TransferSpec, scan_ids
from desktop_client.transfer.store import ObjectRow, QueueStore


#: How the PDF names a verification state (the JSON receipt keeps the state itself).
_VERDICT = {"verified": "OK", "failed": "FAILED", "not-verifiable": "STORED, NOT VERIFIABLE"}


def _verdict(verification: dict[str, Any]) -> str:
    return _VERDICT.get(str(verification.get("state")), "OK" if verification.get("ok") else "FAILED")


def _iso(ts: float | None) -> str | None:
    return None if ts is None else _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).isoformat()


class _Rows:
    """A per-file list of a receipt, read from the queue database each time it is iterated.

    Receipts list every file; holding them as Python lists made the memory of writing a receipt
    grow with the session, so the JSON is written and the PDF drawn while these are iterated.
    """

    def __init__(self, read: Callable[[], Iterator[Any]]) -> None:
        self._read = read

    def __iter__(self) -> Iterator[Any]:
        return self._read()


#: The log event that records one object's output re-check (see ``burned_in_text``).
RECHECK_EVENT = "recheck"
#: Log event naming the boxes the pixel engine really painted when they differ from those asked for
#: (native YBR 4:2:2 widened to whole chroma pairs); details: series uid and the painted boxes.
PAINTED_EVENT = "painted"


def burned_in_text(rechecks: list[dict[str, Any]], choice: Any) -> dict[str, Any]:
    """Per scan: the decision on burned-in text, where each box came from, the re-check results.

    ``rechecks`` are the transfer's ``RECHECK_EVENT`` log details (boxes and status only, never
    the text read).
    """
    rects = [str(e.rect) for e in choice.rectangles]
    sources = list(choice.box_sources) if len(choice.box_sources) == len(rects) else ["drawn"] * len(rects)
    checks = [c for c in rechecks if c.get("series_uid") == choice.series_instance_uid]
    statuses = collections.Counter(str(c.get("status")) for c in checks)
    return {
        "decision": choice.text_decision or ("excluded" if choice.excluded else "no decision needed"),
        "accept_reason": choice.accept_reason,
        "boxes": [{"rect": r, "source": src} for r, src in zip(rects, sources)],
        "recheck": {
            "objects": len(checks), **{k: statuses[k] for k in sorted(statuses)},
            "visible": sorted({v for c in checks for v in c.get("visible", [])}),
            "warnings": sorted({w for c in checks for w in c.get("warnings", [])}),
            "note": "the re-check searches the output for text the OCR can read; it cannot certify an "
                    "image clean",
        },
    }


def private_text(choice: Any, applied: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """Per scan: the private text and overlays it carried and what became of them (issue 14 §2),
    and whether the scripts the check ran are those the transfer applied (an XNAT server's are
    fetched again when the transfer runs; every object was checked again after them anyway when
    ``verified_per_object``)."""
    record = choice.private_text
    if record is None:
        return None
    ran = [s["sha256"] for s in (applied or []) if not str(s["name"]).startswith("built-in")]
    return {
        "carried": list(record.carried),
        "identifying": list(record.identifying),
        "outcome": record.outcome,
        "checked_with_scripts": list(record.checked_scripts),
        "same_scripts_applied": None if applied is None else list(record.checked_scripts) == ran,
        "verified_per_object": record.verify,
    }


def build_receipt(store: QueueStore, transfer_id: str, state: State | None = None) -> dict[str, Any]:
    """The receipt as a JSON-ready dict (from the queue database alone) whose per-file lists are
    :class:`_Rows` (write it with :func:`write_json`).

    ``state`` is the outcome being recorded when the receipt is written just before the
    transfer's state changes (so nobody sees a finished transfer without its receipt).
    """
    row = store.get(transfer_id)
    spec: TransferSpec = row.spec
    units = store.units(transfer_id, with_files=False)
    counts = store.object_counts(transfer_id)
    by_status: dict[str, tuple[int, int]] = collections.defaultdict(lambda: (0, 0))  # (files, bytes)
    for (_, status), (n, size) in counts.items():
        by_status[status] = (by_status[status][0] + n, by_status[status][1] + size)
    files = store.scan_files(transfer_id)
    ids = scan_ids(spec)
    logs = store.logs(transfer_id)
    rechecks = [e.details for e in logs if e.event == RECHECK_EVENT]
    painted: dict[str, list[str]] = {}
    for e in logs:
        if e.event == PAINTED_EVENT:
            painted.setdefault(e.details["series_uid"], e.details["painted"])

    def rows(uid: str, status: str, shape: Callable[[ObjectRow], Any]) -> _Rows:
        return _Rows(lambda: (shape(o) for o in store.objects(transfer_id, uid, RecordStatus(status))))

    scans = []
    for scan in spec.session.sorted_scans():
        uid = scan.series_instance_uid
        choice = spec.choice(uid)
        unit_states = {u.state.value for u in units if u.series_uid == uid}
        errors = [u.error for u in units if u.series_uid == uid and u.error]
        if choice.excluded:
            status = "excluded"
        elif unit_states == {"done"}:
            status = "sent"
        elif "failed" in unit_states:
            status = "failed"
        else:
            status = "not sent"
        scans.append({
            "series_instance_uid": uid,
            "scan_id": ids[uid],
            "series_number": scan.series_number,
            "description": scan.series_description,
            "modality": scan.modality,
            "status": status,
            "exclude_reason": choice.exclude_reason if choice.excluded else "",
            "errors": errors,
            "files_total": files.get(uid, 0),
            "rectangles": [str(e.rect) for e in choice.rectangles],
            "painted_rectangles": painted.get(uid, []),
            "pixel_script": pixel_script(choice.rectangles) if not choice.excluded else "",
            "decision": choice.decision,
            "burned_in_text": burned_in_text(rechecks, choice),
            "private_text": private_text(choice, row.scripts),
            "sent": rows(uid, "sent", lambda o: {"sop_instance_uid": o.sop_instance_uid,
                                                 "source": o.source, "md5": o.md5, "size": o.size}),
            "rejected": rows(uid, "rejected", lambda o: {"source": o.source, "reason": o.reason}),
            "failed": rows(uid, "failed", lambda o: {"source": o.source, "reason": o.reason}),
            "held_back": rows(uid, "held back", lambda o: o.source),
            "excluded_files": files.get(uid, 0) if choice.excluded else 0,
        })
    return {
        "application": f"{APP_NAME} {__version__}",
        "transfer_id": transfer_id,
        "state": (state or row.state).value,
        "error": row.error,
        "destination": {"kind": spec.destination.kind.value, "address": spec.destination.display},
        "link": row.link,
        "session_uri": row.session_uri,
        "user": spec.user or spec.destination.username,
        "project": spec.project,
        "subject": spec.subject,
        "session_label": spec.session_label,
        # Set by the destination when these scans were added to a session that already existed.
        "merged_into_existing_session": bool(row.dest_state.get("merged_into")),
        "started": _iso(row.started),
        "finished": _iso(row.finished),
        "scripts": [{"name": s["name"], "sha256": s["sha256"], "text": s["text"]}
                    for s in (row.scripts or [])],
        "lookup_table": None if spec.lookup_table is None else {
            "name": spec.lookup_table.name, "sha256": spec.lookup_table.sha256,
            "entries": spec.lookup_table.entries},
        "variables": dict(spec.variables),
        "scans": scans,
        "totals": {
            "scans": len(scans),
            "files_sent": by_status["sent"][0],
            "files_rejected": by_status["rejected"][0],
            "files_failed": by_status["failed"][0],
            "files_excluded": sum(s["excluded_files"] for s in scans),
            "bytes_sent": by_status["sent"][1],
        },
        "verification": row.verification,
        "sources": "keyed references (HMAC-SHA256 of path, size and modification time under this "
                   "installation's secret); no source path is recorded",
    }


def write_json(fh: IO[str], value: Any, indent: str = "") -> None:
    """``json.dump(value, fh, indent=2)`` that also streams :class:`_Rows` (one row at a time)."""
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            fh.write("{}")
            return
        fh.write("{")
        for n, (key, item) in enumerate(value.items()):
            fh.write(("," if n else "") + "\n" + inner + json.dumps(str(key)) + ": ")
            write_json(fh, item, inner)
        fh.write("\n" + indent + "}")
    elif isinstance(value, (list, tuple, _Rows)):
        fh.write("[")
        empty = True
        for item in value:
            fh.write(("\n" if empty else ",\n") + inner)
            write_json(fh, item, inner)
            empty = False
        fh.write("]" if empty else "\n" + indent + "]")
    else:
        fh.write(json.dumps(value))


def build_manifest(store: QueueStore, transfer_id: str) -> dict[str, Any]:
    """The local archive's ``manifest.json``: the session's files with their MD5s and the scripts."""
    receipt = build_receipt(store, transfer_id)
    scans: dict[str, Any] = {}
    for s in receipt["scans"]:
        files = [{"name": f"SCANS/{s['scan_id']}/DICOM/{o['sop_instance_uid']}.dcm",
                  "sop_instance_uid": o["sop_instance_uid"], "md5": o["md5"], "size": o["size"]}
                 for o in s["sent"]]
        if files:
            scans[s["scan_id"]] = {"series_description": s["description"],
                                   "modality": s["modality"], "files": files}
    return {
        "transfer_id": transfer_id,
        "project": receipt["project"],
        "subject": receipt["subject"],
        "session": receipt["session_label"],
        "written": _iso(_dt.datetime.now(_dt.timezone.utc).timestamp()),
        "scripts": [{"name": s["name"], "sha256": s["sha256"]} for s in receipt["scripts"]],
        "lookup_table": receipt["lookup_table"],
        "scans": scans,
    }


def receipt_folder(store: QueueStore, transfer_id: str) -> Path:
    spec = store.get(transfer_id).spec
    folder = Path(spec.receipt_dir) if spec.receipt_dir else data_dir() / "receipts"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def write_receipts(store: QueueStore, transfer_id: str, state: State | None = None
                   ) -> tuple[Path, Path | None]:
    """Write ``<id>.json`` (always) and ``<id>.pdf`` (when the spec asks for it); record the paths."""
    receipt = build_receipt(store, transfer_id, state)
    folder = receipt_folder(store, transfer_id)
    json_path = folder / f"transfer-{transfer_id}.json"
    with _atomic_file(json_path) as fh:
        write_json(fh, receipt)
    pdf_path: Path | None = None
    if store.get(transfer_id).spec.receipt_pdf:
        pdf_path = folder / f"transfer-{transfer_id}.pdf"
        with _atomic_file(pdf_path, binary=True) as fh:
            fh.write(render_pdf(receipt))
    store.update(transfer_id, receipt_json=str(json_path), receipt_pdf=str(pdf_path or ""))
    return json_path, pdf_path


@contextlib.contextmanager
def _atomic_file(path: Path, binary: bool = False) -> Iterator[IO[Any]]:
    """A private file written beside ``path`` and moved over it only once complete."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8")) as fh:
        yield fh
    os.replace(tmp, path)


def _latin(text: object) -> str:
    """fpdf2's core fonts are Latin-1: replace what they cannot draw instead of failing."""
    return str(text).encode("latin-1", "replace").decode("latin-1")


def render_pdf(receipt: dict[str, Any]) -> bytes:
    """A printable receipt (A4) with the same content as the JSON one."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title(f"Upload receipt {receipt['transfer_id']}")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: str, size: int = 9, style: str = "", font: str = "Helvetica") -> None:
        pdf.set_font(font, style, size)
        pdf.multi_cell(width, size * 0.5, _latin(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def file_lines(rows: Iterable[str]) -> None:
        """Plain text lines with manual page breaks: cells are too slow for thousands of files."""
        pdf.set_font("Courier", "", 7)
        height = 3.2
        for row in rows:
            if pdf.get_y() + height > pdf.h - pdf.b_margin:
                pdf.add_page()
            pdf.text(pdf.l_margin, pdf.get_y() + height * 0.75, _latin(row)[:120])
            pdf.set_y(pdf.get_y() + height)

    line("Upload receipt", 16, "B")
    line(receipt["application"], 8)
    pdf.ln(2)
    verification = receipt.get("verification") or {}
    rows = [
        ("Transfer", receipt["transfer_id"]),
        ("Result", receipt["state"] + (f" - {receipt['error']}" if receipt["error"] else "")),
        ("Destination", f"{receipt['destination']['kind']}: {receipt['destination']['address']}"),
        ("Link", receipt["link"] or "-"),
        ("User", receipt["user"] or "-"),
        ("Project / subject / session",
         f"{receipt['project'] or '-'} / {receipt['subject'] or '-'} / {receipt['session_label'] or '-'}"
         + (" (scans added to the existing session)" if receipt.get("merged_into_existing_session")
            else "")),
        ("Started", receipt["started"] or "-"),
        ("Finished", receipt["finished"] or "-"),
        ("Server verification", (f"{_verdict(verification)} "
                                 f"({verification.get('method', '')}): {verification.get('details', '')}")
         if verification else "not performed"),
    ]
    totals = receipt["totals"]
    rows.append(("Files", f"{totals['files_sent']} sent, {totals['files_rejected']} rejected, "
                          f"{totals['files_failed']} failed, {totals['files_excluded']} excluded"))
    for key, value in rows:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(48, 5, _latin(key))
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(width - 48, 5, _latin(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    line("Anonymization scripts", 11, "B")
    if not receipt["scripts"]:
        line("none")
    for s in receipt["scripts"]:
        line(f"{s['name']}: sha256 {s['sha256']}", 8, font="Courier")
    table = receipt.get("lookup_table")
    if table:
        count = f"{table['entries']} entr{'y' if table['entries'] == 1 else 'ies'}"
        line(f"Lookup table {table['name']} ({count}): sha256 {table['sha256']}", 8, font="Courier")
    line("Variables", 11, "B")
    if not receipt["variables"]:
        line("none")
    for k, v in sorted(receipt["variables"].items()):
        line(f"{k} = {v}", 9)
    for scan in receipt["scans"]:
        pdf.ln(2)
        line(f"Scan {scan['scan_id']} {scan['description']} ({scan['modality']}) - {scan['status']}",
             11, "B")
        text = scan.get("burned_in_text")
        if text:
            line(f"Burned-in text: {text['decision']}"
                 + (f" (reason: {text['accept_reason']})" if text["accept_reason"] else ""), 8)
        if scan["rectangles"]:
            line("Redacted rectangles: " + "; ".join(
                f"{b['rect']} ({b['source']})" for b in text["boxes"]) if text else
                "Redacted rectangles: " + "; ".join(scan["rectangles"]), 8)
        if scan.get("painted_rectangles"):
            line("Painted as (widened to whole chroma pixel pairs): "
                 + "; ".join(scan["painted_rectangles"]), 8)
        if text and text["recheck"]["objects"]:
            check = text["recheck"]
            counts = ", ".join(f"{check[k]} {k}" for k in ("passed", "accepted", "failed", "error") if check.get(k))
            line(f"Output re-check: {check['objects']} object(s) searched again - {counts}"
                 + (f"; text still visible at {'; '.join(check['visible'])}" if check["visible"] else "")
                 + (f"; warnings: {'; '.join(check['warnings'])}" if check["warnings"] else "")
                 + ". The re-check cannot certify an image clean.", 8)
        private = scan.get("private_text")
        if private:
            line(f"Carried {' and '.join(private['carried'])}: {private['outcome']}"
                 + (f" ({'; '.join(private['identifying'])})" if private["identifying"] else "")
                 + ("; every object checked again after the scripts" if private["verified_per_object"] else "")
                 + ("; the scripts applied differ from those checked" if private["same_scripts_applied"] is False
                    else ""), 8)
        if scan["exclude_reason"]:
            line(f"Excluded: {scan['exclude_reason']}", 8)
        if scan["decision"]:
            line(f"Decision: {scan['decision']}", 8)
        for error in scan["errors"]:
            line(f"Error: {error}", 8)
        # One text block per scan: thousands of single-line cells are slow and memory-hungry.
        file_lines(itertools.chain(
            (f"{o['sop_instance_uid']}  MD5 {o['md5']}" for o in scan["sent"]),
            (f"{o['source']}  Rejected: {o['reason']}" for o in scan["rejected"]),
            (f"{o['source']}  FAILED: {o['reason']}" for o in scan["failed"])))
        held_back = sum(1 for _ in scan["held_back"])
        if held_back:
            line(f"{held_back} other file(s) of this scan held back (not sent)", 8)
    return bytes(pdf.output())
