"""Results of the text finder: plain, picklable values shared by the CLI, the GUI and the gate."""

from __future__ import annotations

from dataclasses import dataclass, field

from desktop_client.core.geometry import Rect


@dataclass(frozen=True, slots=True)
class FoundText:
    """One readable line of burned-in text.

    ``rect`` is the suggested redaction box (``l,t,r,b``, image pixels, padded by ~15 % of the
    text height and at least 2 px, clipped to the image); ``line`` is the detected line itself,
    unpadded, used to tell whether a box covers the text or cuts it. ``frame`` is the 0-based
    frame it was read on, or None for the whole-image search (single frame, or the temporal-minimum
    image of a cine). ``text`` is what the recogniser read: it lives in memory only (the on-disk
    cache keeps it encrypted with a key derived from the pixels themselves).
    """

    rect: Rect
    frame: int | None
    text: str
    score: float
    likely_phi: bool
    line: Rect | None = None
    #: the text matches the user's allowlist (reported, never PHI, ignored by the re-check)
    allowlisted: bool = False

    @property
    def text_rect(self) -> Rect:
        return self.line or self.rect

    def to_json(self) -> dict[str, object]:
        """The CLI's ``boxes`` entry."""
        return {"l": self.rect.left, "t": self.rect.top, "r": self.rect.right, "b": self.rect.bottom,
                "frame": self.frame, "text": self.text, "score": round(self.score, 3),
                "likely_phi": self.likely_phi}


@dataclass(slots=True)
class TextResult:
    """What the finder saw on one instance (``error`` set, ``found`` empty when it could not look)."""

    sop_instance_uid: str = ""
    rows: int = 0
    columns: int = 0
    frames: int = 1
    found: list[FoundText] = field(default_factory=list)
    error: str = ""
    #: SHA-256 of the stored pixel bytes that were searched (the cache key's second half)
    pixel_hash: str = ""
    #: True when the result came from the on-disk cache
    cached: bool = False

    @property
    def likely_phi(self) -> list[FoundText]:
        return [f for f in self.found if f.likely_phi]


@dataclass(slots=True)
class ScanText:
    """The finder's view of one scan: the searched instances' results and the header flag."""

    series_instance_uid: str
    results: list[TextResult] = field(default_factory=list)
    #: some instance's header says Burned In Annotation = YES
    burned_in_annotation: bool = False
    #: how many instances the scan has (the coverage policy searched ``len(results)`` of them)
    instances: int = 0

    @property
    def found(self) -> list[FoundText]:
        return [f for r in self.results for f in r.found]

    @property
    def likely_phi(self) -> list[FoundText]:
        return [f for f in self.found if f.likely_phi]

    @property
    def errors(self) -> list[str]:
        return [r.error for r in self.results if r.error]

    def suggested_boxes(self, *, likely_phi_only: bool = True) -> list[Rect]:
        """Distinct boxes for the scan (boxes apply to every instance and frame)."""
        boxes: list[Rect] = []
        for f in (self.likely_phi if likely_phi_only else self.found):
            if f.rect not in boxes:
                boxes.append(f.rect)
        return boxes
