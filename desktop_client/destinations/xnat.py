"""XNAT destination: DICOM-zip imports sized to the server's pace, one commit, then verification.

A unit (the crash-safe resume granularity: a scan or a chunk of one) goes out as one or more
import requests whose size follows how fast the server answers (``xnat/requests_sizing.py``),
so no request comes near a proxy's read timeout; a 504, a lost connection or XNAT's "Concurrent
file sends" answer is settled by watching the session's prearchive entry until the earlier
request has finished, and only then is that request sent again (issue 17 §1).

Follows the reference recipe (xnat-rest-api.md §4.10) through ``desktop_client.xnat``:
``import_zip`` with ``rename=true``, ``prevent_anon=true`` (the client already anonymized),
``prevent_auto_commit=true`` and ``SOURCE=uploader``, so every unit of a session lands in the same
``RECEIVING`` prearchive session and nothing is archived before the commit. The project's setting
decides prearchive or archive at commit time (301 = archived, 200 = stays in the prearchive).

Crash and fault safety:
* a unit is re-sent whole after any interruption; ``rename=true`` names each stored file from its
  UIDs, so a re-sent object replaces the earlier copy instead of duplicating it (§6), and never
  while an earlier send of it may still be running on the server;
* every prearchive URI the server returned is persisted before the unit is marked done, so a
  restarted transfer commits the right session;
* a commit is never blindly repeated: after an unclear answer the server is asked where the
  session is (archived ⇒ done; still in the prearchive ⇒ commit again);
* verification compares the server's per-scan file counts with what was sent.

Existing sessions: a label already used in the project is refused before anything is sent,
unless the user chose to merge (``overwrite="append"``, §4.4). A merge is only into an *archived*
session of the *same subject* — anything else would fail at commit after the upload (a
prearchive entry is not merged into, and XNAT refuses to move a session to another subject).
"""

from __future__ import annotations

import time
from typing import Iterator

from desktop_client.destinations.base import (
    Cancelled,
    Destination,
    DestinationError,
    Expected,
    Finish,
    SendContext,
    UnitInfo,
    Verification,
)
from desktop_client.destinations.model import MERGE, DestinationKind, ObjectOutcome
from desktop_client.scripts import ScriptSource, server_scripts
from desktop_client.xnat import (
    XnatAuthError,
    XnatCancelled,
    XnatClient,
    XnatConcurrentSendError,
    XnatConnectionError,
    XnatError,
    XnatServerError,
    XnatSessionExpired,
    XnatUploadError,
    reconcile_commit,
    wait_until_settled,
)
from desktop_client.xnat.requests_sizing import Limits, RequestSizer
from desktop_client.xnat.zipstream import zip_stream


def _timed_out(exc: XnatError) -> bool:
    """A gateway timeout, or the connection lost once the body was out: the server may still be
    working on the request."""
    return isinstance(exc, XnatConnectionError) and (exc.status == 504 or exc.outcome_unknown)


def _pieces(batch: list[tuple[str, bytes]], limits: Limits) -> Iterator[list[tuple[str, bytes]]]:
    piece: list[tuple[str, bytes]] = []
    size = 0
    for name, data in batch:
        if piece and (len(piece) >= limits.files or size + len(data) > limits.bytes):
            yield piece
            piece, size = [], 0
        piece.append((name, data))
        size += len(data)
    if piece:
        yield piece


def _wrap(what: str, exc: XnatError) -> DestinationError:
    """XNAT errors → destination errors with the right retry semantics."""
    message = f"{what}: {exc}"
    if isinstance(exc, XnatSessionExpired):
        return DestinationError(message, retriable=True)  # the client has already logged in again
    if isinstance(exc, XnatAuthError):
        return DestinationError(message, relogin=True)
    if isinstance(exc, (XnatConnectionError, XnatServerError)):
        return DestinationError(message, retriable=True)
    return DestinationError(message)


class XnatDestination(Destination):
    kind = DestinationKind.XNAT

    def __init__(self, base_url: str, username: str, password: str | None, *,
                 verify_tls: bool = True, allow_http: bool = False) -> None:
        if not username:
            raise DestinationError("an XNAT upload needs a user name")
        if password is None:
            raise DestinationError(f"no password for {username} on {base_url} (keyring, "
                                   "XNAT_PASSWORD or prompt)")
        self.base_url = base_url.rstrip("/")
        try:
            self.client = XnatClient(base_url, username, password, verify=verify_tls,
                                     allow_insecure=not verify_tls, allow_http=allow_http)
        except XnatError as exc:  # plain http refused, or an address that cannot be one
            raise DestinationError(exc.user_message) from None
        self.tracer = ""
        self.modalities: tuple[str, ...] = ()
        #: request sizes that follow the server's speed (a transfer's units share what it learnt)
        self.sizer = RequestSizer()
        #: unclear answers (504, lost connection, concurrent send) settled and re-sent per request
        self.unclear_attempts = 4
        self.settle_quiet, self.settle_poll = 10.0, 2.0

    def describe(self) -> str:
        return f"XNAT {self.base_url} as {self.client.username}"

    def open(self, ctx: SendContext) -> None:
        try:
            self.client.login()
            self.client.project(ctx.project)
            # "sending" is saved before the first import: after a crash, a session found on the
            # server may be this transfer's own, so only a transfer that never sent checks.
            existing = self._existing(ctx) if not ctx.state.get("sending") else None
        except XnatError as exc:
            raise _wrap(f"cannot use project {ctx.project} on {self.base_url}", exc) from None
        if existing is None:
            return
        uri, subject = existing
        label, project = ctx.session_label, ctx.project
        where = "archive" if uri.startswith("/data/archive/") else "prearchive"
        if ctx.overwrite != MERGE:
            # Without an explicit merge, never add to (or later mistake for ours) a session that
            # was already there.
            raise DestinationError(f"session {label} already exists in the {where} of project "
                                   f"{project}; choose another session label, or choose to add "
                                   "these scans to it (merge)")
        if where == "prearchive":
            raise DestinationError(f"session {label} of project {project} is waiting in the "
                                   "prearchive; archive (or delete) it on the server before adding "
                                   "scans to it")
        if subject.lower() != ctx.subject.lower():  # XNAT compares labels case-insensitively
            raise DestinationError(f"session {label} of project {project} belongs to subject "
                                   f"{subject}, not {ctx.subject}; choose subject {subject} to add "
                                   "scans to it")
        ctx.state["merged_into"] = uri
        ctx.save_state()

    def _existing(self, ctx: SendContext) -> tuple[str, str] | None:
        """``(uri, subject label)`` of a session already using the label anywhere in the project
        (labels are unique per project, whichever subject holds them)."""
        uri = self.client.find_session(ctx.project, ctx.subject, ctx.session_label)
        if uri is not None:
            return uri, ctx.subject
        for experiment in self.client.experiments(ctx.project):
            if experiment.label == ctx.session_label:
                return (f"/data/archive/projects/{ctx.project}/subjects/{experiment.subject_label}"
                        f"/experiments/{experiment.label}", experiment.subject_label)
        return None

    def relogin(self) -> None:
        try:
            self.client.login()
        except XnatError as exc:
            raise _wrap("logging in again", exc) from None

    def scripts(self, project: str) -> list[ScriptSource]:
        try:
            return server_scripts(*self.client.anonymization_scripts(project))
        except XnatError as exc:
            raise _wrap("fetching the anonymization scripts", exc) from None

    def send_unit(self, ctx: SendContext, unit: UnitInfo, objects: Iterator[ObjectOutcome]) -> None:
        """The unit as one or more import requests sized by ``self.sizer``.

        The unit stays the resume granularity (it is marked done only after its last request),
        while each request stays well under a proxy's read timeout. Every request carries
        ``Content-Length`` (some proxies refuse chunked bodies with 411).
        """
        known: dict[str, str] = ctx.state.setdefault("scan_uids", {})
        if not ctx.state.get("sending"):
            ctx.state["sending"] = True
            ctx.save_state()
        batch: list[tuple[str, bytes]] = []
        size = 0
        for obj in objects:
            # Verification matches on Series Instance UID, because XNAT may rename the scan
            # (1-MR1); on the UID the server stores: the one after the scripts, which may hash it.
            series = obj.series_instance_uid or unit.series_uid
            if series and known.get(unit.scan_id) != series:
                known[unit.scan_id] = series
                ctx.save_state()
            batch.append((f"{unit.scan_id}/{obj.sop_instance_uid}.dcm", obj.data))
            size += len(obj.data)
            limits = self.sizer.limits()
            if len(batch) >= limits.files or size >= limits.bytes:
                self._send_request(ctx, unit, batch, size)
                batch, size = [], 0
        if batch:
            self._send_request(ctx, unit, batch, size)

    def _send_request(self, ctx: SendContext, unit: UnitInfo, batch: list[tuple[str, bytes]],
                      size: int, unclear: int = 0) -> None:
        """One import request; after an unclear answer, settle and send it again in pieces of
        the (now smaller) request size."""
        chunks = list(zip_stream(batch))  # stored entries: the payloads are the objects' bytes
        started = time.monotonic()
        try:
            try:
                uri = self._import(ctx, chunks)
            except XnatSessionExpired:
                # Refused before anything was stored, and the client has logged in again: the
                # body is in memory, so it simply goes again.
                uri = self._import(ctx, chunks)
        except XnatCancelled:
            raise Cancelled() from None
        except XnatError as exc:
            if ctx.cancel.is_set():
                raise Cancelled() from None
            if not (isinstance(exc, XnatConcurrentSendError) or _timed_out(exc)):
                raise _wrap(f"uploading scan {unit.scan_id}", exc) from None
            # XNAT may still be importing what we sent: nothing goes again (here, or as the
            # engine's retry of the unit) before that request has finished on the server, and
            # it goes again in smaller requests.
            del chunks
            self.sizer.timed_out()
            self._settle(ctx)
            if unclear + 1 >= self.unclear_attempts:
                raise _wrap(f"uploading scan {unit.scan_id}", exc) from None
            for piece in _pieces(batch, self.sizer.limits()):
                self._send_request(ctx, unit, piece, sum(len(d) for _, d in piece), unclear + 1)
            return
        except ValueError as exc:  # labels the server would refuse
            raise DestinationError(str(exc)) from None
        self.sizer.record(time.monotonic() - started, len(batch), size)
        uris: list[str] = ctx.state.setdefault("prearchive_uris", [])
        if uri not in uris:
            uris.append(uri)
            ctx.state["session_uri"] = uri
            ctx.save_state()

    def _import(self, ctx: SendContext, chunks: list[bytes]) -> str:
        return self.client.import_zip(ctx.project, ctx.subject, ctx.session_label, iter(chunks),
                                      overwrite=ctx.overwrite, cancel=ctx.cancel.is_set,
                                      content_length=sum(len(c) for c in chunks))

    def _settle(self, ctx: SendContext) -> None:
        try:
            wait_until_settled(self.client, ctx.project, ctx.subject, ctx.session_label,
                               quiet=self.settle_quiet, poll=self.settle_poll,
                               cancel=ctx.cancel.is_set)
        except XnatCancelled:
            raise Cancelled() from None
        except XnatError as exc:
            raise _wrap("waiting for XNAT to finish an earlier request", exc) from None

    def discard(self, ctx: SendContext) -> bool:
        """Delete the uncommitted prearchive session(s) of a cancelled transfer."""
        pending = [u for u in ctx.state.get("prearchive_uris", [])
                   if u.startswith("/data/prearchive/") and u not in ctx.state.get("committed", [])]
        if ctx.state.get("committed") or ctx.state.get("final_uri"):
            return False  # already committed: that data is the user's session now
        for uri in pending:
            try:
                self.client.delete_prearchive(uri)
            except XnatError as exc:
                if getattr(exc, "status", None) != 404:
                    raise _wrap("removing the partial upload", exc) from None
        ctx.state.clear()
        ctx.save_state()
        return True

    def finish(self, ctx: SendContext) -> Finish:
        if ctx.state.get("final_uri"):
            return self._finish(ctx, ctx.state["final_uri"], bool(ctx.state.get("archived")))
        pending: list[str] = [u for u in ctx.state.get("prearchive_uris", [])
                              if u not in ctx.state.get("committed", [])]
        result_uri, archived = ctx.state.get("session_uri", ""), bool(ctx.state.get("archived"))
        for uri in pending:
            if uri.startswith("/data/archive/"):
                result_uri, archived = uri, True
            else:
                result_uri, archived = self._commit(ctx, uri)
            ctx.state.setdefault("committed", []).append(uri)
            ctx.save_state()
        if not result_uri:
            raise DestinationError("nothing was uploaded, so there is no session to commit")
        if not archived and result_uri.startswith("/data/prearchive/"):
            result_uri, archived = self._separated(ctx, result_uri)
        ctx.state.update(final_uri=result_uri, archived=archived)
        ctx.save_state()
        return self._finish(ctx, result_uri, archived)

    def _separated(self, ctx: SendContext, uri: str) -> tuple[str, bool]:
        """Where the upload is when its prearchive session is gone after the commit: XNAT
        separated a PET/MR session into two (``<label>_MR``, ``<label>_PET``). The session the
        receipt and link name is the first of them that holds this upload's series."""
        uids = {uid: 0 for uid in ctx.state.get("scan_uids", {}).values() if uid}
        try:
            if not uids or self.client.prearchive_entry(uri) is not None:
                return uri, False
            found = self.client.verify_session(ctx.project, ctx.subject, ctx.session_label, {},
                                               allow_extra_files=True, expected_by_uid=uids)
        except XnatError as exc:
            raise _wrap("looking for the committed session", exc) from None
        if not found.sessions:
            return uri, False
        return found.sessions[0], found.sessions[0].startswith("/data/archive/")

    def _commit(self, ctx: SendContext, uri: str) -> tuple[str, bool]:
        try:
            result = self.client.commit(uri, tracer=ctx.tracer or None, modalities=ctx.modalities)
            return result.uri, result.archived
        except XnatError as exc:
            # Unclear answer: ask the server about *this upload's* prearchive entry instead of
            # repeating blindly. A session with the same label in the archive is not proof: it
            # may predate this upload (a merge whose archiving failed).
            try:
                settled = reconcile_commit(self.client, ctx.project, ctx.subject, ctx.session_label, uri, exc)
            except XnatUploadError as failure:
                raise DestinationError(f"committing the session: {failure}") from None
            except XnatError:
                raise _wrap("committing the session", exc) from None
            if settled is not None:
                return settled.uri, settled.archived
            raise _wrap("committing the session", exc) from None  # still in the prearchive: commit again

    def _finish(self, ctx: SendContext, uri: str, archived: bool) -> Finish:
        if archived:
            parts = uri.rstrip("/").split("/")  # /data/archive/projects/P/subjects/S/experiments/E
            label = parts[8] if len(parts) == 9 else ctx.session_label  # E_MR when XNAT split it
            link = (f"{self.base_url}/data/archive/projects/{ctx.project}/subjects/{ctx.subject}"
                    f"/experiments/{label}?format=html")
        else:
            parts = uri.rstrip("/").split("/")  # /data/prearchive/projects/P/TS/FOLDER
            link = (f"{self.base_url}/app/action/LoadImageData/project/{ctx.project}"
                    f"/timestamp/{parts[-2]}/folder/{parts[-1]}") if len(parts) >= 3 else ""
        return Finish(uri=uri, link=link, archived=archived)

    def verify(self, ctx: SendContext, expected: Expected) -> Verification:
        counts = {scan_id: len(objects) for scan_id, objects in expected.items()}
        uids = ctx.state.get("scan_uids", {})
        by_uid = ({uids[sid]: n for sid, n in counts.items()}
                  if all(uids.get(sid) for sid in counts) else None)
        final = str(ctx.state.get("final_uri") or "")
        # Left in the prearchive (a merge there waits beside the archived session it joins).
        waiting = final if final.startswith("/data/prearchive/") else None
        try:
            # A merged session also holds the scans it had before.
            result = self.client.verify_session(ctx.project, ctx.subject, ctx.session_label, counts,
                                                allow_extra_files=bool(ctx.state.get("merged_into")),
                                                expected_by_uid=by_uid, prearchive_uri=waiting)
        except XnatError as exc:
            raise _wrap("verifying the session", exc) from None
        where = "archive" if ctx.state.get("archived") else "prearchive"
        if result.sessions:  # XNAT separated the PET/MR session: say where the scans went
            where = "sessions XNAT split it into: " + ", ".join(
                u.rstrip("/").rsplit("/", 1)[-1] for u in result.sessions)
        details = "; ".join(result.details) if result.details else (
            f"{sum(counts.values())} files in {len(counts)} scans confirmed in the {where}")
        return Verification(result.ok, "XNAT file listing of every scan", details, dict(result.found))

    def close(self) -> None:
        try:
            self.client.close()
        except XnatError:
            pass
