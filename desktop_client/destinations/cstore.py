"""DICOM C-STORE destination (pynetdicom).

One association per unit. Presentation contexts are proposed from what the unit's objects
actually are — their SOP classes, each with its own transfer syntax plus Explicit and Implicit VR
Little Endian — so a receiver that cannot take a compressed syntax still gets uncompressed native
objects re-encoded exactly (never silently decompressed). Every object must come back with a
success or warning status; anything else fails the unit with the receiver's status code.

When a project is given (an XNAT DICOM receiver), ``Project:P Subject:S Session:E`` is written
into Patient Comments by the pipeline so the XNAT routing rules place the session (the MD5 in the
receipt is of exactly those bytes).

Verification prefers DICOM Storage Commitment (N-ACTION, the report awaited on the same
association: the app opens no listening socket), then C-FIND at image level; a node that offers
or allows neither (``storescp``; a PACS that takes stores but refuses queries from unknown AEs)
ends in the distinct receipt state "stored, not verifiable" (``xnat-upload upload`` exit code 4),
never in a traceback. The receipt says which method was used and why the others were not.
"""

from __future__ import annotations

import io
import logging
import threading
from dataclasses import replace
from typing import Any, Iterator

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, UID, generate_uid
from pynetdicom import AE, build_context, evt
from pynetdicom.association import Association
from pynetdicom.presentation import PresentationContext
from pynetdicom.sop_class import (  # type: ignore[attr-defined]  # names built at import time
    StorageCommitmentPushModel,
    StudyRootQueryRetrieveInformationModelFind,
    Verification as EchoSOP,
)

from desktop_client.core.errors import one_line
from desktop_client.core.transfer_syntaxes import NATIVE
from desktop_client.destinations.base import (
    Cancelled,
    DestinationError,
    Expected,
    ScriptedDestination,
    SendContext,
    UnitInfo,
    Verification,
    compare_counts,
)
from desktop_client.destinations.model import DestinationKind, ObjectOutcome

# pynetdicom logs every PDU at INFO/DEBUG; keep the app log free of header values.
logging.getLogger("pynetdicom").setLevel(logging.WARNING)

#: The well-known SOP Instance of the Storage Commitment Push Model (PS3.4 J.3.5).
STORAGE_COMMITMENT_INSTANCE = "1.2.840.10008.1.20.1.1"
_SUCCESS_OR_WARNING = {0x0000, 0x0107, 0x0116, 0xB000, 0xB006, 0xB007}
_UNCOMPRESSED = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)


class CStoreDestination(ScriptedDestination):
    kind = DestinationKind.CSTORE

    def __init__(self, host: str, port: int, called_aet: str, calling_aet: str = "XNATUPLOAD",
                 timeout: float = 30.0, commitment_wait: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.called_aet = called_aet
        self.calling_aet = calling_aet
        self.timeout = timeout
        #: How long a Storage Commitment report is awaited on the request's own association.
        self.commitment_wait = commitment_wait

    def describe(self) -> str:
        return f"DICOM C-STORE {self.called_aet}@{self.host}:{self.port} (calling AE {self.calling_aet})"

    def routing_comment(self, ctx: SendContext) -> str:
        if not ctx.project:
            return ""
        parts = [f"Project:{ctx.project}"]
        if ctx.subject:
            parts.append(f"Subject:{ctx.subject}")
        if ctx.session_label:
            parts.append(f"Session:{ctx.session_label}")
        return " ".join(parts)

    def _ae(self) -> AE:
        ae = AE(ae_title=self.calling_aet)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self.timeout
        return ae

    def _associate(self, contexts: list[PresentationContext], handlers: list[Any] | None = None
                   ) -> Association:
        ae = self._ae()
        try:
            assoc = ae.associate(self.host, self.port, contexts=contexts, ae_title=self.called_aet,
                                 evt_handlers=handlers or [])
        except Exception as exc:
            raise DestinationError(f"cannot reach {self.host}:{self.port}: {exc}", retriable=True) from None
        if not assoc.is_established:
            if assoc.is_rejected:
                raise DestinationError(f"{self.called_aet} at {self.host}:{self.port} rejected the "
                                       "association (check the AE titles)")
            raise DestinationError(f"no association with {self.called_aet} at {self.host}:{self.port}",
                                   retriable=True)
        return assoc

    def open(self, ctx: SendContext) -> None:
        assoc = self._associate([build_context(EchoSOP)])
        try:
            status = assoc.send_c_echo()
            if not status or status.get("Status") != 0x0000:
                raise DestinationError(f"{self.called_aet} did not answer C-ECHO", retriable=True)
        finally:
            assoc.release()

    def send_unit(self, ctx: SendContext, unit: UnitInfo, objects: Iterator[ObjectOutcome]) -> None:
        # Contexts must be proposed before the first object is read, so peek the first object and
        # propose every syntax the pipeline can produce for the scan's SOP class(es).
        iterator = iter(objects)
        first = next(iterator, None)
        if first is None:
            return
        pending = [first]
        sop_classes = {first.sop_class_uid, *unit.sop_classes}
        syntaxes = {first.transfer_syntax_uid, *unit.transfer_syntaxes}
        contexts = []
        for sop in sorted(sop_classes):
            for ts in sorted(syntaxes | set(_UNCOMPRESSED)):
                contexts.append(build_context(sop, [ts]))
        assoc = self._associate(contexts)
        try:
            for obj in _chain(pending, iterator):
                if ctx.cancel.is_set():
                    raise Cancelled()
                self._store(assoc, obj)
                series = ctx.state.setdefault("series", {})
                if series.get(unit.scan_id) != obj.series_instance_uid:
                    series[unit.scan_id] = obj.series_instance_uid
                    ctx.state.setdefault("sop_class", {})[unit.scan_id] = obj.sop_class_uid
                    ctx.state["study"] = obj.study_instance_uid
                    ctx.save_state()
        finally:
            if assoc.is_established:
                assoc.release()

    def _store(self, assoc: Association, obj: ObjectOutcome) -> None:
        ds = dcmread(io.BytesIO(obj.data))
        accepted = {(c.abstract_syntax, c.transfer_syntax[0])
                    for c in assoc.accepted_contexts}
        ts = UID(obj.transfer_syntax_uid)
        if (obj.sop_class_uid, ts) not in accepted:
            target = next((t for t in _UNCOMPRESSED if (obj.sop_class_uid, t) in accepted), None)
            if target is None or ts not in NATIVE:
                raise DestinationError(
                    f"the receiver accepts no transfer syntax for {obj.sop_class_uid} in "
                    f"{ts.name or ts}")
            ds.file_meta.TransferSyntaxUID = target
        try:
            status = assoc.send_c_store(ds)
        except Exception as exc:
            raise DestinationError(f"C-STORE failed: {exc}", retriable=True) from None
        if not status:
            raise DestinationError("the receiver did not answer C-STORE (connection lost)",
                                   retriable=True)
        code = int(status.get("Status", -1))
        if code not in _SUCCESS_OR_WARNING:
            raise DestinationError(f"the receiver refused an object (C-STORE status 0x{code:04X})",
                                   retriable=code in (0xA700, 0xA701, 0xA702))

    def verify(self, ctx: SendContext, expected: Expected) -> Verification:
        """Storage Commitment, else C-FIND, else "stored, not verifiable" — never an exception.

        Every object already came back with a success status; this asks the node whether it
        *kept* them. A refusal at any step (association rejected, context not accepted, request
        refused, association aborted — Orthanc aborts on an N-ACTION from an AE it does not know)
        moves on to the next method; when none answers, the outcome is the distinct state
        ``not-verifiable`` (exit code 4), not a failure and not a confirmation.
        """
        notes: list[str] = []
        try:
            committed = self._storage_commitment(ctx, expected, notes)
        except Exception as exc:  # noqa: BLE001 - any network surprise: try the next method
            notes.append(f"Storage Commitment failed ({one_line(exc)})")
            committed = None
        if committed is not None:
            return committed
        try:
            found = self._find_counts(ctx, expected, notes)
        except Exception as exc:  # noqa: BLE001 - pynetdicom raises RuntimeError on an aborted association
            notes.append(f"C-FIND failed ({one_line(exc)})")
            found = None
        if found is not None:
            result = compare_counts(expected, found, "C-FIND at image level on the receiver")
            return replace(result, method="; ".join([result.method, *notes]))
        total = sum(len(v) for v in expected.values())
        return Verification(True, "C-STORE success status for every object; " + "; ".join(notes),
                            f"stored, not verifiable: the node refused queries ({total} objects accepted "
                            "by C-STORE, none could be confirmed afterwards)",
                            {k: len(v) for k, v in expected.items()}, state="not-verifiable")

    def _storage_commitment(self, ctx: SendContext, expected: Expected, notes: list[str]) -> Verification | None:
        """N-ACTION (Storage Commitment Push Model); the verdict when the node reports on this association.

        The app opens no listening socket, so a report the node sends on a *new* association
        (Orthanc's way) cannot be received: that is noted and C-FIND decides instead.
        """
        reports: list[tuple[int, Dataset | None]] = []
        arrived = threading.Event()

        def on_report(event: Any) -> tuple[int, None]:
            reports.append((int(event.event_type_id), event.event_information))
            arrived.set()
            return 0x0000, None

        try:
            assoc = self._associate([build_context(StorageCommitmentPushModel)],
                                    handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])
        except DestinationError as exc:
            notes.append(f"Storage Commitment refused ({exc})")
            return None
        try:
            if not assoc.accepted_contexts:
                notes.append("Storage Commitment not offered by the node")
                return None
            request = Dataset()
            request.TransactionUID = generate_uid()
            request.ReferencedSOPSequence = []
            classes: dict[str, str] = ctx.state.get("sop_class", {})  # a scan holds one SOP class
            for scan_id, objects in expected.items():
                for sop_instance in objects:
                    item = Dataset()
                    item.ReferencedSOPClassUID = classes.get(scan_id, "")
                    item.ReferencedSOPInstanceUID = sop_instance
                    request.ReferencedSOPSequence.append(item)
            status, _reply = assoc.send_n_action(
                request, 1, StorageCommitmentPushModel, STORAGE_COMMITMENT_INSTANCE)
            code = int(status.get("Status", -1)) if status else -1
            if code != 0x0000:
                notes.append("Storage Commitment refused by the node" + (f" (status 0x{code:04X})" if code >= 0
                                                                         else " (association aborted)"))
                return None
            if not arrived.wait(self.commitment_wait):
                notes.append("Storage Commitment accepted, but the node reports on a separate association, "
                             "which this app does not accept (it opens no listening socket)")
                return None
        finally:
            if assoc.is_established:
                assoc.release()
        _event, info = reports[0]
        committed = {str(i.ReferencedSOPInstanceUID) for i in (info or Dataset()).get("ReferencedSOPSequence", [])}
        failed = len((info or Dataset()).get("FailedSOPSequence", []))
        found = {scan: sum(1 for uid in objects if uid in committed) for scan, objects in expected.items()}
        result = compare_counts(expected, found, "DICOM Storage Commitment (N-ACTION / N-EVENT-REPORT)")
        if failed:
            return replace(result, ok=False, state="failed",
                           details=f"the node could not commit {failed} object(s); " + result.details)
        return result

    def _find_counts(self, ctx: SendContext, expected: Expected, notes: list[str]) -> dict[str, int] | None:
        """Objects per scan the node lists by C-FIND; None when it will not be asked."""
        series: dict[str, str] = ctx.state.get("series", {})
        study = ctx.state.get("study", "")
        try:
            assoc = self._associate([build_context(StudyRootQueryRetrieveInformationModelFind)])
        except DestinationError as exc:
            notes.append(f"C-FIND refused ({exc})")
            return None
        found: dict[str, int] = {}
        try:
            if not assoc.accepted_contexts:
                notes.append("the node offers no C-FIND")
                return None
            for scan_id in expected:
                query = Dataset()
                query.QueryRetrieveLevel = "IMAGE"
                query.StudyInstanceUID = study
                query.SeriesInstanceUID = series.get(scan_id, "")
                query.SOPInstanceUID = ""
                count = 0
                final = -1
                for status, identifier in assoc.send_c_find(
                        query, StudyRootQueryRetrieveInformationModelFind):
                    final = int(status.get("Status", -1)) if status else -1
                    if final in (0xFF00, 0xFF01) and identifier is not None:
                        if identifier.get("SOPInstanceUID") in expected[scan_id]:
                            count += 1
                if final != 0x0000:
                    notes.append("C-FIND refused by the node" + (f" (status 0x{final:04X})" if final >= 0
                                                                 else " (association aborted)"))
                    return None
                found[scan_id] = count
        finally:
            if assoc.is_established:
                assoc.release()
        return found


def _chain(first: list[ObjectOutcome], rest: Iterator[ObjectOutcome]) -> Iterator[ObjectOutcome]:
    yield from first
    yield from rest
