"""``xnat-upload redact`` and ``xnat-upload preview``: the pixel engine from the command line.

``redact`` blacks out rectangles (``--rect l,t,r,b``: pixels l ≤ x < r, t ≤ y < b, as DicomEdit's
``alterPixels`` writes them) in every frame of every DICOM object found, writing copies under
``--out``; inputs are never modified. An object that cannot be redacted and verified is not
written at all (it is reported as refused, the exit code is 1); every input that is not a DICOM
object is listed with its reason (exit code 3 when nothing failed). Outputs are written
atomically (see core/atomic.py): a full disk leaves no partial file. ``preview`` writes a PNG of
one frame, produced by the same redaction code.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path, PurePosixPath
from typing import Any

from desktop_client.cli.common import (UserError, each_object, nothing_found, outcome_exit_code,
                                       output_folder, print_json, print_skipped, reason_of, require_inputs,
                                       skipped_json)
from desktop_client.core.atomic import atomic_write
from desktop_client.core.errors import PASS_THROUGH
from desktop_client.core.geometry import BLACK, Fill, PixelEdit, Rect


def register(sub: argparse._SubParsersAction) -> None:
    redact = sub.add_parser("redact", help="black out rectangles in the pixels of DICOM files (copies)")
    redact.add_argument("paths", nargs="+", metavar="PATH", help="file, folder or .zip/.tar archive")
    redact.add_argument("--out", required=True, metavar="DIR", help="folder for the redacted copies")
    _rect_options(redact, required=True)
    redact.add_argument("--remove-overlays", action="store_true", help="also delete all overlay planes (60xx)")
    redact.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    redact.set_defaults(func=run_redact)

    preview = sub.add_parser("preview", help="write a PNG preview of one frame, optionally redacted")
    preview.add_argument("file", metavar="FILE", help="a DICOM file")
    preview.add_argument("--out", required=True, metavar="PNG", help="PNG file to write")
    _rect_options(preview, required=False)
    preview.add_argument("--frame", type=int, default=None, metavar="N", help="frame number, 1-based (default: middle)")
    preview.add_argument("--size", default=None, metavar="WxH", help="fit into this box, e.g. 256x256")
    preview.set_defaults(func=run_preview)


def _rect_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--rect", action="append", required=required, default=[], metavar="l,t,r,b",
                        help="rectangle in image pixels: left,top,right,bottom (right/bottom exclusive); repeatable")
    parser.add_argument("--fill", default="black", metavar="black|V|R,G,B",
                        help="'black' (darkest displayable value, default), a stored grey value, or R,G,B")


def parse_fill(text: str) -> Fill:
    value = text.strip().lower()
    if value == "black":
        return BLACK
    try:
        parts = [int(p) for p in value.split(",")]
    except ValueError:
        raise UserError(f"--fill must be 'black', a whole number or R,G,B, not {text!r}") from None
    if len(parts) == 1 and parts[0] >= 0:
        return Fill.grey(parts[0])
    if len(parts) == 3 and all(0 <= p <= 255 for p in parts):
        return Fill.colour(*parts)
    raise UserError(f"--fill must be 'black', a whole number ≥ 0 or three values 0-255, not {text!r}")


def parse_rects(texts: list[str]) -> list[Rect]:
    rects = []
    for text in texts:
        try:
            rects.append(Rect.parse(text))
        except ValueError as exc:
            raise UserError(str(exc)) from None
    return rects


def _target(location: Any, inputs: list[Path], out: Path) -> Path:
    """Where the copy of ``location`` goes: its path relative to the input it was found in."""
    source = Path(location.path).resolve()
    for root in inputs:
        base = root if root.is_dir() else root.parent
        try:
            rel = source.relative_to(base)
            break
        except ValueError:
            continue
    else:
        rel = Path(source.name)
    if location.member is not None:
        # Archive member names are untrusted: keep only plain name parts so "../" cannot escape --out.
        parts = [p for p in PurePosixPath(location.member.replace("\\", "/")).parts if p not in ("", ".", "..", "/")]
        rel = rel.with_name(rel.name + "_contents").joinpath(*parts or ["member"])
    return out / rel


def run_redact(args: argparse.Namespace) -> int:
    require_inputs(args.paths)
    rects = parse_rects(args.rect)
    fill = parse_fill(args.fill)
    edits = [PixelEdit(rect, fill) for rect in rects]
    inputs, out = output_folder(args.paths, args.out)
    results, skipped = each_object(args.paths, lambda source, entry: entry.update(
        _redact_one(source, edits, args.remove_overlays, inputs, out)))
    if not results:
        return nothing_found(skipped, args.json)
    counts = {s: sum(1 for r in results if r["status"] == s) for s in ("ok", "refused", "error")}
    counts["skipped"] = len(skipped)
    if args.json:
        print_json({"files": results, "skipped": skipped_json(skipped), "summary": counts})
    else:
        for r in results:
            if r["status"] == "ok":
                extra = f" [{r['method']}]" + (f" (outside the image: {', '.join(r['outside'])})" if r["outside"] else "")
                print(f"ok       {r['file']} -> {r['output']}{extra}")
            else:
                print(f"{r['status']:8} {r['file']}: {r['error']}")
        print_skipped(skipped)
        print(f"{counts['ok']} redacted, {counts['refused']} refused (not written), {counts['error']} failed, "
              f"{counts['skipped']} skipped")
    return outcome_exit_code(counts["refused"] + counts["error"], len(skipped))


def _redact_one(source: Any, edits: list[PixelEdit], remove_overlays: bool, inputs: list[Path],
                out: Path) -> dict[str, Any]:
    """Read, redact, verify and write one object; its outcome as a result entry (never raises for it)."""
    from desktop_client.pixels import RedactionError, redact_dataset
    from desktop_client.scanning import read_dataset

    try:
        ds = read_dataset(source)
    except PASS_THROUGH:
        raise
    except BaseException as exc:  # noqa: BLE001 - unreadable input is this object's failure
        return {"status": "error", "error": f"cannot read: {reason_of(exc)}"}
    try:
        report = redact_dataset(ds, edits, remove_overlays=remove_overlays)
    except RedactionError as exc:
        return {"status": "refused", "error": exc.reason}
    target = _target(source, inputs, out)
    if target.parent.resolve() / target.name == Path(source.path).resolve():  # a link there is replaced, not followed
        return {"status": "error", "error": "the output would replace the input; choose another --out"}
    try:
        atomic_write(target, lambda fh: ds.save_as(fh, enforce_file_format=False))
    except PASS_THROUGH:
        raise
    except BaseException as exc:  # noqa: BLE001 - full disk, a value pydicom cannot encode...
        return {"status": "error", "error": f"cannot write {target} ({reason_of(exc)}); nothing was left there"}
    return dict(status="ok", output=str(target), method=report.method,
                transfer_syntax=report.transfer_syntax_uid, frames=report.frames,
                applied=[str(r) for r in report.applied], outside=[str(r) for r in report.outside],
                notes=report.notes)


def run_preview(args: argparse.Namespace) -> int:
    from PIL import Image

    from desktop_client.pixels import RedactionError, render

    if not os.path.isfile(args.file):
        raise UserError(f"{args.file} is not a file")
    size = None
    if args.size:
        try:
            w, h = (int(v) for v in args.size.lower().split("x"))
            size = (w, h)
        except ValueError:
            raise UserError(f"--size must look like 256x256, not {args.size!r}") from None
    frame = None if args.frame is None else args.frame - 1
    try:
        rgb = render(args.file, frame=frame, rectangles=parse_rects(args.rect) or None, size=size,
                     fill=parse_fill(args.fill))
    except RedactionError as exc:
        raise UserError(exc.reason) from None
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(args.out, format="PNG")
    print(f"wrote {args.out} ({rgb.shape[1]}x{rgb.shape[0]})")
    return 0
