"""What the engine returns (a report) and how it refuses (an error callers must quarantine on).

The engine fails closed: any object it cannot redact *and* verify raises ``RedactionError`` with a
sentence a user understands; nothing is ever passed on half-redacted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from desktop_client.core.errors import UploaderError
from desktop_client.core.geometry import Rect


class RedactionError(UploaderError):
    """The object could not be redacted or its redaction could not be verified.

    ``reason`` is user-facing (no patient data); callers quarantine the object and never upload it.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class RedactionReport:
    """What one ``redact_dataset`` call did.

    ``method`` is ``"native"`` (edited in place), ``"dct"`` (JPEG Baseline blocks wiped in the DCT
    domain), ``"reencode"`` (decoded, redacted, re-encoded in the same lossless syntax),
    ``"lossy-to-lossless"`` (decoded lossy input written uncompressed) or ``"none"`` when no
    rectangle touched the image (pixel data left byte-identical).
    """

    applied: list[Rect] = field(default_factory=list)
    outside: list[Rect] = field(default_factory=list)
    method: str = "none"
    transfer_syntax_uid: str = ""
    frames: int = 0
    icon_removed: bool = False
    overlays_cleared: int = 0
    overlays_removed: int = 0
    notes: list[str] = field(default_factory=list)
