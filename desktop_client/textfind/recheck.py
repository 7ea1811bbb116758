"""Re-check the output: search the bytes that will be sent again, after redaction.

A readable line that is likely PHI (technical overlay and allowlisted text are not, nor a line
where the source showed text judged harmless) and is not wholly inside a redaction box means
text is still visible: the object **fails closed** with
"text still visible at l,t,r,b", unless a person accepted the scan as is. A box whose edge cuts
a line detected *before* redaction is only a warning: OCR does not reliably read half-cut glyphs,
and the check fires on many correct boxes too (reference §4).

The re-check cannot certify an image clean: it sees what the OCR sees, no more.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from desktop_client.core.geometry import Rect
from desktop_client.textfind.find import find_text, pixel_hash
from desktop_client.textfind.model import FoundText, TextResult
from desktop_client.textfind.phi import Allowlist, HeaderValues

#: A line at least this much inside the boxes counts as covered.
COVERED = 0.9

PASSED, FAILED, ACCEPTED, ERROR = "passed", "failed", "accepted", "error"


def coverage(line: Rect, boxes: Sequence[Rect]) -> float:
    """Share of the line's pixels inside the union of ``boxes`` (0..1)."""
    if line.is_empty:
        return 1.0
    mask = np.zeros((line.height, line.width), dtype=bool)
    for box in boxes:
        l, t = max(box.left, line.left) - line.left, max(box.top, line.top) - line.top
        r, b = min(box.right, line.right) - line.left, min(box.bottom, line.bottom) - line.top
        if r > l and b > t:
            mask[t:b, l:r] = True
    return float(mask.mean())


def cut_warnings(found: Sequence[FoundText], boxes: Sequence[Rect]) -> list[str]:
    """Lines detected before redaction that a box covers only partly."""
    out = []
    for f in found:
        share = coverage(f.text_rect, boxes)
        if 0.0 < share < COVERED:
            out.append(f"a box edge cuts detected text at {f.text_rect}")
    return out


def _seen_harmless(line: Rect, harmless: Sequence[Rect]) -> bool:
    """The source showed a line here that was judged harmless (technical overlay, allowlisted).

    The output is the same image minus the boxes: a line left in place is the same text, and a
    second reading that garbles "220 mAs B30f" into letters does not make it patient data.
    """
    return any(coverage(line, [h]) >= 0.5 or coverage(h, [line]) >= 0.5 for h in harmless)


@dataclass(slots=True)
class Recheck:
    """The re-check of one object. ``visible`` keeps the lines in memory only (their text too)."""

    status: str
    visible: list[FoundText] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def reason(self) -> str:
        if self.status == ERROR:
            return f"the re-check could not search the output ({self.error})"
        if not self.visible:
            return ""
        return "text still visible at " + "; ".join(str(f.text_rect) for f in self.visible)

    def to_json(self) -> dict[str, Any]:
        """For receipts: boxes and counts only, never the text read."""
        return {"status": self.status, "visible": [str(f.text_rect) for f in self.visible],
                "warnings": list(self.warnings), **({"error": self.error} if self.error else {})}


def recheck(output: Dataset | bytes, boxes: Sequence[Rect], *, frames: Sequence[int] | None = None,
            temporal: bool | None = None, accepted: bool = False, source: TextResult | None = None,
            header: HeaderValues | None = None, allowlist: Allowlist | None = None) -> Recheck:
    """Search ``output`` (a dataset or the Part-10 bytes to send) and judge it against ``boxes``.

    ``source`` is the finder's result on the object before redaction (for the box-edge warning,
    and reused when the output's pixel bytes are the source's); ``header`` the source's
    identifying values. An output that cannot be searched is an error: the caller fails closed.
    """
    try:
        ds = output if isinstance(output, Dataset) else pydicom.dcmread(io.BytesIO(output))
    except Exception as exc:
        return Recheck(ERROR, error=f"cannot be read back ({exc})")
    if source is not None and not source.error and "PixelData" in ds and pixel_hash(ds) == source.pixel_hash:
        result = source
    else:
        result = find_text(ds, frames=frames, temporal=temporal, allowlist=allowlist, header=header)
    if result.error:
        return Recheck(ERROR, error=result.error)
    harmless = [f.text_rect for f in source.found if not f.likely_phi] if source is not None else []
    visible = [f for f in result.found if f.likely_phi and coverage(f.text_rect, boxes) < COVERED
               and not _seen_harmless(f.text_rect, harmless)]
    warnings = cut_warnings(source.found, boxes) if source is not None and boxes else []
    status = PASSED if not visible else (ACCEPTED if accepted else FAILED)
    return Recheck(status, visible, warnings)
