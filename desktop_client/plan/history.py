"""Has this study been sent to this destination before? Answered from the receipts (no Qt).

Every transfer ends with a JSON receipt listing the source Series Instance UIDs it sent. A
session whose series were already sent, successfully, to the same destination (and project) is
a likely duplicate: XNAT would file it under a new label (``…_2``) without a word. The user is
told where and when it went, with the receipt, and decides to send it again or skip it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from desktop_client.scanning.model import Session
from desktop_client.transfer.spec import DestinationSpec

_SERIES = re.compile(rb'"series_instance_uid":\s*"([^"]+)"')


@dataclass(frozen=True)
class PreviousUpload:
    """The latest earlier upload of a study to the same destination."""

    study_instance_uid: str
    destination: str
    project: str
    session_label: str
    #: ISO 8601 time the transfer finished ("" when unknown).
    finished: str
    receipt: Path

    @property
    def day(self) -> str:
        return self.finished[:10] or "an earlier day"


def _receipts(folders: Iterable[Path]) -> list[Path]:
    seen: dict[Path, None] = {}
    for folder in folders:
        if Path(folder).is_dir():
            seen.update(dict.fromkeys(sorted(Path(folder).glob("transfer-*.json"))))
    return list(seen)


def previous_uploads(sessions: Iterable[Session], destination: DestinationSpec, project: str,
                     folders: Iterable[Path]) -> dict[str, PreviousUpload]:
    """Study Instance UID → its latest earlier successful upload to ``destination``/``project``.

    Receipts are large (one line per file), so each is first searched for the series UIDs as
    bytes and parsed only when one of ours is in it. Unreadable receipts are passed over: this
    is a warning, never a reason to stop.
    """
    study_of = {uid: s.study_instance_uid for s in sessions for uid in s.scans}
    found: dict[str, PreviousUpload] = {}
    for path in _receipts(folders):
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        hits = {study_of[u] for u in (m.decode("ascii", "replace") for m in _SERIES.findall(raw))
                if u in study_of}
        if not hits:
            continue
        try:
            receipt = json.loads(raw)
        except ValueError:
            continue
        if receipt.get("state") != "done" or \
                (receipt.get("destination") or {}).get("address") != destination.display:
            continue
        if project and receipt.get("project") not in ("", None, project):
            continue
        sent = {study_of[s["series_instance_uid"]] for s in receipt.get("scans", [])
                if s.get("status") == "sent" and s.get("series_instance_uid") in study_of}
        for study in sent:
            earlier = PreviousUpload(study, destination.display, receipt.get("project") or "",
                                     receipt.get("session_label") or "",
                                     receipt.get("finished") or "", path)
            if study not in found or earlier.finished > found[study].finished:
                found[study] = earlier
    return found
