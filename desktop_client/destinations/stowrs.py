"""DICOMweb STOW-RS destination: one ``multipart/related`` POST per unit, streamed.

The body is generated while it is sent (chunked transfer encoding), so memory stays bounded by
the pipeline's window whatever the scan size. The response's Referenced/Failed SOP Sequences
(PS3.18 §10.5) decide the unit: every object must be referenced and none failed. Verification
asks the service back with QIDO-RS (instances of each series); a service without QIDO is
verified by the STOW-RS responses alone, and the receipt says so.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterator

import requests

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

_REFERENCED = "00081199"
_FAILED = "00081198"
_SOP_INSTANCE = "00081155"
_FAILURE_REASON = "00081197"


class StowRsDestination(ScriptedDestination):
    kind = DestinationKind.STOWRS

    def __init__(self, base_url: str, username: str = "", password: str | None = None, *,
                 verify_tls: bool = True, timeout: float = 300.0) -> None:
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.verify = verify_tls
        self.session.headers["User-Agent"] = "xnat-desktop-uploader"
        if username:
            self.session.auth = (username, password or "")
        self.timeout = timeout

    def describe(self) -> str:
        return f"DICOMweb STOW-RS {self.base}"

    def _error(self, what: str, response: requests.Response) -> DestinationError:
        if response.status_code in (401, 403):
            return DestinationError(f"{what}: the service refused the credentials "
                                    f"(HTTP {response.status_code})")
        retriable = response.status_code in (408, 429) or response.status_code >= 500
        return DestinationError(f"{what}: HTTP {response.status_code} {response.reason}",
                                retriable=retriable)

    def send_unit(self, ctx: SendContext, unit: UnitInfo, objects: Iterator[ObjectOutcome]) -> None:
        boundary = f"xnat-upload-{uuid.uuid4().hex}"
        sent: list[ObjectOutcome] = []

        def body() -> Iterator[bytes]:
            for obj in objects:
                if ctx.cancel.is_set():
                    raise Cancelled()
                sent.append(ObjectOutcome(obj.status, obj.source, obj.series_uid, obj.scan_id,
                                          sop_instance_uid=obj.sop_instance_uid,
                                          study_instance_uid=obj.study_instance_uid,
                                          series_instance_uid=obj.series_instance_uid))
                yield (f"--{boundary}\r\nContent-Type: application/dicom\r\n"
                       f"Content-Length: {len(obj.data)}\r\n\r\n").encode("ascii")
                yield obj.data
                yield b"\r\n"
            yield f"--{boundary}--\r\n".encode("ascii")

        headers = {"Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
                   "Accept": "application/dicom+json"}
        try:
            response = self.session.post(f"{self.base}/studies", data=body(), headers=headers,
                                         timeout=self.timeout)
        except Cancelled:
            raise
        except requests.RequestException as exc:
            if ctx.cancel.is_set():
                raise Cancelled() from None
            raise DestinationError(f"STOW-RS request failed: {exc.__class__.__name__}",
                                   retriable=True) from None
        if not sent:
            return
        if response.status_code not in (200, 202):
            raise self._error("STOW-RS upload failed", response)
        referenced, failed = _parse_response(response)
        missing = [o.sop_instance_uid for o in sent if o.sop_instance_uid not in referenced]
        if failed or missing:
            reason = next(iter(failed.values()), None)
            detail = f" (failure reason 0x{reason:04X})" if isinstance(reason, int) else ""
            raise DestinationError(f"the service did not store {len(failed) or len(missing)} of "
                                   f"{len(sent)} objects{detail}")
        series = ctx.state.setdefault("series", {})
        series[unit.scan_id] = sent[0].series_instance_uid
        ctx.state["study"] = sent[0].study_instance_uid
        ctx.save_state()

    def verify(self, ctx: SendContext, expected: Expected) -> Verification:
        series: dict[str, str] = ctx.state.get("series", {})
        study = ctx.state.get("study", "")
        found: dict[str, int] = {}
        for scan_id, objects in expected.items():
            url = f"{self.base}/studies/{study}/series/{series.get(scan_id, '')}/instances"
            try:
                response = self.session.get(url, headers={"Accept": "application/dicom+json"},
                                            params={"limit": str(len(objects) + 1000)},
                                            timeout=self.timeout)
            except requests.RequestException as exc:
                raise DestinationError(f"QIDO-RS query failed: {exc.__class__.__name__}",
                                       retriable=True) from None
            if response.status_code in (404, 405, 501):
                return compare_counts(expected, {k: len(v) for k, v in expected.items()},
                                      "STOW-RS response listed every object (no QIDO-RS)")
            if response.status_code == 204:
                found[scan_id] = 0
                continue
            if response.status_code != 200:
                raise self._error("QIDO-RS query failed", response)
            uids = {_value(item, "00080018") for item in response.json()}
            found[scan_id] = len(uids & set(objects))
        return compare_counts(expected, found, "QIDO-RS instance listing of every series")

    def close(self) -> None:
        self.session.close()


def _value(item: dict[str, Any], tag: str) -> Any:
    values = item.get(tag, {}).get("Value") or [None]
    return values[0]


def _parse_response(response: requests.Response) -> tuple[set[str], dict[str, Any]]:
    """SOP Instance UIDs the service stored, and the failed ones with their reason codes."""
    try:
        data = response.json() if response.content else {}
    except ValueError:
        raise DestinationError("the STOW-RS service answered with something other than DICOM JSON") from None
    if isinstance(data, list):
        data = data[0] if data else {}
    referenced = {_value(i, _SOP_INSTANCE) for i in data.get(_REFERENCED, {}).get("Value", [])}
    failed = {_value(i, _SOP_INSTANCE): _value(i, _FAILURE_REASON)
              for i in data.get(_FAILED, {}).get("Value", [])}
    return referenced, failed
