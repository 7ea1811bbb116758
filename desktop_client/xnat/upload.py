"""Import → commit → verify, with reconciliation, so an upload ends verified or clearly failed.

The primitives in ``XnatClient`` each do one HTTP call. This module strings them together with
the rules that keep a flaky network from producing a duplicate session or a false success:

* **Re-sending the import is safe** while the prearchive session is ``RECEIVING``: with
  ``rename=true`` every file gets a server name derived from its UIDs, so a second copy replaces
  the first, and ``prevent_auto_commit`` stops the server from archiving a half-received session.
  So a lost connection, a 5xx or a gateway timeout during the import → send the body again.
* **A commit is never blindly repeated.** After an unclear answer (connection lost, 5xx, 504)
  the server is asked what became of *our* prearchive entry: gone and the label archived ⇒ done;
  still there and ``CONFLICT``/``ERROR`` ⇒ the archive failed (a clear failure, even if an older
  session with that label exists); still there otherwise ⇒ commit again; gone and not archived ⇒
  failure. Looking at the archive alone would mistake a pre-existing session for success.
* **Success means verified**: per-scan file counts on the server equal what was sent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from desktop_client.xnat.client import XnatClient, XnatSessionExpired
from desktop_client.xnat.errors import (
    XnatCancelled, XnatConflictError, XnatConnectionError, XnatError, XnatPermissionError, XnatServerError,
    XnatUploadError, XnatVerificationError,
)
from desktop_client.xnat.models import CommitResult, Verification


_BUSY = frozenset({"ARCHIVING", "BUILDING", "QUEUED_ARCHIVING", "QUEUED_BUILDING", "MOVING"})


@dataclass(slots=True)
class UploadOutcome:
    """A verified upload: where it is, whether it was archived, and what the server holds."""

    uri: str
    archived: bool
    verification: Verification
    import_attempts: int
    commit_attempts: int


def upload_session(client: XnatClient, project_id: str, subject: str, session_label: str,
                   make_body: Callable[[], Iterable[bytes]], expected: Mapping[str, int], *,
                   expected_bytes: Mapping[str, int] | None = None, overwrite: str | None = "none",
                   visit: str | None = None, subtype: str | None = None, tracer: str | None = None,
                   modalities: Iterable[str] = (), progress: Callable[[int], None] | None = None,
                   cancel: Callable[[], bool] | None = None, attempts: int = 3,
                   pause: float = 1.0, allow_extra_files: bool = False,
                   archive_wait: float = 600.0, check_permission: bool = True) -> UploadOutcome:
    """Upload one session and return only once the server's content is verified.

    ``make_body()`` must return a fresh zip stream each time it is called (it is called again
    when the import has to be re-sent). ``expected`` maps scan ID (series number) → file count.
    ``archive_wait`` bounds how long an unclear commit is followed while the server reports the
    session as archiving (XNAT itself waits up to 600 s). Raises ``XnatCancelled``,
    ``XnatVerificationError`` or another ``XnatError`` with a user-facing sentence; never
    returns on a mismatch.
    """
    if check_permission and project_id not in {p.id for p in client.upload_projects()}:
        # XNAT would not refuse: it silently files the data in the admin-only "Unassigned"
        # prearchive. Refuse here instead, before anything is sent.
        raise XnatPermissionError(
            f"Your XNAT account cannot upload to project {project_id} (it does not exist, or you "
            f"are not an owner or member of it).")
    uri = ""
    import_attempts = 0
    while True:
        import_attempts += 1
        try:
            uri = client.import_zip(project_id, subject, session_label, make_body(),
                                    overwrite=overwrite, visit=visit, subtype=subtype,
                                    progress=progress, cancel=cancel)
            break
        except XnatSessionExpired:
            if import_attempts >= attempts:
                raise
        except (XnatConnectionError, XnatServerError):
            if import_attempts >= attempts:
                raise
            time.sleep(pause * import_attempts)

    modality_list = list(modalities)
    commit_attempts = 0
    result: CommitResult | None = None
    if uri.startswith("/data/archive/"):
        result = CommitResult(archived=True, uri=uri)
    while result is None:
        commit_attempts += 1
        try:
            result = client.commit(uri, tracer=tracer, modalities=modality_list)
        except (XnatConnectionError, XnatServerError, XnatConflictError) as exc:
            # 409 "session document locked": someone (maybe our earlier attempt) is archiving it.
            result = reconcile_commit(client, project_id, subject, session_label, uri, exc,
                                      archive_wait=archive_wait, poll=pause)
            if result is None:
                if commit_attempts >= attempts:
                    raise
                time.sleep(pause * commit_attempts)

    verification = client.verify_session(project_id, subject, session_label, expected,
                                         expected_bytes=expected_bytes,
                                         allow_extra_files=allow_extra_files)
    if not verification.ok:
        raise XnatVerificationError(
            f"Session {session_label} reached XNAT but does not hold what was sent.",
            verification.details)
    return UploadOutcome(uri=result.uri, archived=result.archived, verification=verification,
                         import_attempts=import_attempts, commit_attempts=commit_attempts)


def reconcile_commit(client: XnatClient, project_id: str, subject: str, session_label: str,
                     prearchive_uri: str, error: XnatError, *, archive_wait: float = 600.0,
                     poll: float = 1.0) -> CommitResult | None:
    """What did an unclear commit answer (``error``) mean? Ask the server about *our* entry.

    Returns the result when the session is archived; None when it is still waiting in the
    prearchive and the commit should simply be sent again; raises ``XnatUploadError`` when the
    archive failed (entry ``CONFLICT``/``ERROR``), the session vanished, or the server is still
    archiving after ``archive_wait`` seconds. Never concludes "archived" just because a session
    with that label exists: it may predate this upload.
    """
    deadline = time.monotonic() + archive_wait
    interval = min(5.0, max(0.05, poll))
    while True:
        entry = client.prearchive_entry(prearchive_uri)
        if entry is None or entry.status not in _BUSY or time.monotonic() >= deadline:
            break
        time.sleep(interval)
    if entry is not None and entry.status in _BUSY:
        raise XnatUploadError(
            f"XNAT is still archiving session {session_label} after {archive_wait:.0f} s; check "
            f"the project later before uploading it again.", status=error.status,
            server_message=error.server_message) from error
    if entry is None:
        where = client.find_session(project_id, subject, session_label)
        if where is not None and where.startswith("/data/archive/"):
            return CommitResult(archived=True, uri=where)
        raise XnatUploadError(
            f"After an unclear answer to the commit, session {session_label} is no longer on the "
            f"server; upload it again.", status=error.status, server_message=error.server_message) from error
    if entry.status in ("CONFLICT", "ERROR"):
        raise XnatUploadError(
            f"XNAT could not archive session {session_label}; it is waiting in the prearchive "
            f"(status {entry.status}). An administrator can see the cause there.",
            status=error.status, server_message=error.server_message) from error
    return None


def wait_until_settled(client: XnatClient, project_id: str, subject: str, session_label: str, *,
                       quiet: float = 10.0, poll: float = 2.0, limit: float = 900.0,
                       cancel: Callable[[], bool] | None = None) -> None:
    """Return once no earlier request is still writing into this session's prearchive entry.

    After a 504, a timeout or a connection lost after the body, XNAT may still be importing
    that request; sending the same files again now would overlap it ("Concurrent file sends",
    or two writers on one file). Settled means: the entry's ``lastmod`` and status have not
    changed for ``quiet`` seconds (XNAT touches ``lastmod`` for every file it stores), or there
    is no entry for that long. Raises ``XnatUploadError`` when it is still changing after
    ``limit`` seconds, ``XnatCancelled`` when ``cancel()`` says so.
    """
    start = time.monotonic()
    seen: object = object()
    since = start
    while True:
        entry = client.receiving_entry(project_id, subject, session_label)
        key = None if entry is None else (entry.status, entry.lastmod, entry.timestamp)
        now = time.monotonic()
        if key != seen:
            seen, since = key, now
        elif now - since >= quiet and (entry is None or entry.status not in _BUSY):
            return
        if now - start >= limit:
            raise XnatUploadError(f"XNAT is still receiving files for session {session_label} "
                                  f"after {limit:.0f} s; try again later.")
        if cancel is not None and cancel():
            raise XnatCancelled("The upload was cancelled.")
        time.sleep(poll)
