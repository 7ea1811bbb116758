"""Which characters a label may hold, and how free text becomes a label.

Two rules exist and both matter:

* the uploader's rule (official client): a label is ``[A-Za-z0-9_-]+``; free text (a Patient
  Name, an Accession Number) becomes a label by replacing every *run* of other characters with a
  single ``_`` (``DOE^JOHN  Q`` → ``DOE_JOHN_Q``);
* the server's archive-time cleaning (``XnatImagesessiondata.cleanValue``), which maps each of
  a fixed set of characters to ``_`` one by one. Labels that pass the first rule are unchanged
  by the second, which is why the uploader enforces the stricter rule before sending.
"""

from __future__ import annotations

import re

from desktop_client.core.label_rule import LABEL as _ALLOWED, MAX_LABEL_LENGTH, NOT_LABEL as _RUNS

_SERVER_CLEAN = re.compile(r"[ `~@#$%^&*()+=\[\]{}|\\/?:;\"',.<>]")


def is_valid_label(text: str) -> bool:
    """True if XNAT will keep ``text`` exactly as a subject or session label."""
    return bool(_ALLOWED.match(text)) and len(text) <= MAX_LABEL_LENGTH


def sanitize_label(text: str) -> str:
    """Free text → label: runs of disallowed characters become one ``_``; "" stays "".

    Leading/trailing blanks are dropped first (DICOM pads values with spaces).
    """
    return _RUNS.sub("_", (text or "").strip())[:MAX_LABEL_LENGTH]


def server_clean(text: str) -> str:
    """The label XNAT will archive under when given ``text`` (its own character mapping)."""
    return _SERVER_CLEAN.sub("_", (text or "").strip())


def label_problem(text: str) -> str | None:
    """A sentence explaining why ``text`` is not a usable label, or None when it is fine."""
    if not text:
        return "The label is empty."
    if len(text) > MAX_LABEL_LENGTH:
        return f"The label is longer than {MAX_LABEL_LENGTH} characters."
    if not _ALLOWED.match(text):
        bad = sorted(set(_RUNS.findall(text)) - {""})
        shown = ", ".join(repr(c) for c in sorted({ch for run in bad for ch in run}))
        return f"Labels may only contain letters, digits, '-' and '_' (found {shown})."
    return None
