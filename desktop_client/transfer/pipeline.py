"""Per-object work: read → site script → project script → pixel edits → redaction check → bytes.

Each source object is turned into the exact bytes that will be sent (a DICOM Part-10 file) plus
their MD5, or into a reason why it must not be sent. This function runs in worker processes, so
it takes and returns only plain picklable values and never touches the queue or the network.

**Script state across processes.** DicomEdit scripts keep per-applicator state: ``mapUID``
tables and lookup tables (``hashUID`` is a pure function and ``newUID`` is random per call by
definition). A script that uses a per-applicator table must see every object of a transfer
through one applicator, so :func:`needs_single_applicator` sends such transfers through one
in-process applicator, in order (the engine's "serial" mode); all other scripts are compiled once
per worker and per transfer, which gives the same output as one applicator. The transfer's lookup
table travels with every job all the same, so whichever applicator compiles the scripts has its
own copy (as in the reference) and a ``lookup`` is never answered from an empty table.

Source files are opened read-only (through ``desktop_client.scanning.read_dataset``); nothing is
written next to them and no anonymized copy touches the disk.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass
from typing import Any, Sequence

from pydicom import dcmread

from desktop_client.core.geometry import PixelEdit
from desktop_client.destinations.model import ObjectOutcome, ObjectStatus  # noqa: F401 (re-export)
from desktop_client.pixels import RedactionError, redact_dataset
from desktop_client.scanning import read_dataset
from desktop_client.scanning.freetext import header_values, identifying_carriers
from desktop_client.scanning.model import Location
from desktop_client.scripts import ScriptSource

#: Functions whose results depend on earlier objects seen by the same applicator.
_STATEFUL = re.compile(r"\b(mapUID|mapReferencedUIDs|lookup)\s*\[", re.IGNORECASE)
#: Scripts that may black out pixels themselves (their boxes are re-checked like drawn ones).
_ALTER_PIXELS = re.compile(r"\balterPixels\s*\[", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ObjectJob:
    """Everything a worker needs to turn one source object into bytes to send."""

    key: str
    scripts: tuple[ScriptSource, ...]
    variables: tuple[tuple[str, str], ...]
    edits: tuple[PixelEdit, ...]
    location: Location
    series_uid: str
    scan_id: str
    patient_comments: str = ""
    #: the transfer's DicomEdit lookup table text ("" when none)
    lookup_table: str = ""
    #: where a worker process writes the object's bytes (a new private file) instead of
    #: returning them: see :func:`process_in_worker`
    output_path: str = ""
    #: re-check the redacted output for visible text (the coverage policy picked this object):
    #: the frames searched one by one, and whether the temporal image of a cine is searched
    recheck: bool = False
    recheck_frames: tuple[int, ...] = ()
    recheck_temporal: bool = False
    #: the scan was accepted as is: visible text is recorded, the object is not failed for it
    accepted_as_is: bool = False
    #: the scan's identifying private text and overlays are to be gone after the scripts (removed
    #: by them, checked, or by the built-in step): an output still carrying some fails closed
    private_check: bool = False


def needs_single_applicator(scripts: Sequence[ScriptSource]) -> bool:
    """True when a script keeps tables across objects (see module doc)."""
    return any(_STATEFUL.search(s.text) for s in scripts)


def script_checksum(text: str) -> str:
    """SHA-256 of a script's text, as recorded in receipts."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def pixel_script(edits: Sequence[PixelEdit]) -> str:
    """The DicomEdit text equivalent of drawn rectangles, as the official client writes it.

    The rectangles are applied directly as ``PixelEdit`` objects; this text is what the receipt
    records so that a reader can see, in the server's own language, what was blacked out.
    """
    if not edits:
        return ""
    lines = ['version "6.1"']
    for e in edits:
        value = 0 if e.fill.black or e.fill.value is None else e.fill.value
        fill = (f'"r={e.fill.rgb[0]}, g={e.fill.rgb[1]}, b={e.fill.rgb[2]}"' if e.fill.rgb
                else f'"v={value}"')
        lines.append(f'alterPixels["{e.shape}", "l={e.rect.left}, t={e.rect.top}, '
                     f'r={e.rect.right}, b={e.rect.bottom}", "solid", {fill}]')
    return "\n".join(lines) + "\n"


class Applicator:
    """Compiled scripts of one transfer, applied in order to each object."""

    def __init__(self, scripts: Sequence[ScriptSource], lookup_table: str = "") -> None:
        self.compiled: list[tuple[str, Any]] = []
        if scripts:
            from desktop_client.dicomedit import compile_script

            self.compiled = [(s.name, compile_script(s.text, lookup_table=lookup_table or None))
                             for s in scripts if s.text.strip()]

    def process(self, job: ObjectJob) -> ObjectOutcome:
        source = str(job.location)
        base = ObjectOutcome(ObjectStatus.FAILED, source, job.series_uid, job.scan_id)
        try:
            ds = read_dataset(job.location)
        except Exception as exc:  # unreadable source: a reason for the user, not a crash
            base.reason = f"cannot read the source object: {exc}"
            return base
        variables = dict(job.variables)
        edits: list[PixelEdit] = []
        before = _before_redaction(job, ds)
        identifying = header_values(ds) if job.private_check else None
        for name, script in self.compiled:
            try:
                outcome = script.apply(ds, variables=variables, execute_pixels=False)
            except Exception as exc:
                base.reason = f"{name} script failed: {exc}"
                return base
            if outcome.status == "rejected":
                base.status = ObjectStatus.REJECTED
                base.reason = f"rejected by the {name} script"
                return base
            if outcome.status != "ok":
                base.reason = f"{name} script failed: {outcome.error}"
                return base
            edits.extend(outcome.pixel_edits)
        if identifying is not None:
            kept = identifying_carriers(ds, identifying)
            if kept:
                base.reason = ("header text that may identify the patient is still there after the "
                               "scripts: " + "; ".join(c.describe() for c in kept[:3]))
                return base
        _sync_file_meta(ds)
        if job.patient_comments:
            # XNAT DICOM receivers route on "Project:P Subject:S Session:E" (xnat-rest-api §4.7).
            ds.PatientComments = job.patient_comments
        edits.extend(job.edits)
        if edits:
            try:
                report = redact_dataset(ds, edits)
            except RedactionError as exc:
                base.reason = f"redaction failed or could not be verified: {exc}"
                return base
            except Exception as exc:
                base.reason = f"redaction failed: {exc}"
                return base
            base.redaction = _report_summary(report)
            requested = {e.rect for e in edits}
            if any(rect not in requested for rect in report.applied):
                # The engine painted more than was asked (native YBR 4:2:2 widened to whole chroma
                # pairs, as XNAT does): the receipt names the pixels that really changed.
                base.redaction["painted"] = [str(rect) for rect in report.applied]
        try:
            buffer = io.BytesIO()
            ds.save_as(buffer, enforce_file_format=True)
        except Exception as exc:
            base.reason = f"cannot write the anonymized object: {exc}"
            return base
        data = buffer.getvalue()
        meta = ds.file_meta
        base.status = ObjectStatus.OK
        base.data = data
        base.size = len(data)
        base.md5 = hashlib.md5(data).hexdigest()
        base.sop_instance_uid = str(ds.get("SOPInstanceUID", ""))
        base.sop_class_uid = str(ds.get("SOPClassUID", ""))
        base.transfer_syntax_uid = str(meta.get("TransferSyntaxUID", ""))
        base.study_instance_uid = str(ds.get("StudyInstanceUID", ""))
        base.series_instance_uid = str(ds.get("SeriesInstanceUID", ""))
        if not base.sop_instance_uid or not base.sop_class_uid:
            return ObjectOutcome(ObjectStatus.FAILED, source, job.series_uid, job.scan_id,
                                 reason="the anonymized object has no SOP Class or Instance UID")
        problem = _check_written(data, base.sop_instance_uid)
        if problem:
            return ObjectOutcome(ObjectStatus.FAILED, source, job.series_uid, job.scan_id, reason=problem)
        if before is not None and edits:
            problem = _recheck(job, data, [e.rect for e in edits], before, base)
            if problem:
                return ObjectOutcome(ObjectStatus.FAILED, source, job.series_uid, job.scan_id,
                                     reason=problem, recheck=base.recheck)
        return base


def _before_redaction(job: ObjectJob, ds: Any) -> Any:
    """For an object to re-check: the finder's view of the source and its identifying values.

    Taken before the scripts change the header (the anonymized header no longer holds the
    patient's name to match burned-in text against). The source search is usually a cache hit:
    the upload's gate searched the same pixels.
    """
    if not job.recheck or "PixelData" not in ds:
        return None
    if not job.edits and not any(_ALTER_PIXELS.search(s.text) for s in job.scripts):
        return None  # nothing will change the pixels: the upload's gate judged these very pixels
    from desktop_client.textfind import HeaderValues, find_text

    return (find_text(ds, frames=job.recheck_frames, temporal=job.recheck_temporal),
            HeaderValues.from_dataset(ds))


def _recheck(job: ObjectJob, data: bytes, boxes: list[Any], before: Any, outcome: ObjectOutcome) -> str:
    """Search the bytes to send again; the reason to fail the object closed ("" when it may go)."""
    from desktop_client.textfind import recheck
    from desktop_client.textfind.recheck import ERROR, FAILED

    source, header = before
    result = recheck(data, boxes, frames=job.recheck_frames, temporal=job.recheck_temporal,
                     accepted=job.accepted_as_is, source=None if source.error else source,
                     header=header)
    outcome.recheck = result.to_json()
    if result.status in (FAILED, ERROR):
        return result.reason
    return ""


def _check_written(data: bytes, sop_instance_uid: str) -> str:
    """Read the bytes about to be sent back as a receiver would; "" when they are sound."""
    try:
        check = dcmread(io.BytesIO(data), stop_before_pixels=True)
    except Exception as exc:
        return f"the anonymized object cannot be read back: {exc}"
    if str(check.get("SOPInstanceUID", "")) != sop_instance_uid or \
            str(check.file_meta.get("MediaStorageSOPInstanceUID", "")) != sop_instance_uid:
        return "the anonymized object's UIDs do not read back as written"
    return ""


def _sync_file_meta(ds: Any) -> None:
    """Keep the file meta consistent with the anonymized object.

    Scripts edit the dataset; the Part-10 header must then name the *new* SOP Instance UID
    (the old one would leak the original identifier and confuse receivers). Group 0002 elements
    a script wrote into the dataset body belong to the file meta, where they are moved.
    """
    from pydicom.dataset import FileMetaDataset

    meta = getattr(ds, "file_meta", None)
    if meta is None:
        meta = ds.file_meta = FileMetaDataset()
    for tag in [t for t in ds.keys() if t.group == 0x0002]:
        meta[tag] = ds[tag]
        del ds[tag]
    if "SOPInstanceUID" in ds:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if "SOPClassUID" in ds:
        meta.MediaStorageSOPClassUID = ds.SOPClassUID


def _report_summary(report: object) -> dict[str, Any]:
    """A small JSON-safe view of the pixel engine's report (whatever fields it exposes)."""
    if hasattr(report, "__dataclass_fields__"):
        out: dict[str, Any] = {}
        for name in report.__dataclass_fields__:
            value = getattr(report, name)
            if isinstance(value, (str, int, float, bool)) or value is None:
                out[name] = value
        return out
    return {"report": str(report)}


# ---- worker-process entry point ---------------------------------------------------------------

_WORKER_CACHE: dict[str, Applicator] = {}



def process_in_worker(job: ObjectJob) -> ObjectOutcome:
    """Pool entry point: one Applicator per transfer and worker, compiled on first use."""
    applicator = _WORKER_CACHE.get(job.key)
    if applicator is None:
        try:
            applicator = Applicator(job.scripts, job.lookup_table)
        except Exception as exc:
            return ObjectOutcome(ObjectStatus.FAILED, str(job.location), job.series_uid, job.scan_id,
                                 reason=f"script cannot be compiled: {exc}")
        if len(_WORKER_CACHE) >= 4:
            _WORKER_CACHE.pop(next(iter(_WORKER_CACHE)))
        _WORKER_CACHE[job.key] = applicator
    outcome = applicator.process(job)
    if job.output_path and outcome.status == ObjectStatus.OK:
        # Returning half a megabyte per CT slice through the pool's pipe (pickled, copied in
        # chunks, unpickled while the main process also streams the upload) cost more than the
        # object's whole anonymization; a private file in the unit's spool folder costs two copies.
        try:
            write_private(job.output_path, outcome.data)
        except OSError as exc:
            return ObjectOutcome(ObjectStatus.FAILED, outcome.source, job.series_uid, job.scan_id,
                                 reason=f"cannot write the prepared object to the spool: {exc}")
        outcome.data, outcome.data_path = b"", job.output_path
    return outcome


def write_private(path: str, data: bytes) -> None:
    """Write ``data`` to a new file readable by this user only (never over an existing file)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        written = 0
        while written < len(data):
            written += os.write(fd, view[written:])
    finally:
        os.close(fd)
