"""Typed errors for everything that can go wrong talking to XNAT.

Each error carries the HTTP status (when there was one), the server's own message (extracted from
the ``<h3>`` of XNAT's HTML status pages) and ``user_message``: one sentence a person can act on.
``outcome_unknown`` marks the dangerous case — the request may or may not have been carried out
(connection lost or a gateway timeout *after* the body was sent) — which callers must reconcile
by looking at the server, never by blindly repeating a non-idempotent call.
"""

from __future__ import annotations

import html
import re

_H3 = re.compile(r"<h3>(.*?)</h3>", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")


def server_message(body: str, limit: int = 500) -> str:
    """The human part of an XNAT error body: ``<h3>`` text, else the page title, else plain text."""
    text = body or ""
    for pattern in (_H3, _TITLE):
        match = pattern.search(text)
        if match:
            return html.unescape(_TAGS.sub("", match.group(1))).strip()[:limit]
    if "<" in text and ">" in text:
        text = _TAGS.sub(" ", text)
    return " ".join(html.unescape(text).split())[:limit]


class XnatError(Exception):
    """Base of every XNAT failure."""

    def __init__(self, user_message: str, *, status: int | None = None, server_message: str = "",
                 url: str = "", outcome_unknown: bool = False) -> None:
        super().__init__(user_message if not server_message else f"{user_message} ({server_message})")
        self.user_message = user_message
        self.status = status
        self.server_message = server_message
        self.url = url
        self.outcome_unknown = outcome_unknown


class XnatAuthError(XnatError):
    """Wrong credentials, an expired session that could not be renewed, or a locked account."""


class XnatPermissionError(XnatError):
    """Authenticated, but not allowed (collaborator uploading, project not visible, 403)."""


class XnatNotFoundError(XnatError):
    """The project, subject, session or configuration does not exist (404)."""


class XnatConflictError(XnatError):
    """The server refused because of existing data (session exists, files already archived)."""


class XnatServerError(XnatError):
    """A 5xx or an unexpected answer from the server."""


class XnatConnectionError(XnatError):
    """No usable answer: DNS, refused connection, TLS failure, timeout, dropped connection, 502/504."""


class XnatUploadError(XnatError):
    """The import or commit did not produce what it must (no URI, wrong project, misrouted)."""


class XnatConcurrentSendError(XnatUploadError):
    """400 "Concurrent file sends of the same data is not supported.": an earlier request with
    these files (one the client gave up on after a 504 or a lost connection) is still running on
    the server. Wait until it has settled, then send again; never a permanent failure."""


class XnatCancelled(XnatError):
    """The user cancelled the transfer."""


class XnatVerificationError(XnatError):
    """The upload reached the server but what is stored does not match what was sent."""

    def __init__(self, user_message: str, details: list[str]) -> None:
        super().__init__(user_message, server_message="; ".join(details))
        self.details = details
