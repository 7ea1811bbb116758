"""The characters an XNAT label may hold: the one rule the label tools, the planner and the XNAT
client all check, so a label one of them accepts is never refused by another.

The uploader's rule (the official client's) is stricter than the server's archive-time cleaning
(``labels.sanitize.server_clean``): labels that pass it are archived unchanged.
"""

from __future__ import annotations

import re

#: A whole label: letters, digits, ``_`` and ``-``.
LABEL = re.compile(r"^[A-Za-z0-9_-]+$")
#: Runs of characters a label may not hold (free text becomes a label by replacing each with ``_``).
NOT_LABEL = re.compile(r"[^A-Za-z0-9_-]+")
MAX_LABEL_LENGTH = 255
