"""Default session labels: ``<subject>_<MOD>_<n>`` exactly as the official client makes them.

* ``MOD``: among the session's series, only primary modalities count. With PET present, the
  tracer name is used (``PT`` when no tracer is known yet). With one modality, that one.
  Otherwise the modality with the most series, ignoring ``OT`` (ties: the one seen first). A
  session with no primary modality at all uses its most common modality, else ``OT``.
* ``n``: the smallest number from 1 that gives a label not yet used — in the project's archive,
  its prearchive, or in uploads queued locally (``LabelPool`` keeps the three together).

Label comparisons are case-insensitive: XNAT matches subjects case-insensitively and labels that
differ only in case confuse people, so we never hand out such a pair.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Sequence

from desktop_client.labels.sanitize import sanitize_label

PRIMARY_MODALITIES = ("CR", "CT", "MR", "PT", "DX", "ECG", "EPS", "ES", "GM", "HD", "IO", "MG",
                      "NM", "OP", "OPT", "RF", "SM", "US", "XA", "XC", "OT")
MAX_INDEX = 99999
_TRAILING_NUMBER = re.compile(r"^(.*_)(\d+)$")


def session_modality(series_modalities: Sequence[str], tracer: str | None = None) -> str:
    """The ``MOD`` part of a default label, from one modality per series (in series order)."""
    mods = [m.strip().upper() for m in series_modalities if m and m.strip()]
    primary = [m for m in mods if m in PRIMARY_MODALITIES]
    if "PT" in primary:
        return sanitize_label(tracer) if tracer and sanitize_label(tracer) else "PT"
    if not primary:
        return Counter(mods).most_common(1)[0][0] if mods else "OT"
    if len(set(primary)) == 1:
        return primary[0]
    counts = Counter(m for m in primary if m != "OT")
    best = max(counts.values())
    return next(m for m in primary if counts.get(m) == best)


class LabelPool:
    """Labels already taken (archive + prearchive + queued here), compared case-insensitively."""

    def __init__(self, existing: Iterable[str] = ()) -> None:
        self._taken: set[str] = {label.lower() for label in existing if label}

    def __contains__(self, label: object) -> bool:
        return isinstance(label, str) and label.lower() in self._taken

    def add(self, label: str) -> None:
        """Reserve a label (e.g. when an upload is queued)."""
        if label:
            self._taken.add(label.lower())

    def discard(self, label: str) -> None:
        """Release a reservation (an upload removed from the queue before it started)."""
        self._taken.discard(label.lower())

    def default_session_label(self, subject_label: str, series_modalities: Sequence[str],
                              tracer: str | None = None, *, reserve: bool = True) -> str:
        label = default_session_label(subject_label, series_modalities, self, tracer=tracer)
        if reserve:
            self.add(label)
        return label

    def unique(self, label: str, *, reserve: bool = True) -> str:
        """``label`` itself if free, else with a collision suffix (see ``unique_label``)."""
        result = unique_label(label, self)
        if reserve:
            self.add(result)
        return result


def default_session_label(subject_label: str, series_modalities: Sequence[str],
                          existing: Iterable[str] | LabelPool, *, tracer: str | None = None) -> str:
    """``<subject>_<MOD>_<n>`` with the smallest free ``n`` in 1..99999."""
    pool = existing if isinstance(existing, LabelPool) else LabelPool(existing)
    subject = sanitize_label(subject_label.replace(" ", "_"))
    if not subject:
        raise ValueError("A session label needs a subject label first.")
    base = f"{subject}_{session_modality(series_modalities, tracer)}_"
    for n in range(1, MAX_INDEX + 1):
        if base + str(n) not in pool:
            return base + str(n)
    raise ValueError(f"Every label from {base}1 to {base}{MAX_INDEX} is already used.")


def unique_label(label: str, existing: Iterable[str] | LabelPool) -> str:
    """Resolve a collision: a trailing ``_<n>`` is incremented, otherwise ``_1``, ``_2``… added."""
    pool = existing if isinstance(existing, LabelPool) else LabelPool(existing)
    if label not in pool:
        return label
    match = _TRAILING_NUMBER.match(label)
    base, n = (match.group(1), int(match.group(2))) if match else (label + "_", 0)
    while True:
        n += 1
        candidate = f"{base}{n}"
        if candidate not in pool:
            return candidate
