"""Runs one transfer: units through the pipeline into a destination, then finish, verify, receipt.

One call of :func:`run_transfer` is one attempt. It resumes from the queue database: units already
``done`` are skipped, everything else is sent whole (see ``store`` for why that is crash safe).
CPU work (reading, scripts, redaction, encoding, MD5) runs in a process pool shared by all
transfers, with a bounded window of objects in flight per unit so memory does not grow with the
session; the destination consumes the results in order while later ones are being prepared.

Failure policy:
* an object a script rejects is skipped and listed;
* an object whose anonymization or redaction failed (or could not be verified) is never sent, and
  its scan is marked failed with the reason; other scans go on, but the session is not committed
  so nothing partial becomes final — the user excludes the scan or fixes it and restarts;
* destination errors marked retriable are retried with exponential backoff up to a maximum
  (after a re-login when the session expired); anything else fails the transfer with its message.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, TypeVar

from desktop_client.core import privacy
from desktop_client.core.coverage import Pick, instances_to_search
from desktop_client.core.errors import UploaderError
from desktop_client.core.sop_classes import is_image_storage
from desktop_client.destinations.base import (
    Cancelled,
    Destination,
    DestinationError,
    Expected,
    SendContext,
    UnitInfo,
    Verification,
)
from desktop_client.scanning.model import Instance
from desktop_client.transfer.pipeline import (
    Applicator,
    ObjectJob,
    ObjectOutcome,
    ObjectStatus,
    needs_single_applicator,
    process_in_worker,
    script_checksum,
)
from desktop_client.transfer.receipt import PAINTED_EVENT, RECHECK_EVENT, build_manifest
from desktop_client.transfer.spec import (
    EventKind,
    LogLevel,
    RecordStatus,
    ScriptSource,
    State,
    StopReason,
    scan_ids,
    script_variables,
)
from desktop_client.transfer.spool import Spool
from desktop_client.transfer.store import ObjectRow, QueueStore, UnitRow

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class TransferEvent:
    """A progress or state event (sent from a background thread; copy what you need)."""

    transfer_id: str
    kind: EventKind
    state: State
    files_done: int = 0
    files_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    rate: float = 0.0
    series_uid: str = ""
    message: str = ""


@dataclass(slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))


@dataclass(slots=True)
class Controls:
    """How the queue talks to a running attempt: set ``stop`` with a reason to interrupt it."""

    stop: threading.Event = field(default_factory=threading.Event)
    reason: StopReason | None = None

    def request(self, reason: StopReason) -> None:
        self.reason = reason
        self.stop.set()


class TransferFailed(UploaderError):
    """The transfer cannot go on (a recorded script no longer compiles...): the message is the
    reason the transfer is marked failed with."""


class _Interrupted(Exception):
    def __init__(self, reason: StopReason | None) -> None:
        super().__init__(reason or "")
        self.reason = reason


def _source_ref(instance: Instance) -> str:
    loc = instance.location
    if privacy.is_unlocated(loc.path):
        return loc.path[len(privacy.UNLOCATED):]
    return privacy.BOOK.ref(loc.path, loc.member, instance.size)


@dataclass(slots=True)
class _Prepared:
    """A unit whose objects are all processed and waiting in a spool."""

    info: UnitInfo
    label: str
    spool: Spool
    records: list[ObjectRow]
    sizes: dict[str, int]


def expected_objects(objects: Iterable[ObjectRow]) -> Expected:
    expected: Expected = {}
    for o in objects:
        if o.status == RecordStatus.SENT:
            expected.setdefault(o.scan_id, {})[o.sop_instance_uid] = o.md5
    return expected


class TransferRun:
    """One attempt at one transfer (see module doc)."""

    def __init__(self, store: QueueStore, transfer_id: str, destination: Destination,
                 pool: Executor | None, workers: int, controls: Controls,
                 emit: Callable[[TransferEvent], None], retry: RetryPolicy,
                 write_receipts: Callable[[str, State], object]) -> None:
        self.store = store
        self.id = transfer_id
        self.dest = destination
        self.pool = pool
        self.window = max(2, workers * 3)
        self.controls = controls
        self.emit = emit
        self.retry = retry
        self.write_receipts = write_receipts
        #: scans whose widened boxes were logged already (see ``PAINTED_EVENT``)
        self._widened: set[str] = set()
        row = store.get(transfer_id)
        self.spec = row.spec
        self.files_total = row.files_total
        self.bytes_total = row.bytes_total
        self.files_done = 0
        self.bytes_done = 0
        self._last_emit = 0.0
        self._rate_start = time.monotonic()
        self._rate_bytes = 0
        self._picks: dict[str, dict[int, Pick]] = {}
        self.ctx = SendContext(transfer_id, self.spec.project, self.spec.subject,
                               self.spec.session_label, self.spec.session.study_instance_uid,
                               self.spec.overwrite, self.spec.variables.get("tracer", ""),
                               tuple(self.spec.session.modalities), dict(row.dest_state),
                               self._save_state, controls.stop)

    # ---- helpers -----------------------------------------------------------------------------

    def _save_state(self) -> None:
        self.store.update(self.id, dest_state=self.ctx.state,
                          session_uri=str(self.ctx.state.get("session_uri", "")))

    def log(self, level: LogLevel, event: str, message: str, **details: object) -> None:
        self.store.log(self.id, level, event, message, dict(details))
        self.emit(TransferEvent(self.id, EventKind.LOG, State.RUNNING, message=message))

    def _progress(self, series_uid: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_emit < 0.1:
            return
        self._last_emit = now
        elapsed = now - self._rate_start
        rate = self._rate_bytes / elapsed if elapsed > 0 else 0.0
        self.emit(TransferEvent(self.id, EventKind.PROGRESS, State.RUNNING, self.files_done,
                                self.files_total, self.bytes_done, self.bytes_total, rate,
                                series_uid))

    def _check_stop(self) -> None:
        if self.controls.stop.is_set():
            raise _Interrupted(self.controls.reason)

    def _with_retries(self, what: str, action: Callable[[], _T]) -> _T:
        attempt = 0
        while True:
            self._check_stop()
            attempt += 1
            try:
                return action()
            except DestinationError as exc:
                if not self._retry_after(what, exc, attempt):
                    raise

    def _retry_after(self, what: str, exc: DestinationError, attempt: int) -> bool:
        """The one retry policy of a transfer's steps: False when ``exc`` is final (not
        retriable, or the attempts are used up); else log it, log in again when the session
        expired, wait the back-off and return True. Raises _Interrupted when the user stops
        during the wait."""
        if not exc.retriable or attempt >= self.retry.max_attempts:
            return False
        self.log(LogLevel.WARNING, "retry", f"{what} failed (attempt {attempt}): {exc}; retrying")
        if exc.relogin:
            try:
                self.dest.relogin()
            except DestinationError as login_exc:  # the next attempt says whether it matters
                self.log(LogLevel.WARNING, "relogin", f"re-login failed: {login_exc}")
        if self.controls.stop.wait(self.retry.delay(attempt)):
            raise _Interrupted(self.controls.reason) from None
        return True

    # ---- main --------------------------------------------------------------------------------

    def run(self) -> State:
        """Run the attempt to the end; returns the transfer's new state (already stored)."""
        store = self.store
        started = store.get(self.id).started or time.time()
        store.update(self.id, state=State.RUNNING, started=started, error="",
                     attempts=store.get(self.id).attempts + 1)
        self.emit(TransferEvent(self.id, EventKind.STATE, State.RUNNING, 0, self.files_total, 0,
                                self.bytes_total))
        try:
            return self._run()
        except _Interrupted as exc:
            return self._interrupted(exc.reason)
        except (DestinationError, TransferFailed) as exc:
            return self._fail(str(exc))
        finally:
            self.dest.close()

    def _run(self) -> State:
        self.log(LogLevel.INFO, "start", f"sending to {self.dest.describe()}")
        self._with_retries("connecting", lambda: self.dest.open(self.ctx))
        scripts = self._scripts()
        units = self.store.units(self.id)
        self.files_done = self.store.files_done(self.id)
        self.bytes_done = sum(u.bytes for u in units if u.state is State.DONE)
        self._progress("", force=True)
        ids = scan_ids(self.spec)
        inline = (Applicator(scripts, self._lookup_text())
                  if (self.pool is None or needs_single_applicator(scripts)) else None)
        if inline is not None and self.pool is not None:
            self.log(LogLevel.INFO, "serial", "a script keeps tables across objects (mapUID/lookup):"
                     " objects are anonymized in order by one applicator")
        failed_units = [u.error for u in units if u.state is State.FAILED]
        todo = [u for u in units if u.state not in (State.DONE, State.FAILED)]
        failed_units += self._send_units(todo, ids, scripts, inline)
        if failed_units:
            return self._fail("; ".join(failed_units))
        self.ctx.final_units = {u.idx for u in self.store.units(self.id, with_files=False)
                                if u.state is State.DONE}
        finish = self._with_retries("committing the session", lambda: self.dest.finish(self.ctx))
        self.ctx.state.update(session_uri=finish.uri, archived=finish.archived)
        self._save_state()
        self.store.update(self.id, link=finish.link)
        # The address names the subject and session (maybe patient data): it is in the status
        # and the receipt, not in the log.
        self.log(LogLevel.INFO, "finish", "session stored", archived=finish.archived)
        if type(self.dest).record is not Destination.record:
            # The manifest lists every file: built only for destinations that keep one.
            self.dest.record(self.ctx, build_manifest(self.store, self.id))
        expected = expected_objects(self.store.objects(self.id, status=RecordStatus.SENT))
        verification: Verification = self._with_retries(
            "verifying", lambda: self.dest.verify(self.ctx, expected))
        self.store.update(self.id, verification={"ok": verification.ok, "method": verification.method,
                                                 "details": verification.details,
                                                 "found": verification.found,
                                                 "state": verification.state})
        self.log(LogLevel.INFO if verification.ok else LogLevel.ERROR, "verify", verification.details,
                 method=verification.method, found=verification.found)
        if not verification.ok:
            return self._fail(f"verification failed: {verification.details}")
        self.store.update(self.id, finished=time.time(), error="")
        self.write_receipts(self.id, State.DONE)
        self.store.update(self.id, state=State.DONE)
        self.emit(TransferEvent(self.id, EventKind.STATE, State.DONE, self.files_done, self.files_total,
                                self.bytes_total, self.bytes_total))
        return State.DONE

    def _scripts(self) -> list[ScriptSource]:
        """The scripts of this transfer: recorded on the first attempt, reused on every later one
        (TransferFailed when they cannot be used)."""
        row = self.store.get(self.id)
        if row.scripts is None:
            sources: list[ScriptSource]
            if self.spec.scripts is not None:
                sources = list(self.spec.scripts)
            else:
                sources = self._with_retries(
                    "fetching anonymization scripts", lambda: self.dest.scripts(self.spec.project))
            sources = list(self.spec.prelude) + list(sources)
            # The queue's record: the script as plan files hold it, plus its checksum for receipts.
            recorded = [s.to_json() | {"sha256": script_checksum(s.text)} for s in sources if s.text.strip()]
            self.store.update(self.id, scripts=recorded)
            for s in recorded:
                self.log(LogLevel.INFO, "script", f"{s['name']} script recorded", sha256=s["sha256"])
        else:
            recorded = row.scripts
        scripts = [ScriptSource.from_json(s) for s in recorded]
        try:
            Applicator(scripts, self._lookup_text())
        except Exception as exc:
            raise TransferFailed(f"anonymization script cannot be used: {exc}") from None
        return scripts

    def _lookup_text(self) -> str:
        table = self.spec.lookup_table
        return table.text if table is not None else ""

    def _jobs(self, unit: UnitRow, members: list[Instance], scan_id: str,
              scripts: list[ScriptSource], spool: Spool | None) -> list[ObjectJob]:
        """One job per member; with ``spool``, each names the file its worker writes the object to."""
        edits = self.spec.choice(unit.series_uid).rectangles
        variables = tuple(sorted(script_variables(self.spec).items()))
        lookup = self._lookup_text()
        key = f"{self.id}:{script_checksum(repr(scripts) + lookup)}"
        comment = self.dest.routing_comment(self.ctx)
        picks = self._recheck_picks(unit.series_uid)
        accepted = self.spec.choice(unit.series_uid).accepted_as_is
        private = self.spec.choice(unit.series_uid).private_text
        private_check = private is not None and private.verify
        jobs = []
        for n, (index, m) in enumerate(zip(unit.files, members)):
            pick = picks.get(index)
            jobs.append(ObjectJob(key, tuple(scripts), variables, tuple(edits), m.location, unit.series_uid,
                                  scan_id, comment, lookup, spool.object_path(n) if spool is not None else "",
                                  recheck=pick is not None,
                                  recheck_frames=pick.frames if pick is not None else (),
                                  recheck_temporal=pick.temporal if pick is not None else False,
                                  accepted_as_is=accepted, private_check=private_check))
        return jobs

    def _recheck_picks(self, series_uid: str) -> dict[int, Pick]:
        """The scan's objects whose redacted output is searched again for visible text.

        The coverage policy of the text finder (``core.coverage``), over the whole scan's
        instances in queue order, for image objects only; computed once per scan.
        """
        cached = self._picks.get(series_uid)
        if cached is None:
            count = self.store.scan_files(self.id).get(series_uid, 0)
            instances = self.store.instances(self.id, series_uid, range(count))
            cached = {}
            for pick in instances_to_search(instances):
                if is_image_storage(instances[pick.index].sop_class_uid):
                    cached[pick.index] = pick
            self._picks[series_uid] = cached
        return cached

    def _outcomes(self, jobs: list[ObjectJob], inline: Applicator | None) -> Iterator[ObjectOutcome]:
        """Results in order, with at most ``window`` objects in flight (bounded memory)."""
        if inline is not None:
            for job in jobs:
                yield inline.process(job)
            return
        assert self.pool is not None
        pending: deque[Future[ObjectOutcome]] = deque()
        it = iter(jobs)
        try:
            for job in it:
                pending.append(self.pool.submit(process_in_worker, job))
                if len(pending) >= self.window:
                    break
            while pending:
                outcome = pending.popleft().result()
                nxt = next(it, None)
                if nxt is not None:
                    pending.append(self.pool.submit(process_in_worker, nxt))
                yield outcome
        finally:
            for f in pending:
                f.cancel()

    def _send_units(self, todo: list[UnitRow], ids: dict[str, str],
                    scripts: list[ScriptSource], inline: Applicator | None) -> list[str]:
        """Prepare unit N+1 (in the pool) while unit N is being sent; returns failure reasons."""
        failures: list[str] = []
        if not todo:
            return failures
        abort = threading.Event()
        prep = ThreadPoolExecutor(1, thread_name_prefix=f"prepare-{self.id}")
        upcoming: Future[_Prepared] | None = prep.submit(
            self._prepare, todo[0], ids[todo[0].series_uid], scripts, inline, abort)
        try:
            for i, unit in enumerate(todo):
                assert upcoming is not None
                prepared = upcoming.result()
                upcoming = None
                if i + 1 < len(todo):
                    nxt = todo[i + 1]
                    upcoming = prep.submit(self._prepare, nxt, ids[nxt.series_uid], scripts,
                                           inline, abort)
                try:
                    error = self._send_unit(unit, prepared)
                finally:
                    prepared.spool.close()
                if error:
                    failures.append(error)
        finally:
            abort.set()
            if upcoming is not None:
                try:
                    upcoming.result().spool.close()
                except BaseException:  # the preparation was interrupted: nothing to release
                    pass
            prep.shutdown(wait=True)
        return failures

    def _prepare(self, unit: UnitRow, scan_id: str, scripts: list[ScriptSource],
                 inline: Applicator | None, abort: threading.Event) -> "_Prepared":
        """Run every object of the unit through the pipeline into a spool (nothing sent yet)."""
        scan = self.spec.session.scans[unit.series_uid]
        label = f"scan {scan_id}" + (f" ({scan.series_description})" if scan.series_description else "")
        if unit.parts > 1:
            label += f" part {unit.part + 1}/{unit.parts}"
        members = self.store.instances(self.id, unit.series_uid, unit.files)
        info = UnitInfo(unit.idx, unit.series_uid, scan_id, unit.part, unit.parts,
                        scan.series_description,
                        tuple(sorted({m.sop_class_uid for m in members if m.sop_class_uid})),
                        tuple(sorted({m.transfer_syntax_uid for m in members if m.transfer_syntax_uid})))
        spool = Spool()
        records: list[ObjectRow] = []
        # The queue and receipts name sources by keyed reference, never by path (issue 14 §3).
        refs = {str(m.location): _source_ref(m) for m in members}
        if any(privacy.is_unlocated(m.location.path) for m in members):
            reason = ("the source files are not known since the app was restarted; select the same "
                      "folder again (Select data, or `xnat-upload transfers resume ID --from FOLDER`)")
            records = [ObjectRow(unit.idx, unit.series_uid, refs[str(m.location)], RecordStatus.FAILED,
                                 reason=reason) for m in members]
            return _Prepared(info, label, spool, records, {})
        try:
            # Pool workers write each object into the spool themselves.
            jobs = self._jobs(unit, members, scan_id, scripts, spool if inline is None else None)
            for outcome in self._outcomes(jobs, inline):
                if self.controls.stop.is_set() or abort.is_set():
                    raise _Interrupted(self.controls.reason)
                if outcome.recheck:
                    # The receipt's per-scan re-check record: boxes and status, never text or paths.
                    ok = outcome.status == ObjectStatus.OK
                    self.store.log(self.id, LogLevel.INFO if ok else LogLevel.ERROR, RECHECK_EVENT,
                                   f"{label}: output re-check {outcome.recheck['status']}",
                                   {"series_uid": unit.series_uid, **outcome.recheck})
                painted = outcome.redaction.get("painted")
                if painted and unit.series_uid not in self._widened:
                    # Once per scan: every object of a scan shares its geometry and photometry.
                    self._widened.add(unit.series_uid)
                    self.store.log(self.id, LogLevel.INFO, PAINTED_EVENT,
                                   f"{label}: boxes widened to {'; '.join(painted)}",
                                   {"series_uid": unit.series_uid, "painted": painted})
                ref = refs.get(outcome.source, outcome.source)
                if outcome.status == ObjectStatus.OK:
                    records.append(ObjectRow(unit.idx, unit.series_uid, ref, RecordStatus.SENT,
                                             outcome.sop_instance_uid, scan_id, outcome.md5,
                                             outcome.size))
                    spool.add(outcome)
                else:
                    reason = privacy.scrub(outcome.reason, refs)
                    records.append(ObjectRow(unit.idx, unit.series_uid, ref,
                                             RecordStatus(outcome.status), reason=reason))
                    rejected = outcome.status == ObjectStatus.REJECTED
                    self.store.log(self.id, LogLevel.WARNING if rejected else LogLevel.ERROR,
                                   outcome.status, f"{label}: object {outcome.status}",
                                   {"reason": reason})
        except BaseException:
            spool.close()
            raise
        sizes = {str(m.location): m.size for m in members}
        return _Prepared(info, label, spool, records, sizes)

    def _send_unit(self, unit: UnitRow, prepared: "_Prepared") -> str:
        """Send one prepared unit with retries; returns "" when done, else the failure reason."""
        label, records = prepared.label, prepared.records
        failed = [r for r in records if r.status == RecordStatus.FAILED]
        if failed:
            # Nothing of this unit is sent: one bad object keeps the whole scan back.
            reason = f"{label}: {len(failed)} object(s) cannot be sent — {failed[0].reason}"
            self.store.finish_unit(self.id, unit.idx, State.FAILED, reason,
                                   [r if r.status != RecordStatus.SENT else
                                    ObjectRow(r.unit_idx, r.series_uid, r.source, RecordStatus.HELD_BACK,
                                              reason="another object of the scan failed")
                                    for r in records])
            self.log(LogLevel.ERROR, "unit_failed", reason)
            return reason
        attempt = unit.attempts
        base_files, base_bytes = self.files_done, self.bytes_done
        skipped = sum(1 for r in records if r.status != RecordStatus.SENT)
        while True:
            attempt += 1
            self.store.set_unit(self.id, unit.idx, State.RUNNING, add_attempt=True)
            self.emit(TransferEvent(self.id, EventKind.UNIT, State.RUNNING, series_uid=unit.series_uid,
                                    message=label))
            self.files_done, self.bytes_done = base_files + skipped, base_bytes

            def stream() -> Iterator[ObjectOutcome]:
                for outcome in prepared.spool.outcomes():
                    if self.controls.stop.is_set():
                        raise Cancelled()
                    self.files_done += 1
                    self.bytes_done += prepared.sizes.get(outcome.source, 0)
                    self._rate_bytes += len(outcome.data)
                    yield outcome
                    self._progress(unit.series_uid)

            try:
                self.dest.send_unit(self.ctx, prepared.info, stream())
            except Exception as exc:
                if self.controls.stop.is_set():
                    self.store.set_unit(self.id, unit.idx, State.QUEUED)
                    raise _Interrupted(self.controls.reason) from None
                if not isinstance(exc, DestinationError):
                    raise
                try:
                    retry = self._retry_after(label, exc, attempt)
                except _Interrupted:
                    self.store.set_unit(self.id, unit.idx, State.QUEUED)
                    raise
                if retry:
                    continue
                reason = f"{label}: {exc}"
                self.store.finish_unit(self.id, unit.idx, State.FAILED, reason, [])
                if not exc.retriable:
                    # A final error from the target (permission, bad project...) ends the transfer.
                    raise DestinationError(reason) from None
                return reason
            self.store.finish_unit(self.id, unit.idx, State.DONE, "", records)
            self._progress(unit.series_uid, force=True)
            return ""

    def _fail(self, reason: str) -> State:
        self.store.update(self.id, error=reason, finished=time.time())
        self.store.log(self.id, LogLevel.ERROR, "failed", reason)
        self.write_receipts(self.id, State.FAILED)
        self.store.update(self.id, state=State.FAILED)
        self.emit(TransferEvent(self.id, EventKind.STATE, State.FAILED, self.files_done, self.files_total,
                                self.bytes_done, self.bytes_total, message=reason))
        return State.FAILED

    def _discard(self) -> None:
        """After a cancel, remove what the destination staged; a restart then starts afresh."""
        try:
            discarded = self.dest.discard(self.ctx)
        except DestinationError as exc:
            self.store.log(self.id, LogLevel.WARNING, "discard", f"could not remove the partial upload: {exc}")
            return
        if discarded:
            self.store.reset_transfer(self.id)
            self.store.log(self.id, LogLevel.INFO, "discard", "the partial upload was removed")

    def _interrupted(self, reason: StopReason | None) -> State:
        state = {StopReason.PAUSE: State.PAUSED, StopReason.CANCEL: State.CANCELLED}.get(
            reason or StopReason.SHUTDOWN, State.QUEUED)
        self.store.update(self.id, finished=time.time() if state is State.CANCELLED else None)
        self.store.log(self.id, LogLevel.INFO, reason or "stopped", f"transfer {state.value}")
        if state is State.CANCELLED:
            self._discard()
            self.write_receipts(self.id, State.CANCELLED)
        self.store.update(self.id, state=state)
        self.emit(TransferEvent(self.id, EventKind.STATE, state, self.files_done, self.files_total,
                                self.bytes_done, self.bytes_total))
        return state
