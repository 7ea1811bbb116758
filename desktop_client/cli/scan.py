"""``xnat-upload scan`` and ``xnat-upload groups``: what is in a selection, and how it groups."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from desktop_client.cli.common import print_json, require_inputs, skipped_json
from desktop_client.core.formatting import human_bytes
from desktop_client.grouping import (REASON_TEXT, classify_scan, group_scans, image_text_line,
                                     image_text_notes, inspect_scan)
from desktop_client.scanning.freetext import FREE_TEXT
from desktop_client.scanning import ScanProgress, ScanResult, scan_paths


def register(sub: argparse._SubParsersAction) -> None:
    scan = sub.add_parser("scan", help="find DICOM sessions in folders, files, archives and DICOMDIRs")
    _common(scan)
    scan.set_defaults(func=run_scan)
    groups = sub.add_parser("groups", help="show Valid groups and Unsupported scans for pixel review")
    _common(groups)
    groups.set_defaults(func=run_groups)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="folder, file, .zip/.tar/.tar.gz or DICOMDIR")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--no-cache", action="store_true", help="ignore the scan index cache")


def _scan(args: argparse.Namespace) -> ScanResult:
    require_inputs(args.paths)
    show = sys.stderr.isatty() and not args.json

    def progress(p: ScanProgress) -> None:
        sys.stderr.write(f"\rScanning… {p.files_done}/{p.files_total} files, {p.instances} DICOM objects")
        sys.stderr.flush()

    result = scan_paths(args.paths, progress=progress if show else None, use_cache=not args.no_cache)
    if show:
        sys.stderr.write("\n")
    return result


def scan_json(result: ScanResult) -> dict[str, Any]:
    """The documented ``scan --json`` document."""
    sessions = []
    for session in result.sessions:
        scans = []
        for scan in session.sorted_scans():
            cls = classify_scan(scan)
            rep = scan.representative
            scans.append({
                "series_instance_uid": scan.series_instance_uid,
                "series_number": scan.series_number,
                "series_description": scan.series_description,
                "modality": scan.modality,
                "sop_class_uids": scan.sop_class_uids,
                "rows": rep.rows,
                "columns": rep.columns,
                "files": scan.files,
                "frames": scan.frames,
                "bytes": scan.bytes,
                "group": cls.key,
                "unsupported_reason": cls.reason,
            })
        sessions.append({
            "study_instance_uid": session.study_instance_uid,
            "patient_name": session.patient_name,
            "patient_id": session.patient_id,
            "study_date": session.study_date,
            "study_description": session.study_description,
            "accession_number": session.accession_number,
            "modalities": session.modalities,
            "scans": scans,
        })
    return {
        "sessions": sessions,
        "skipped": skipped_json(result.skipped),
        "duplicates": result.duplicates,
    }


def run_scan(args: argparse.Namespace) -> int:
    result = _scan(args)
    if args.json:
        print_json(scan_json(result))
        return 0
    print(f"{len(result.sessions)} session(s), {sum(len(s.scans) for s in result.sessions)} scan(s), "
          f"{result.instances} DICOM object(s) in {result.elapsed:.2f} s"
          f" ({result.from_cache} from the scan index)")
    for session in result.sessions:
        desc = session.study_description or session.study_instance_uid
        print(f"\nSession {desc} ({session.study_id or '-'})  patient {session.patient_name or '?'}"
              f" [{session.patient_id or '?'}]  date {session.study_date or '?'}"
              f"  accession {session.accession_number or '-'}  {'/'.join(session.modalities)}")
        for scan in session.sorted_scans():
            cls = classify_scan(scan)
            status = f"group {cls.key}" if cls.key else f"unsupported: {cls.reason}"
            print(f"  {scan.series_number if scan.series_number is not None else '-':>4} "
                  f"{scan.modality or '?':<8} {scan.series_description[:40]:<40} {scan.files:>5} files "
                  f"{human_bytes(scan.bytes):>9}  {status}")
    _print_skipped(result)
    if result.duplicates:
        print(f"\n{result.duplicates} duplicate object(s) (same SOP Instance UID) were counted once.")
    return 0


def _print_skipped(result: ScanResult) -> None:
    if not result.skipped:
        return
    print(f"\nSkipped {len(result.skipped)} file(s):")
    for skipped in result.skipped:
        print(f"  {skipped.path}: {skipped.reason}")


def _free_text_json(scan: Any) -> dict[str, Any]:
    found = inspect_scan(scan)
    return {"kind": found.kind, "findings": [f.where for f in found.findings],
            "matches": found.matches, "error": found.error or None}


def run_groups(args: argparse.Namespace) -> int:
    result = _scan(args)
    grouping = group_scans(result.sessions)
    if args.json:
        print_json({
            "valid": [{
                "key": g.key, "modality": g.modality, "rows": g.rows, "columns": g.columns,
                "sop_class_uid": g.sop_class_uid, "sop_class_name": g.sop_class_name,
                "photometric_interpretations": g.photometric_interpretations,
                "scans": len(g.members), "sessions": g.sessions,
                "series_instance_uids": [m.scan.series_instance_uid for m in g.members],
                "carries": {m.scan.series_instance_uid: notes for m in g.members
                            if (notes := image_text_notes(m.scan))},
            } for g in grouping.valid],
            "unsupported": [{
                "reason": g.reason, "sop_class_uid": g.sop_class_uid or None, "sop_class_name": g.sop_class_name,
                "scans": [{"series_instance_uid": m.scan.series_instance_uid,
                           "study_instance_uid": m.session.study_instance_uid,
                           "modality": m.scan.modality, "series_description": m.scan.series_description,
                           **({"free_text": _free_text_json(m.scan)} if g.reason == FREE_TEXT else {})}
                          for m in g.members],
            } for g in grouping.unsupported],
            "skipped": skipped_json(result.skipped),
        })
        return 0
    print(f"Valid groups ({len(grouping.valid)}):")
    for g in grouping.valid:
        print(f"  {g.key}  [{g.sop_class_name}; {', '.join(g.photometric_interpretations)}]"
              f"  {len(g.members)} scan(s) in {g.sessions} session(s)")
        for m in g.members:  # issue 14 §2: stays an image scan, but the person is told
            line = image_text_line(image_text_notes(m.scan))
            if line:
                print(f"    {m.scan.series_description or m.scan.series_instance_uid}: {line}")
    print(f"\nUnsupported scans ({sum(len(g.members) for g in grouping.unsupported)}):")
    for ug in grouping.unsupported:
        print(f"  {ug.reason} — {REASON_TEXT[ug.reason]} — {ug.sop_class_name}:")
        for m in ug.members:
            print(f"    {m.scan.modality or '?':<8} {m.scan.series_description or m.scan.series_instance_uid}")
            if ug.reason == FREE_TEXT:  # what is inside, and which patient values it names
                print(f"             {inspect_scan(m.scan).summary(values=True)}")
                print(f"             left out of uploads unless included: --include-free-text "
                      f"{m.scan.series_instance_uid}[:as-is|:text-removed]")
    _print_skipped(result)
    return 0
