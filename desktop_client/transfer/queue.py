"""The transfer queue: persistent, background, bounded concurrency, pause/resume/cancel/restart.

All state lives in the queue database (``store.QueueStore``); this class only schedules. A
scheduler thread starts queued transfers in submission order, up to ``concurrency`` at a time,
each in its own thread; CPU work goes to one process pool shared by all of them. Controls are
state changes in the database plus a signal to the running attempt, so they survive restarts:
a paused transfer is still paused after the application is reopened, and a transfer that was
running when the process died is queued again and resumes at unit granularity.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import sys
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from desktop_client.core.paths import data_dir
from desktop_client.core.processes import end_with_parent, use_private_runtime_dir
from desktop_client.destinations import Destination, DestinationError, open_destination
from desktop_client.transfer.engine import Controls, RetryPolicy, TransferEvent, TransferRun, scan_ids
from desktop_client.transfer.receipt import write_receipts
from desktop_client.transfer.spec import DestinationKind, DestinationSpec, State, TransferSpec
from desktop_client.transfer.spool import clean_spool_dir
from desktop_client.transfer.store import LogEntry, QueueStore, plan_units

log = logging.getLogger(__name__)

#: New worker pools a transfer may start after its workers died, before it fails with a reason.
WORKER_RESTARTS = 2

class QueueBusy(RuntimeError):
    """The queue database is being run by another process."""


Credentials = Callable[[DestinationSpec], "str | None"]


def default_credentials(dest: DestinationSpec) -> str | None:
    """Password for a destination: ``XNAT_PASSWORD``, else the OS keyring (never a file)."""
    if not dest.username:
        return None
    env = os.environ.get("XNAT_PASSWORD")
    if env:
        return env
    try:
        import keyring

        from desktop_client import APP_SLUG

        return keyring.get_password(APP_SLUG, f"{dest.url.rstrip('/')}|{dest.username}")
    except Exception:  # a missing or locked keyring means "no stored password"
        return None


@dataclass(frozen=True, slots=True)
class ScanStatus:
    series_instance_uid: str
    scan_id: str
    description: str
    modality: str
    files: int
    files_sent: int
    state: State | None  # None: excluded
    error: str = ""


@dataclass(frozen=True, slots=True)
class TransferStatus:
    """A snapshot of one transfer for lists and the monitor."""

    id: str
    state: State
    destination: str
    project: str
    subject: str
    session_label: str
    files_total: int
    files_done: int
    bytes_total: int
    bytes_done: int
    rate: float
    error: str
    attempts: int
    created: float
    started: float | None
    finished: float | None
    link: str
    session_uri: str
    verification: dict[str, object] | None
    scans: list[ScanStatus] = field(default_factory=list)


class TransferQueue:
    """See ``desktop_client.transfer`` for the public contract."""

    def __init__(self, db_path: str | os.PathLike[str] | None = None, concurrency: int = 2, *,
                 workers: int | None = None, credentials: Credentials | None = None,
                 retry: RetryPolicy | None = None,
                 destination_factory: Callable[[DestinationSpec, str | None], Destination] | None = None
                 ) -> None:
        self.store = QueueStore(Path(db_path) if db_path else data_dir() / "transfers.sqlite3")
        self.concurrency = max(1, concurrency)
        self.workers = (os.cpu_count() or 1) if workers is None else max(0, workers)
        self.credentials = credentials or default_credentials
        self.retry = retry or RetryPolicy()
        self.destination_factory = destination_factory or open_destination
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._running: dict[str, tuple[threading.Thread, Controls]] = {}
        self._live: dict[str, TransferEvent] = {}
        self._subscribers: list[Callable[[TransferEvent], None]] = []
        self._pool: Executor | None = None
        self._scheduler: threading.Thread | None = None
        self._stopping = False
        self._done = threading.Condition(self._lock)
        self._only: set[str] | None = None
        self._lock_fd: int | None = None

    # ---- life cycle --------------------------------------------------------------------------

    def start(self, only: Iterable[str] | None = None) -> None:
        """Recover from a crash (running → queued) and start the background scheduler.

        Only one process may run a queue database at a time (the GUI or a command line);
        another one gets :class:`QueueBusy`. ``only`` limits this run to the given transfers
        (the command line runs what it was asked to, and leaves the rest queued).
        """
        with self._lock:
            if self._scheduler is not None:
                return
            self._take_process_lock()
            self._only = set(only) if only is not None else None
            recovered = self.store.recover()
            for transfer_id in recovered:
                self.store.log(transfer_id, "warning", "recovered",
                               "the application stopped during this transfer; resuming")
            self._clean_orphan_staging()
            clean_spool_dir()
            self._stopping = False
            self._scheduler = threading.Thread(target=self._schedule, name="transfer-scheduler",
                                               daemon=True)
            self._scheduler.start()

    def stop(self, wait: bool = True) -> None:
        """Stop scheduling; interrupt running transfers (they resume on the next start)."""
        with self._lock:
            self._stopping = True
            for _, controls in self._running.values():
                controls.request("shutdown")
            threads = [t for t, _ in self._running.values()]
            self._wake.notify_all()
            scheduler, self._scheduler = self._scheduler, None
        if wait:
            for t in threads:
                t.join()
            if scheduler is not None:
                scheduler.join()
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None
        self._release_process_lock()

    def _take_process_lock(self) -> None:
        lock_path = self.store.path.with_name(self.store.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            import fcntl
        except ImportError:  # Windows: SQLite's own locking still keeps the file consistent
            self._lock_fd = fd
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise QueueBusy("another instance of the uploader is running transfers from this "
                            "queue; use that one, or close it first") from None
        self._lock_fd = fd

    def _release_process_lock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the lock

    def is_busy_elsewhere(self) -> bool:
        """True when another process is running this queue right now."""
        if self._lock_fd is not None:
            return False
        try:
            self._take_process_lock()
        except QueueBusy:
            return True
        self._release_process_lock()
        return False

    def close(self) -> None:
        self.stop()
        self.store.close()

    # ---- submitting and controlling ----------------------------------------------------------

    def submit(self, spec: TransferSpec) -> str:
        """Validate and queue a transfer; returns its id (raises ValueError for a bad spec)."""
        spec.validate()
        transfer_id = self.store.add_transfer(spec, plan_units(spec))
        self.store.log(transfer_id, "info", "queued",
                       f"queued for {spec.destination.kind.value} destination")
        self._notify(TransferEvent(transfer_id, "state", State.QUEUED))
        return transfer_id

    def pause(self, transfer_id: str) -> None:
        self._stop_or_set(transfer_id, "pause", State.PAUSED, {State.QUEUED})

    def cancel(self, transfer_id: str) -> None:
        """Cancel; a transfer not running here (paused, or left by a quit or a crash) also loses
        its staging folder at once — a running one discards it itself when it stops."""
        self._stop_or_set(transfer_id, "cancel", State.CANCELLED, {State.QUEUED, State.PAUSED})
        self.clean(transfer_id)

    def resume(self, transfer_id: str) -> None:
        """A paused transfer goes back to the queue."""
        with self._lock:
            if self.store.get(transfer_id).state is State.PAUSED:
                self.store.update(transfer_id, state=State.QUEUED)
                self._notify(TransferEvent(transfer_id, "state", State.QUEUED))

    def restart(self, transfer_id: str) -> None:
        """A failed or cancelled transfer is queued again; failed scans are retried."""
        with self._lock:
            row = self.store.get(transfer_id)
            if row.state not in (State.FAILED, State.CANCELLED):
                raise ValueError(f"transfer {transfer_id} is {row.state.value}: only a failed or "
                                 "cancelled transfer can be restarted")
            self.store.reset_units(transfer_id, [State.FAILED, State.RUNNING, State.CANCELLED])
            self.store.update(transfer_id, state=State.QUEUED, error="", finished=None,
                              verification=None)
            self.store.log(transfer_id, "info", "restart", "restarted by the user")
            self._notify(TransferEvent(transfer_id, "state", State.QUEUED))

    def exclude_scan(self, transfer_id: str, series_uid: str, reason: str) -> None:
        """Leave a scan out of a transfer that is not running (e.g. one whose redaction failed)."""
        with self._lock:
            if transfer_id in self._running:
                raise ValueError("pause the transfer before excluding a scan")
            row = self.store.get(transfer_id)
            spec = TransferSpec.from_json(row.spec.to_json())  # never mutate the cached spec
            if series_uid not in spec.session.scans:
                raise ValueError(f"series {series_uid} is not part of transfer {transfer_id}")
            old = spec.choice(series_uid)
            spec.choices[series_uid] = type(old)(series_uid, old.rectangles, True, reason)
            spec.validate()
            self.store.update(transfer_id, spec=_json(spec))
            self.store.exclude_series(transfer_id, series_uid)
            self.store.log(transfer_id, "info", "exclude", f"scan excluded: {reason}")

    def remove(self, transfer_id: str) -> None:
        """Forget a transfer that is not running (its receipts stay on disk)."""
        with self._lock:
            if transfer_id in self._running:
                raise ValueError("a running transfer cannot be removed: cancel it first")
            row = self.store.get(transfer_id)
            self.store.remove(transfer_id)
        if row.spec.destination.kind is DestinationKind.LOCAL:
            _remove_staging(Path(row.spec.destination.url), transfer_id)

    def clean(self, transfer_id: str | None = None) -> list[str]:
        """Delete the local-archive staging folders of cancelled and failed transfers; their ids.

        Staged units of such a transfer would otherwise stay on disk until it is removed (copies
        of anonymized objects, possibly gigabytes). The transfer stays in the queue and can still
        be restarted: it is marked as having sent nothing, so every unit is staged again.
        """
        cleaned: list[str] = []
        with self._lock:
            for tid, state in self.store.states().items():
                if (transfer_id is not None and tid != transfer_id) or tid in self._running \
                        or state not in (State.CANCELLED, State.FAILED):
                    continue
                row = self.store.get(tid)
                if row.spec.destination.kind is not DestinationKind.LOCAL:
                    continue
                if _remove_staging(Path(row.spec.destination.url), tid):
                    self.store.reset_transfer(tid)
                    self.store.log(tid, "info", "clean", "staging folder deleted; a restart sends every scan again")
                    cleaned.append(tid)
        return cleaned

    def pause_all(self) -> None:
        for transfer_id, state in self.store.states().items():
            if state in (State.QUEUED, State.RUNNING):
                self.pause(transfer_id)

    def resume_all(self) -> None:
        for transfer_id, state in self.store.states().items():
            if state is State.PAUSED:
                self.resume(transfer_id)

    def cancel_all(self) -> None:
        for transfer_id, state in self.store.states().items():
            if not state.finished:
                self.cancel(transfer_id)

    def restart_all(self) -> None:
        """Queue every failed or cancelled transfer again (the monitor's "Restart all")."""
        for transfer_id, state in self.store.states().items():
            if state in (State.FAILED, State.CANCELLED):
                self.restart(transfer_id)

    def _stop_or_set(self, transfer_id: str, reason: str, state: State, idle: set[State]) -> None:
        with self._lock:
            running = self._running.get(transfer_id)
            if running is not None:
                running[1].request(reason)
                return
            current = self.store.get(transfer_id).state
            if current in idle:
                self.store.update(transfer_id, state=state)
                self.store.log(transfer_id, "info", reason, f"transfer {state.value}")
                self._notify(TransferEvent(transfer_id, "state", state))

    # ---- queries -----------------------------------------------------------------------------

    def list(self) -> list[TransferStatus]:
        return [self.status(i) for i in self.store.ids()]

    def status(self, transfer_id: str) -> TransferStatus:
        row = self.store.get(transfer_id)
        spec = row.spec
        units = self.store.units(transfer_id, with_files=False)
        files_done = self.store.files_done(transfer_id)
        sent = self.store.object_counts(transfer_id)
        files = self.store.scan_files(transfer_id)
        bytes_done = sum(u.bytes for u in units if u.state is State.DONE)
        rate = 0.0
        live = self._live.get(transfer_id)
        if live is not None and row.state is State.RUNNING:
            files_done, bytes_done, rate = live.files_done, live.bytes_done, live.rate
        ids = scan_ids(spec)
        scans = []
        for scan in spec.session.sorted_scans():
            uid = scan.series_instance_uid
            mine = [u for u in units if u.series_uid == uid]
            choice = spec.choice(uid)
            if choice.excluded or not mine:
                state = None
            elif all(u.state is State.DONE for u in mine):
                state = State.DONE
            elif any(u.state is State.FAILED for u in mine):
                state = State.FAILED
            elif any(u.state is State.RUNNING for u in mine):
                state = State.RUNNING
            else:
                state = State.QUEUED
            scans.append(ScanStatus(
                uid, ids[uid], scan.series_description, scan.modality, files.get(uid, 0),
                sent.get((uid, "sent"), (0, 0))[0], state,
                "; ".join(u.error for u in mine if u.error) or
                (choice.exclude_reason if choice.excluded else "")))
        return TransferStatus(
            row.id, row.state, spec.destination.display, spec.project, spec.subject,
            spec.session_label, row.files_total, files_done, row.bytes_total, bytes_done, rate,
            row.error, row.attempts, row.created, row.started, row.finished, row.link,
            row.session_uri, row.verification, scans)

    def log(self, transfer_id: str) -> list[LogEntry]:
        return self.store.logs(transfer_id)

    def receipt_paths(self, transfer_id: str) -> tuple[Path, Path | None] | None:
        """``(json, pdf)`` receipt paths once the transfer has ended (pdf None when PDF receipts
        were off), else None."""
        row = self.store.get(transfer_id)
        if not row.receipt_json:
            return None
        return Path(row.receipt_json), Path(row.receipt_pdf) if row.receipt_pdf else None

    def write_receipts(self, transfer_id: str) -> tuple[Path, Path | None]:
        """(Re)write the receipts of a transfer from the queue database."""
        return write_receipts(self.store, transfer_id)

    def subscribe(self, callback: Callable[[TransferEvent], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for every event (from background threads); returns an unsubscribe."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)
        return unsubscribe

    def wait(self, transfer_id: str, timeout: float | None = None) -> State:
        """Block until the transfer is done, failed, cancelled or paused; returns that state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                state = self.store.get(transfer_id).state
                if state.finished or state is State.PAUSED:
                    return state
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return state
                self._done.wait(0.5 if remaining is None else min(0.5, remaining))

    # ---- internals ---------------------------------------------------------------------------

    def _notify(self, event: TransferEvent) -> None:
        with self._lock:
            if event.kind == "progress":
                self._live[event.transfer_id] = event
            subscribers = list(self._subscribers)
            self._wake.notify_all()
        for callback in subscribers:
            try:
                callback(event)
            except Exception:  # a broken listener must not stop a transfer
                log.exception("transfer event listener failed")

    def _discard_pool(self, pool: Executor | None) -> None:
        """Forget a broken pool (once, whichever transfer notices first); the next run makes one."""
        with self._lock:
            if pool is not None and self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)

    def _get_pool(self) -> Executor | None:
        if self.workers == 0:
            return None
        with self._lock:
            if self._pool is None:
                # fork is unsafe once a GUI has threads; forkserver/spawn start clean interpreters.
                method = "forkserver" if sys.platform.startswith("linux") else "spawn"
                use_private_runtime_dir()
                self._pool = ProcessPoolExecutor(self.workers,
                                                 mp_context=multiprocessing.get_context(method),
                                                 initializer=end_with_parent)
            return self._pool

    def _schedule(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                slots = self.concurrency - len(self._running)
                if slots > 0:
                    for transfer_id, state in self.store.states().items():
                        if slots == 0:
                            break
                        if self._only is not None and transfer_id not in self._only:
                            continue
                        if state is State.QUEUED and transfer_id not in self._running:
                            self._launch(transfer_id)
                            slots -= 1
                self._wake.wait(1.0)

    def _launch(self, transfer_id: str) -> None:
        controls = Controls()
        thread = threading.Thread(target=self._run_one, args=(transfer_id, controls),
                                  name=f"transfer-{transfer_id}", daemon=True)
        self._running[transfer_id] = (thread, controls)
        thread.start()

    def _run_one(self, transfer_id: str, controls: Controls) -> None:
        try:
            row = self.store.get(transfer_id)
            password = None
            for restart in range(WORKER_RESTARTS + 1):
                try:
                    if restart == 0:
                        password = self.credentials(row.spec.destination)
                    destination = self.destination_factory(row.spec.destination, password)
                except DestinationError as exc:
                    self._fail_early(transfer_id, str(exc))
                    return
                pool = self._get_pool()
                run = TransferRun(self.store, transfer_id, destination, pool, self.workers,
                                  controls, self._notify, self.retry,
                                  lambda i, state: write_receipts(self.store, i, state))
                try:
                    run.run()
                    break
                except BrokenProcessPool:
                    # A worker was killed (out of memory, a crash inside a codec library): the
                    # transfer resumes as after a crash of the app, with new workers. Nothing of
                    # the interrupted unit was kept, so every object still goes once.
                    self._discard_pool(pool)
                    if restart == WORKER_RESTARTS:
                        raise RuntimeError(
                            f"a worker process ended abruptly {WORKER_RESTARTS + 1} times (out of memory, "
                            "or a crash in an image codec); free some memory or exclude the scan that "
                            "was being prepared, then restart the transfer") from None
                    self.store.log(transfer_id, "warning", "workers",
                                   "a worker process ended abruptly; resuming with new workers")
        except Exception as exc:  # a bug must fail this transfer visibly, not kill the queue
            log.exception("transfer %s crashed", transfer_id)
            self.store.update(transfer_id, state=State.FAILED, error=f"internal error: {exc}",
                              finished=time.time())
            self.store.log(transfer_id, "error", "crash", f"internal error: {exc}")
            self._notify(TransferEvent(transfer_id, "state", State.FAILED, message=str(exc)))
        finally:
            with self._lock:
                self._running.pop(transfer_id, None)
                self._live.pop(transfer_id, None)
                self._wake.notify_all()
                self._done.notify_all()

    def _fail_early(self, transfer_id: str, reason: str) -> None:
        """The transfer cannot even start (no password, bad address): failed with that reason."""
        self.store.update(transfer_id, error=reason, finished=time.time())
        self.store.log(transfer_id, "error", "failed", reason)
        write_receipts(self.store, transfer_id, State.FAILED)
        self.store.update(transfer_id, state=State.FAILED)
        self._notify(TransferEvent(transfer_id, "state", State.FAILED, message=reason))

    def _clean_orphan_staging(self) -> None:
        """Remove local-archive staging folders of transfers the queue no longer knows."""
        from desktop_client.destinations.local import LocalArchive

        live = set(self.store.ids())
        roots = {self.store.get(i).spec.destination.url for i in live
                 if self.store.get(i).spec.destination.kind is DestinationKind.LOCAL}
        for root in roots:
            LocalArchive(root).cleanup_stale_staging(live)


def _remove_staging(root: Path, transfer_id: str) -> bool:
    """Delete ``<root>/.staging/<transfer>`` (and ``.staging`` once empty); True when it existed."""
    stage_root = root / ".staging"
    stage = stage_root / transfer_id
    existed = stage.is_dir()
    shutil.rmtree(stage, ignore_errors=True)
    try:
        stage_root.rmdir()  # only when no other transfer stages there
    except OSError:
        pass
    return existed


def _json(spec: TransferSpec) -> str:
    return json.dumps(spec.to_json())
