"""``xnat-upload detect-text``: find burned-in text in DICOM images and suggest boxes.

Prints, per object, the lines of text the finder read and the box it suggests for each
(``l,t,r,b``, padded), with the score and whether the line looks like patient data. ``--json``
prints one document, ``--dicomedit`` the ``alterPixels`` lines for the likely-PHI boxes (what XNAT
accepts in a project script). Every object gets its own result or its own one-line error; the
search runs in worker processes (the models load once per worker).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from desktop_client.cli.common import UserError, print_json, require_inputs

NOT_AN_IMAGE = "not an image"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("detect-text", help="find burned-in text in DICOM images and suggest boxes",
                       description="Search the pixels of DICOM images for burned-in text (OCR, offline) "
                                   "and print the suggested redaction boxes. The search cannot certify "
                                   "an image clean.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="file, folder or .zip/.tar archive")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--all-frames", action="store_true",
                   help="search every frame of multi-frame images (default: the temporal-minimum "
                        "image and the first, middle and last frame)")
    p.add_argument("--dicomedit", action="store_true",
                   help="print the alterPixels lines that black out the likely-PHI boxes")
    p.add_argument("--workers", type=int, default=None,
                   help="processes searching in parallel (default: up to 2)")
    p.set_defaults(func=run_detect)


def _entry(path: str, result: Any) -> dict[str, Any]:
    return {"path": path, "sop_instance_uid": result.sop_instance_uid or None,
            "rows": result.rows or None, "columns": result.columns or None,
            "frames": result.frames if result.rows else None,
            "boxes": [f.to_json() for f in result.found], "error": result.error or None}


def run_detect(args: argparse.Namespace) -> int:
    from desktop_client.scanning import scan_paths
    from desktop_client.textfind import TextFinder, find_text

    require_inputs(args.paths)
    scanned = scan_paths(args.paths)
    instances = [i for s in scanned.sessions for i in s.iter_instances()]
    if not instances and not scanned.skipped:
        raise UserError("no files found in the given paths")
    workers = args.workers if args.workers is not None else min(2, os.cpu_count() or 1)
    entries: list[dict[str, Any]] = []
    if workers <= 0 or len(instances) <= 1:
        results = [find_text(i, all_frames=args.all_frames) for i in instances]
    else:
        with TextFinder(min(workers, len(instances)), background=False) as finder:
            futures = [finder.submit(i, all_frames=args.all_frames) for i in instances]
            results = [f.result() for f in futures]
    for instance, result in zip(instances, results):
        entries.append(_entry(str(instance.location), result))
    for skipped in scanned.skipped:
        entries.append({"path": skipped.path, "sop_instance_uid": None, "rows": None, "columns": None,
                        "frames": None, "boxes": [], "error": f"not read as DICOM: {skipped.reason}"})
    if args.json:
        print_json({"files": entries})
    elif args.dicomedit:
        _print_dicomedit(results)
    else:
        _print_text(entries)
    failed = [e for e in entries if e["error"] and not e["error"].startswith(NOT_AN_IMAGE)]
    return 1 if failed else 0


def _print_text(entries: list[dict[str, Any]]) -> None:
    for e in entries:
        if e["error"]:
            print(f"{e['path']}: {e['error']}")
            continue
        phi = sum(1 for b in e["boxes"] if b["likely_phi"])
        print(f"{e['path']}: {len(e['boxes'])} line(s) of text, {phi} likely patient data")
        for b in e["boxes"]:
            frame = "all" if b["frame"] is None else str(b["frame"] + 1)
            kind = "PHI " if b["likely_phi"] else "    "
            rect = f"{b['l']},{b['t']},{b['r']},{b['b']}"
            print(f"  {kind}{rect:<20} frame {frame:<4} score {b['score']:.2f}  {b['text']}")
    print("The search finds what the OCR can read; it cannot certify an image clean.")


def _print_dicomedit(results: list[Any]) -> None:
    from desktop_client.core.geometry import PixelEdit
    from desktop_client.transfer.pipeline import pixel_script

    boxes = []
    for result in results:
        for f in result.likely_phi:
            if f.rect not in boxes:
                boxes.append(f.rect)
    text = pixel_script([PixelEdit(r) for r in boxes])
    print(text.rstrip("\n") if text else "// no likely patient data found: nothing to black out")
