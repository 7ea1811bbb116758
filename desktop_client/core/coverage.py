"""Which instances (and frames) of a scan the burned-in text finder searches: one policy, one home.

Searching every slice of a 2,000-slice CT would cost minutes per scan and find nothing the
middle slice does not show: CT/MR consoles burn the same overlay into every slice, and real
burned-in patient data is concentrated in a few kinds of objects. So the policy is

* one **representative** instance per image scan: the middle one, where the anatomy and the
  overlay are both present (a CT/MR console burns the same overlay into every slice; searching
  the first and last slices too tripled the cost on a 300-slice CT and found nothing more);
* **every** instance of the kinds prone to burned-in text: Secondary Capture, ultrasound, XA/RF,
  endoscopy and other visible-light photographs, "OT", and any instance whose header says
  Burned In Annotation = YES;
* for a multi-frame instance, the **temporal-minimum** image (static overlay text survives it,
  moving anatomy darkens) plus the first, middle and last frame.

It takes plain attribute values (any object with ``sop_class_uid``, ``modality``,
``burned_in_annotation`` and ``frames``), so the scanning model, tests and the CLI share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

#: Modalities whose images usually carry patient data in the pixels.
PRONE_MODALITIES = frozenset({"US", "XA", "RF", "ES", "OT", "SC", "XC", "GM", "DOC", "SM", "IVUS", "OP", "DX"})
#: SOP classes (by UID prefix) prone to burned-in text: secondary capture, US, XA/RF, VL photographs.
PRONE_SOP_PREFIXES = (
    "1.2.840.10008.5.1.4.1.1.7",      # Secondary Capture (and its multi-frame variants)
    "1.2.840.10008.5.1.4.1.1.6.",     # Ultrasound (single and multi-frame)
    "1.2.840.10008.5.1.4.1.1.3.1",    # Ultrasound Multi-frame (retired)
    "1.2.840.10008.5.1.4.1.1.12.",    # X-Ray Angiographic / Radiofluoroscopic
    "1.2.840.10008.5.1.4.1.1.77.1.",  # VL endoscopic, microscopic, photographic
)


class InstanceTraits(Protocol):
    """What the policy needs to know about an instance (``scanning.model.Instance`` has it)."""

    sop_class_uid: str
    modality: str
    burned_in_annotation: str
    frames: int


@dataclass(frozen=True, slots=True)
class Pick:
    """One instance to search: its position in the list given, and which of its images."""

    index: int
    #: frames searched one by one (0-based)
    frames: tuple[int, ...]
    #: also search the temporal-minimum image of all frames (multi-frame instances)
    temporal: bool


def burned_in_yes(value: str | None) -> bool:
    """Is this Burned In Annotation (0028,0301) value YES (padding and case aside)?"""
    return (value or "").strip().upper() == "YES"


def prone_to_burned_in_text(instance: InstanceTraits) -> bool:
    """True for kinds of objects that often carry patient data in their pixels."""
    if burned_in_yes(instance.burned_in_annotation):
        return True
    if (instance.modality or "").upper() in PRONE_MODALITIES:
        return True
    return (instance.sop_class_uid or "").startswith(PRONE_SOP_PREFIXES)


def frames_to_search(frames: int, *, all_frames: bool = False) -> tuple[tuple[int, ...], bool]:
    """(frames searched one by one, temporal image searched) for an instance of ``frames`` frames."""
    frames = max(1, int(frames or 1))
    if frames == 1:
        return (0,), False
    if all_frames:
        return tuple(range(frames)), True
    return tuple(sorted({0, frames // 2, frames - 1})), True


def instances_to_search(instances: Sequence[InstanceTraits], *, all_frames: bool = False) -> list[Pick]:
    """The policy (module doc) for one scan, whose instances are given in series order."""
    if not instances:
        return []
    chosen = {len(instances) // 2}
    chosen.update(i for i, inst in enumerate(instances) if prone_to_burned_in_text(inst))
    picks = []
    for index in sorted(chosen):
        frames, temporal = frames_to_search(instances[index].frames, all_frames=all_frames)
        picks.append(Pick(index, frames, temporal))
    return picks
