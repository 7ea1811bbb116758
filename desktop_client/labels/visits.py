"""``makeSessionLabel`` (XNAT's DE4 script function) and ``v##`` visit numbering.

The DicomEdit engine evaluates scripts; what it cannot know is which labels the project already
uses. This module supplies that (``existing_session_labels``) and the function itself, with the
semantics of dicomedit.md §17.4: the first run of ``#`` becomes the smallest non-negative
integer, zero-padded to the run's length, giving a label not already used; a blank format or one
without ``#`` gives ``""``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from desktop_client.xnat import XnatClient

_HASH_RUN = re.compile(r"#+")


def make_session_label(fmt: str, existing: Iterable[str]) -> str:
    """``foo###bar`` with ``{foo000bar, foo001bar}`` taken → ``foo002bar``."""
    if not fmt or not fmt.strip():
        return ""
    match = _HASH_RUN.search(fmt)
    if match is None:
        return ""
    taken = set(existing)
    width = len(match.group())
    n = 0
    while True:
        candidate = f"{fmt[:match.start()]}{n:0{width}d}{fmt[match.end():]}"
        if candidate not in taken:
            return candidate
        n += 1


def visit_label(subject_label: str, modality: str, existing: Iterable[str]) -> str:
    """The typical visit-numbered label ``<subject>_v##_<modality lower-case>``."""
    return make_session_label(f"{subject_label}_v##_{modality.lower()}", existing)


def existing_session_labels(client: "XnatClient", project_id: str,
                            queued: Iterable[str] = ()) -> set[str]:
    """Every label ``makeSessionLabel`` must avoid: archive + prearchive + queued locally."""
    return client.session_labels(project_id) | set(queued)
