"""DICOM C-STORE destination (pynetdicom).

One association per unit. Presentation contexts are proposed from what the unit's objects
actually are — their SOP classes, each with its own transfer syntax plus Explicit and Implicit VR
Little Endian — so a receiver that cannot take a compressed syntax still gets uncompressed native
objects re-encoded exactly (never silently decompressed). Every object must come back with a
success or warning status; anything else fails the unit with the receiver's status code.

When a project is given (an XNAT DICOM receiver), ``Project:P Subject:S Session:E`` is written
into Patient Comments by the pipeline so the XNAT routing rules place the session (the MD5 in the
receipt is of exactly those bytes).

Verification asks the receiver with C-FIND (series level, Number of Series Related Instances);
a receiver without a Query/Retrieve service (such as ``storescp``) is verified by the C-STORE
responses alone, and the receipt says which method was used.
"""

from __future__ import annotations

import io
import logging
from typing import Iterator

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, UID
from pynetdicom import AE, build_context
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind, Verification as EchoSOP

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
from desktop_client.transfer.pipeline import ObjectOutcome
from desktop_client.transfer.spec import DestinationKind

# pynetdicom logs every PDU at INFO/DEBUG; keep the app log free of header values.
logging.getLogger("pynetdicom").setLevel(logging.WARNING)

_SUCCESS_OR_WARNING = {0x0000, 0x0107, 0x0116, 0xB000, 0xB006, 0xB007}
_UNCOMPRESSED = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)


class CStoreDestination(ScriptedDestination):
    kind = DestinationKind.CSTORE

    def __init__(self, host: str, port: int, called_aet: str, calling_aet: str = "XNATUPLOAD",
                 timeout: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.called_aet = called_aet
        self.calling_aet = calling_aet
        self.timeout = timeout

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

    def _associate(self, contexts: list) -> object:  # pynetdicom Association
        ae = self._ae()
        try:
            assoc = ae.associate(self.host, self.port, contexts=contexts, ae_title=self.called_aet)
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
            status = assoc.send_c_echo()  # type: ignore[attr-defined]
            if not status or status.get("Status") != 0x0000:
                raise DestinationError(f"{self.called_aet} did not answer C-ECHO", retriable=True)
        finally:
            assoc.release()  # type: ignore[attr-defined]

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
                    ctx.state["study"] = obj.study_instance_uid
                    ctx.save_state()
        finally:
            if assoc.is_established:  # type: ignore[attr-defined]
                assoc.release()  # type: ignore[attr-defined]

    def _store(self, assoc: object, obj: ObjectOutcome) -> None:
        ds = dcmread(io.BytesIO(obj.data))
        accepted = {(c.abstract_syntax, c.transfer_syntax[0])
                    for c in assoc.accepted_contexts}  # type: ignore[attr-defined]
        ts = UID(obj.transfer_syntax_uid)
        if (obj.sop_class_uid, ts) not in accepted:
            target = next((t for t in _UNCOMPRESSED if (obj.sop_class_uid, t) in accepted), None)
            if target is None or ts not in NATIVE:
                raise DestinationError(
                    f"the receiver accepts no transfer syntax for {obj.sop_class_uid} in "
                    f"{ts.name or ts}")
            ds.file_meta.TransferSyntaxUID = target
        try:
            status = assoc.send_c_store(ds)  # type: ignore[attr-defined]
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
        series: dict[str, str] = ctx.state.get("series", {})
        study = ctx.state.get("study", "")
        try:
            assoc = self._associate([build_context(StudyRootQueryRetrieveInformationModelFind)])
        except DestinationError:
            assoc = None
        if assoc is None or not assoc.accepted_contexts:  # type: ignore[attr-defined]
            if assoc is not None:
                assoc.release()  # type: ignore[attr-defined]
            return compare_counts(expected, {k: len(v) for k, v in expected.items()},
                                  "C-STORE success status for every object (receiver has no C-FIND)")
        found: dict[str, int] = {}
        try:
            for scan_id in expected:
                query = Dataset()
                query.QueryRetrieveLevel = "IMAGE"
                query.StudyInstanceUID = study
                query.SeriesInstanceUID = series.get(scan_id, "")
                query.SOPInstanceUID = ""
                count = 0
                for status, identifier in assoc.send_c_find(  # type: ignore[attr-defined]
                        query, StudyRootQueryRetrieveInformationModelFind):
                    if status and status.get("Status") in (0xFF00, 0xFF01) and identifier is not None:
                        if identifier.get("SOPInstanceUID") in expected[scan_id]:
                            count += 1
                found[scan_id] = count
        finally:
            assoc.release()  # type: ignore[attr-defined]
        return compare_counts(expected, found, "C-FIND at image level on the receiver")


def _chain(first: list[ObjectOutcome], rest: Iterator[ObjectOutcome]) -> Iterator[ObjectOutcome]:
    yield from first
    yield from rest
