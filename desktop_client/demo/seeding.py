"""Everything random in the demo is derived from the seed, so one seed always gives the same bytes.

UIDs are hashed from a fixed root and (seed, role, indices) rather than drawn from a clock or a
random source, and dates are offsets from a fixed epoch chosen by the seed: a test can regenerate
a data set and compare it byte for byte.
"""

from __future__ import annotations

import datetime as _dt
import hashlib

import numpy as np
from pydicom.uid import UID, generate_uid

#: pydicom's registered organisation root; the suffix is a hash of the seed and the object's role.
UID_ROOT = "1.2.826.0.1.3680043.8.498."
_NAMESPACE = "xnat-desktop-demo"
_EPOCH = _dt.date(2019, 1, 7)


def demo_uid(seed: int, *parts: object) -> UID:
    """A valid (≤ 64 characters) UID that depends only on the seed and ``parts``."""
    return generate_uid(prefix=UID_ROOT, entropy_srcs=[_NAMESPACE, str(seed), *map(str, parts)])


def stable_int(seed: int, *parts: object) -> int:
    """A non-negative 64-bit integer derived from the seed and ``parts`` (for picking names etc.)."""
    text = "|".join([_NAMESPACE, str(seed), *map(str, parts)]).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")


def rng(seed: int, *parts: object) -> np.random.Generator:
    """A numpy generator private to one image so images do not depend on generation order."""
    return np.random.Generator(np.random.PCG64(stable_int(seed, "rng", *parts)))


def base_date(seed: int) -> _dt.date:
    """First study date of the data set: a weekday within ~4 years of a fixed epoch."""
    days = stable_int(seed, "base-date") % 1400
    day = _EPOCH + _dt.timedelta(days=days)
    return day - _dt.timedelta(days=max(0, day.weekday() - 4))  # Saturday/Sunday → Friday


def da(day: _dt.date) -> str:
    """DICOM DA value."""
    return day.strftime("%Y%m%d")


def pretty_date(day: _dt.date) -> str:
    """How a modality prints a date on screen (ISO form, the one most consoles use)."""
    return day.isoformat()
