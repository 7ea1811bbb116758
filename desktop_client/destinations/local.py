"""Local archive folder: the embedded destination used when no server is configured.

Layout (the same tree an XNAT archive uses for a session's scans)::

    <root>/<project>/<subject>/<session>/SCANS/<scan>/DICOM/<SOP Instance UID>.dcm
    <root>/<project>/<subject>/<session>/manifest.json

Exactly-once without trusting the scripts to be deterministic: each unit is written into its own
private staging folder ``<root>/.staging/<transfer>/<unit>/``, which is emptied at the start of
every attempt, so an interrupted attempt leaves nothing behind. ``finish`` moves the staged files
into the session (``os.replace``, atomic per file, repeatable after a crash) and writes the
manifest; ``verify`` re-reads the session folder and checks count and MD5 of every file.

Existing sessions, as on XNAT: a session label already used in the project is refused unless the
user chose to merge (``overwrite="append"``), and a merge is only into the same subject's session.
A merge adds scans and files but never replaces a file with different content; the manifest
keeps the earlier files and names the earlier transfers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Iterator

from desktop_client.core.privacy import private_write
from desktop_client.destinations.base import (
    Cancelled,
    DestinationError,
    Expected,
    Finish,
    ScriptedDestination,
    SendContext,
    UnitInfo,
    Verification,
)
from desktop_client.transfer.pipeline import ObjectOutcome
from desktop_client.transfer.spec import MERGE, DestinationKind

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def _private_dirs(path: Path) -> None:
    """Create ``path`` and any missing parents owner-only (0700): archived sessions are patient
    data even after anonymization, and the default archive lives under the user's home."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)


def safe_name(label: str) -> str:
    """A label as a single safe path component (XNAT's own cleaning: odd characters → ``_``)."""
    cleaned = _UNSAFE.sub("_", label.strip()).strip(".")
    if not cleaned:
        raise DestinationError(f"label {label!r} cannot be used as a folder name")
    return cleaned


class LocalArchive(ScriptedDestination):
    kind = DestinationKind.LOCAL

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return f"local archive {self.root}"

    def session_dir(self, ctx: SendContext) -> Path:
        return (self.root / safe_name(ctx.project) / safe_name(ctx.subject)
                / safe_name(ctx.session_label))

    def _stage(self, ctx: SendContext, unit_idx: int | None = None) -> Path:
        base = self.root / ".staging" / ctx.transfer_id
        return base if unit_idx is None else base / str(unit_idx)

    def open(self, ctx: SendContext) -> None:
        try:
            _private_dirs(self.root)
            (self.root / ".staging").mkdir(exist_ok=True, mode=0o700)
        except OSError as exc:
            raise DestinationError(f"cannot create the archive folder {self.root}: {exc.strerror}") from None
        if not os.access(self.root, os.W_OK):
            raise DestinationError(f"the archive folder {self.root} is not writable")
        self._check_existing(ctx)

    def _check_existing(self, ctx: SendContext) -> None:
        """Refuse a label already used in the project unless merging into the same subject's
        session (then remember that in ``ctx.state``). Skipped once files were moved in: the
        session found then is this transfer's own."""
        if ctx.state.get("moving"):
            return
        label, project = safe_name(ctx.session_label), safe_name(ctx.project)
        project_dir = self.root / project
        holders = sorted(p.name for p in project_dir.iterdir()
                         if p.is_dir() and (p / label).is_dir() and any((p / label).iterdir())) \
            if project_dir.is_dir() else []
        if not holders:
            ctx.state.pop("merged_into", None)
            return
        if ctx.overwrite != MERGE:
            raise DestinationError(f"session {label} already exists in project {project} of "
                                   f"{self.root}; choose another session label, or choose to add "
                                   "these scans to it (merge)")
        subject = safe_name(ctx.subject)
        if subject not in holders:
            raise DestinationError(f"session {label} of project {project} belongs to subject "
                                   f"{holders[0]}, not {subject}; choose subject {holders[0]} to "
                                   "add scans to it")
        ctx.state["merged_into"] = str(self.session_dir(ctx))
        ctx.save_state()

    def send_unit(self, ctx: SendContext, unit: UnitInfo, objects: Iterator[ObjectOutcome]) -> None:
        stage = self._stage(ctx, unit.idx)
        shutil.rmtree(stage, ignore_errors=True)
        target = stage / safe_name(unit.scan_id)
        try:
            target.mkdir(parents=True, mode=0o700)
            for obj in objects:
                if ctx.cancel.is_set():
                    raise Cancelled()
                path = target / f"{safe_name(obj.sop_instance_uid)}.dcm"
                with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                               "wb") as fh:
                    fh.write(obj.data)
        except OSError as exc:
            raise DestinationError(f"cannot write into {self.root}: {exc.strerror}") from None

    def finish(self, ctx: SendContext) -> Finish:
        session = self.session_dir(ctx)
        stage = self._stage(ctx)
        # Another transfer may have created the session since ``open``: check again.
        self._check_existing(ctx)
        try:
            if stage.is_dir():
                staged = [(f, session / "SCANS" / scan_dir.name / "DICOM" / f.name)
                          for unit_dir in sorted(stage.iterdir())
                          # units of scans the user excluded after a failure are left out
                          if unit_dir.name.isdigit() and int(unit_dir.name) in ctx.final_units
                          for scan_dir in unit_dir.iterdir() for f in scan_dir.iterdir()]
                clash = next((final for f, final in staged if final.exists() and _md5(final) != _md5(f)),
                             None)
                if clash is not None:
                    raise DestinationError(f"{clash.relative_to(session)} already exists in session "
                                           f"{session.name} with different content; nothing was "
                                           "moved into the session")
                if not ctx.state.get("moving"):
                    ctx.state["moving"] = True
                    ctx.save_state()
                for f, final in staged:
                    _private_dirs(final.parent)
                    os.replace(f, final)
                shutil.rmtree(stage)
        except OSError as exc:
            raise DestinationError(f"cannot move files into {session}: {exc.strerror}") from None
        return Finish(uri=str(session), link=session.as_uri(), archived=True)

    def record(self, ctx: SendContext, manifest: dict[str, Any]) -> None:
        """Write ``manifest.json`` (atomically) next to the session's SCANS folder."""
        path = self.session_dir(ctx) / "manifest.json"
        if ctx.state.get("merged_into") and path.is_file():
            manifest = _merged_manifest(json.loads(path.read_text(encoding="utf-8")), manifest)
        private_write(path, json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8"))

    def discard(self, ctx: SendContext) -> bool:
        """Nothing reaches the session folder before ``finish``: dropping the stage is enough."""
        shutil.rmtree(self._stage(ctx), ignore_errors=True)
        return True

    def verify(self, ctx: SendContext, expected: Expected) -> Verification:
        session = self.session_dir(ctx)
        found: dict[str, int] = {}
        problems: list[str] = []
        for scan_id, objects in sorted(expected.items()):
            folder = session / "SCANS" / safe_name(scan_id) / "DICOM"
            files = {p.name: p for p in folder.glob("*.dcm")} if folder.is_dir() else {}
            found[scan_id] = len(files)
            for sop, md5 in objects.items():
                path = files.get(f"{safe_name(sop)}.dcm")
                if path is None:
                    problems.append(f"scan {scan_id}: object {sop} is missing")
                elif _md5(path) != md5:
                    problems.append(f"scan {scan_id}: object {sop} differs from what was sent")
            if len(files) > len(objects) and not ctx.state.get("merged_into"):
                problems.append(f"scan {scan_id}: {len(files) - len(objects)} unexpected extra files")
        if problems:
            return Verification(False, "re-read and MD5 of every file", "; ".join(problems[:20]), found)
        total = sum(len(o) for o in expected.values())
        return Verification(True, "re-read and MD5 of every file",
                            f"{total} files in {len(expected)} scans match what was sent", found)

    def cleanup_stale_staging(self, live_ids: set[str], older_than: float = 0) -> None:
        """Remove staging folders of transfers that no longer exist in the queue."""
        stage_root = self.root / ".staging"
        if not stage_root.is_dir():
            return
        now = time.time()
        for entry in stage_root.iterdir():
            if entry.name not in live_ids and now - entry.stat().st_mtime >= older_than:
                shutil.rmtree(entry, ignore_errors=True)


def _merged_manifest(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The manifest of a session this transfer merged into: earlier files kept, later ones win,
    earlier transfers named (repeatable: merging with its own manifest changes nothing)."""
    earlier = list(old.get("earlier_transfers", []))
    if old.get("transfer_id") != new["transfer_id"]:
        earlier.append({key: old.get(key) for key in ("transfer_id", "written", "scripts",
                                                      "lookup_table")})
    scans = {k: dict(v) for k, v in old.get("scans", {}).items()}
    for scan_id, scan in new["scans"].items():
        files = {f["name"]: f for f in scans.get(scan_id, {}).get("files", [])}
        files.update({f["name"]: f for f in scan["files"]})
        scans[scan_id] = {**scan, "files": sorted(files.values(), key=lambda f: f["name"])}
    return {**new, "scans": scans, "earlier_transfers": earlier}


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
