"""The result of a redaction path before it is committed to the dataset, and its stream check."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    split = list(generate_frames(pixel, number_of_frames=len(frames)))
    if len(split) != len(frames) or any(a[:len(b)] != b or len(a) - len(b) > 1 for a, b in zip(split, frames)):
        raise RedactionError("verification failed: the encapsulated frames do not match what was encoded")
