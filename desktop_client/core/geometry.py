"""Redaction rectangles and fills: the one coordinate convention shared by every stage.

A rectangle is in image pixel coordinates exactly as DicomEdit's ``alterPixels`` writes it
(``l, t, r, b``): it covers pixels with ``l <= x < r`` and ``t <= y < b`` (dicomedit.md §9.7).
The GUI, templates, the CLI (``--rect l,t,r,b``) and scripts all produce these objects, so a box
drawn in the viewer is the box the pixel engine blacks out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rect:
    """Half-open pixel rectangle ``[left, right) × [top, bottom)``."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return max(0, self.right - self.left)

    @property
    def height(self) -> int:
        return max(0, self.bottom - self.top)

    @property
    def is_empty(self) -> bool:
        return self.width == 0 or self.height == 0

    def overlap(self, other: "Rect") -> float:
        """Intersection over the smaller rectangle's area: near 1 when two reads of one text line
        (on different frames or passes) are the same line, whatever their padding."""
        w = min(self.right, other.right) - max(self.left, other.left)
        h = min(self.bottom, other.bottom) - max(self.top, other.top)
        if w <= 0 or h <= 0:
            return 0.0
        return (w * h) / max(1, min(self.width * self.height, other.width * other.height))

    def clipped(self, columns: int, rows: int) -> "Rect | None":
        """This rectangle clipped to a ``columns × rows`` image, or None if nothing is left."""
        clipped = Rect(max(0, self.left), max(0, self.top), min(columns, self.right),
                       min(rows, self.bottom))
        return None if clipped.is_empty else clipped

    @classmethod
    def parse(cls, text: str) -> "Rect":
        """Parse ``"l,t,r,b"`` (the CLI's ``--rect`` form); raises ValueError with a clear message."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 4:
            raise ValueError(f"a rectangle is four whole numbers 'left,top,right,bottom', got {text!r}")
        try:
            left, top, right, bottom = (int(p) for p in parts)
        except ValueError:
            raise ValueError(f"a rectangle is four whole numbers 'left,top,right,bottom', got {text!r}") from None
        if right <= left or bottom <= top:
            raise ValueError(f"rectangle {text!r} is empty: right must exceed left and bottom exceed top")
        return cls(left, top, right, bottom)

    def __str__(self) -> str:
        return f"{self.left},{self.top},{self.right},{self.bottom}"


@dataclass(frozen=True, slots=True)
class Fill:
    """What a rectangle is filled with.

    ``black`` (the app's templates) means "darkest displayable" for the image's colour model;
    otherwise ``value`` (grey, from a script's ``v=``) or ``rgb`` (from ``r=, g=, b=``) is written.
    """

    black: bool = True
    value: int | None = None
    rgb: tuple[int, int, int] | None = None

    @classmethod
    def grey(cls, value: int) -> "Fill":
        return cls(black=False, value=value)

    @classmethod
    def colour(cls, r: int, g: int, b: int) -> "Fill":
        return cls(black=False, rgb=(r, g, b))


BLACK = Fill()


@dataclass(frozen=True, slots=True)
class PixelEdit:
    """One ``alterPixels`` request: a rectangle and its fill, applied to every frame, in order."""

    rect: Rect
    fill: Fill = BLACK
    shape: str = "rectangle"
