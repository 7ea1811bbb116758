"""The result of a redaction path before it is committed to the dataset, and its stream check."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import zip_longest

from pydicom.encaps import generate_frames

from desktop_client.core.geometry import Rect
from desktop_client.pixels.errors import RedactionError
from desktop_client.pixels.imagemodel import ImageModel

#: Regions actually painted (after 4:2:2 or MCU widening) with their decoded-domain values.
Painted = list[tuple[Rect, tuple[int, ...]]]


@dataclass(slots=True)
class Outcome:
    """New Pixel Data and the description it must be written with (not yet in the dataset)."""

    pixel_data: bytes
    transfer_syntax: str
    model: ImageModel
    method: str
    frames: int
    encapsulated: bool
    painted: Painted
    lossy_input: bool = False
    notes: list[str] = field(default_factory=list)


def check_encapsulation(pixel: bytes, frames: list[bytes]) -> None:
    """The encapsulated stream splits back into exactly the frames we encoded (BOT, padding)."""
    # Frame by frame: holding the split stream as a list would add another copy of a long cine.
    split = generate_frames(pixel, number_of_frames=len(frames))
    for a, b in zip_longest(split, frames):
        if a is None or b is None or len(a) - len(b) not in (0, 1) or not a.startswith(b):
            raise RedactionError("verification failed: the encapsulated frames do not match what was encoded")
