"""How much one object may cost in memory before it is refused instead of read or decoded.

Why a budget: a header is cheap to forge. A 1 MB zip can hold a member that inflates to 1 GiB, and
a 200-byte file can declare 65,535 × 65,535 × 1,000 frames; reading or decoding those as asked
drove the process to gigabytes (and, on a smaller machine, into the OOM killer, taking every
other object of the batch with it). Each such object is refused with a reason before any
allocation, and the rest of the batch goes on.

The default is an eighth of the physical memory, at least 512 MiB and at most 2 GiB: enough for
long real cines and enhanced multi-frame objects, and — since redaction holds the input, the
output and a few frames at once — far below what would endanger the machine.
``XNAT_UPLOADER_MAX_OBJECT_MB`` overrides it (tests and small machines).
"""

from __future__ import annotations

import os

MIB = 1024 * 1024
_FLOOR = 512 * MIB
_CEILING = 2048 * MIB
ENV = "XNAT_UPLOADER_MAX_OBJECT_MB"


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return 4 * _CEILING


def object_budget() -> int:
    """Bytes one object (its stored size, or its decoded pixel data) may take in memory."""
    override = os.environ.get(ENV, "").strip()
    if override:
        try:
            value = int(float(override) * MIB)
        except ValueError:
            value = 0
        if value > 0:
            return value
    return max(_FLOOR, min(_CEILING, _physical_memory() // 8))


def describe(n: int) -> str:
    """Bytes for a reason sentence: "1.0 GiB", "300 MiB"."""
    if n >= 1024 * MIB:
        return f"{n / (1024 * MIB):.1f} GiB"
    return f"{max(1, round(n / MIB))} MiB"


def too_large_reason(what: str, size: int) -> str | None:
    """The refusal sentence when ``size`` bytes of ``what`` exceed the budget, else None."""
    budget = object_budget()
    if size <= budget:
        return None
    return (f"{what} would take {describe(size)} of memory, more than the {describe(budget)} allowed "
            f"for one object (set {ENV} to raise it)")
