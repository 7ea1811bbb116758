"""The values the transfer engine and the destinations share: where a transfer goes and what the
per-object pipeline produced for a destination to send (the scripts that anonymize it are
``desktop_client.scripts.ScriptSource``, a layer lower still).

They live here, below both, so that a destination never imports the engine that drives it
(``transfer`` imports ``destinations``, never the other way round). ``transfer.spec`` and
``transfer.pipeline`` re-export them for the callers that think in transfers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class DestinationKind(StrEnum):
    XNAT = "xnat"
    LOCAL = "local"
    CSTORE = "cstore"
    STOWRS = "stowrs"


#: ``TransferSpec.overwrite`` for "add these scans to the existing session" (xnat-rest-api §4.4).
MERGE = "append"

_DICOM_URL = re.compile(r"^dicom://(?P<aet>[^@/]{1,16})@(?P<host>\[[^\]]+\]|[^:/]+):(?P<port>\d{1,5})/?$")


@dataclass(frozen=True, slots=True)
class DestinationSpec:
    """Where a transfer goes. ``url`` is the normalised address for the kind:

    * ``xnat``: ``http(s)://host[:port][/context]`` (no trailing slash);
    * ``local``: an absolute folder path (the local archive root);
    * ``cstore``: ``dicom://CALLED_AET@host:port``;
    * ``stowrs``: the DICOMweb service root as ``http(s)://host[:port]/path``.
    """

    kind: DestinationKind
    url: str
    username: str = ""
    calling_aet: str = "XNATUPLOAD"
    verify_tls: bool = True
    #: The user's explicit opt-in to plain ``http://`` to a host other than this machine.
    allow_http: bool = False

    @classmethod
    def parse(cls, text: str, *, username: str = "", calling_aet: str = "XNATUPLOAD",
              verify_tls: bool = True, allow_http: bool = False) -> "DestinationSpec":
        """Parse the CLI's ``--to DEST`` form; raises ValueError with a message a user can act on."""
        text = text.strip()
        if not text:
            raise ValueError("the destination is empty")
        lower = text.lower()
        if lower.startswith(("http://", "https://")):
            parts = urlsplit(text)
            if not parts.hostname:
                raise ValueError(f"XNAT address {text!r} has no host name")
            return cls(DestinationKind.XNAT, text.rstrip("/"), username, calling_aet, verify_tls,
                       allow_http)
        if lower.startswith(("dicomweb+http://", "dicomweb+https://")):
            url = text[len("dicomweb+"):].rstrip("/")
            if not urlsplit(url).hostname:
                raise ValueError(f"DICOMweb address {text!r} has no host name")
            return cls(DestinationKind.STOWRS, url, username, calling_aet, verify_tls)
        if lower.startswith("dicom://"):
            match = _DICOM_URL.match(text)
            if not match:
                raise ValueError(f"DICOM address {text!r} must look like dicom://CALLED_AET@host:port")
            port = int(match["port"])
            if not 0 < port < 65536:
                raise ValueError(f"port {port} in {text!r} is out of range")
            if len(calling_aet) > 16 or not calling_aet.strip():
                raise ValueError(f"calling AE title {calling_aet!r} must be 1 to 16 characters")
            return cls(DestinationKind.CSTORE, text.rstrip("/"), username, calling_aet, verify_tls)
        if "://" in text:
            raise ValueError(f"unsupported destination {text!r}: use http(s)://, dicom://, "
                             "dicomweb+http(s):// or a folder path")
        return cls(DestinationKind.LOCAL, str(Path(text).expanduser().resolve()), username,
                   calling_aet, verify_tls)

    @property
    def display(self) -> str:
        """The address as the user typed it (for lists and receipts; never holds a secret)."""
        if self.kind is DestinationKind.STOWRS:
            return "dicomweb+" + self.url
        return self.url

    def cstore_address(self) -> tuple[str, str, int]:
        """``(called_aet, host, port)`` of a C-STORE destination."""
        match = _DICOM_URL.match(self.url)
        if self.kind is not DestinationKind.CSTORE or not match:
            raise ValueError(f"{self.url!r} is not a C-STORE destination")
        return match["aet"], match["host"].strip("[]"), int(match["port"])


class ObjectStatus(StrEnum):
    """What became of one source object in the pipeline (an :class:`ObjectOutcome`)."""

    OK = "ok"
    REJECTED = "rejected"
    FAILED = "failed"


@dataclass(slots=True)
class ObjectOutcome:
    """``ok`` (``data`` holds the file), ``rejected`` (a script said so) or ``failed`` (reason)."""

    status: ObjectStatus
    source: str
    series_uid: str
    scan_id: str
    reason: str = ""
    data: bytes = b""
    #: the bytes' length, also when they wait in ``data_path`` rather than in ``data``
    size: int = 0
    #: file holding the bytes when a worker wrote them there (the spool reads and removes it)
    data_path: str = ""
    md5: str = ""
    sop_instance_uid: str = ""
    sop_class_uid: str = ""
    transfer_syntax_uid: str = ""
    study_instance_uid: str = ""
    series_instance_uid: str = ""
    redaction: dict[str, Any] = field(default_factory=dict)
    #: the output re-check (``textfind.Recheck.to_json``: status, boxes of visible text, warnings)
    recheck: dict[str, Any] = field(default_factory=dict)
