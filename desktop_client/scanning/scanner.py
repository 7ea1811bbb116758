"""Scanning a selection: discovery, cache, header reads in a process pool, progress, cancellation.

Header parsing is CPU work (pydicom in Python), so uncached files are read in batches by a process
pool sized to the machine; results stream back in completion order and are reported through a
progress callback (called on the thread that runs :func:`scan_paths`, so a GUI runs the whole scan
in a worker thread and forwards progress with a signal). Cancellation is checked between batches
and stops quickly, returning what was found so far with ``cancelled=True``.
"""

from __future__ import annotations

import io
import logging
import os
import sqlite3
import tarfile
import threading
import time
import zipfile
import zlib
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import IO, Callable, Iterable, Protocol, TypeVar

from desktop_client.core.errors import PASS_THROUGH, one_line
from desktop_client.core.limits import too_large_reason
from desktop_client.core.privacy import BOOK
from desktop_client.core.processes import worker_pool
from desktop_client.scanning.cache import ScanCache, missing_identity, remember_identity, restore_identity
from desktop_client.scanning.model import Instance, InstanceRow, Location, ScanResult, Session, Skipped, build_sessions
from desktop_client.scanning.reader import PREFIX_BYTES, parse_header, read_header_bytes
from desktop_client.scanning.sources import (
    ArchiveCandidate,
    Candidate,
    NotRegularFile,
    expand_selection,
    iter_archive_members,
    open_location,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Below this many uncached files, starting worker processes costs more than it saves.
INLINE_LIMIT = 200
BATCH_SIZE = 64
#: Index entries written to the cache in one transaction while workers keep reading.
CACHE_FLUSH = 512


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ScanProgress:
    """A progress report: how many candidates are done out of how many were found so far."""

    files_done: int
    files_total: int
    instances: int
    skipped: int
    current: str = ""


Result = Instance | Skipped


def read_candidate(candidate: Candidate) -> Result:
    """Read one file's header (prefix first, whole object only when the prefix was not enough).

    Never raises for a bad object: every failure becomes that object's ``Skipped`` reason.
    """
    loc = candidate.location
    try:
        with open_location(loc) as fh:
            prefix = fh.read(PREFIX_BYTES)
            result = read_header_bytes(prefix, loc, candidate.size)
            if result is None:
                result = _too_large(loc, candidate.size)
            if result is None:
                fh.seek(0)
                result = parse_header(fh, loc, candidate.size)
        return result
    except PermissionError:
        return Skipped(str(loc), "cannot be read (permission denied)")
    except NotRegularFile as exc:
        return Skipped(str(loc), str(exc))
    except OSError as exc:
        return Skipped(str(loc), f"cannot be read ({exc.strerror or one_line(exc)})")
    except PASS_THROUGH:
        raise
    except BaseException as exc:  # noqa: BLE001 - a failure belongs to the object (core/errors.py)
        return Skipped(str(loc), f"cannot be read as DICOM ({one_line(exc)})")


def _too_large(loc: Location, size: int) -> Skipped | None:
    """A header longer than the prefix is read whole: not when the object breaks the memory budget."""
    reason = too_large_reason("reading its header", size)
    return Skipped(str(loc), reason) if reason else None


def read_batch(batch: list[Candidate]) -> list[Result]:
    """Read a batch of candidates (in this process)."""
    return [read_candidate(c) for c in batch]


#: One packed result: an instance's row, or a skipped object's reason.
Packed = InstanceRow | str


def read_batch_packed(batch: list[Candidate]) -> list[Packed]:
    """Worker entry point: like :func:`read_batch`, but results travel as plain tuples.

    Pickling ~30-field dataclasses costs as much as parsing the header; tuples of str/int are
    several times cheaper, and the caller already knows each result's location.
    """
    return [r.to_row() if isinstance(r, Instance) else r.reason for r in read_batch(batch)]


def _unpack(batch: list[Candidate], packed: list[Packed]) -> list[Result]:
    return [Skipped(str(c.location), payload) if isinstance(payload, str) else Instance.from_row(c.location, payload)
            for c, payload in zip(batch, packed)]


def read_archive(archive: ArchiveCandidate) -> list[tuple[Location, int, Result]]:
    """Worker entry point: read every member of one archive, sequentially and in place."""
    results: list[tuple[Location, int, Result]] = []
    try:
        for loc, size, stream, reason in iter_archive_members(archive):
            if reason or stream is None:
                results.append((loc, size, Skipped(str(loc), reason or "unreadable archive member")))
                continue
            results.append((loc, size, _read_member(loc, size, stream)))
    except PASS_THROUGH:
        raise
    except BaseException as exc:  # a damaged archive is reported, never a crash of the whole scan
        results.append((Location(archive.path), archive.size,
                        Skipped(archive.path, f"damaged archive ({one_line(exc)})")))
    return results


def _read_member(loc: Location, size: int, stream: IO[bytes]) -> Result:
    """One archive member's header; its failure is its own, the next member is still read."""
    try:
        prefix = stream.read(PREFIX_BYTES)
        result = read_header_bytes(prefix, loc, size)
        if result is None:
            result = _too_large(loc, size)
        if result is None:
            result = parse_header(io.BytesIO(prefix + stream.read()), loc, size)
        return result
    except PASS_THROUGH:
        raise
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise _ArchiveBroken(exc) from exc  # the stream itself is broken: the rest cannot be read
    except BaseException as exc:  # noqa: BLE001 - a failure belongs to the object
        return Skipped(str(loc), f"cannot be read as DICOM ({one_line(exc)})")


class _ArchiveBroken(Exception):
    """The archive's own stream failed (bad CRC, truncated): reported once as a damaged archive."""

    def __str__(self) -> str:
        return one_line(self.__cause__) if self.__cause__ else "unreadable"


def _restore_identities(cached: list[Result]) -> None:
    """Give cached instances their patient name, ID and accession number back.

    The index never stores them (see ``cache``); for a study this process has not read, one of
    its files is read again and its values are kept in memory for the rest of the session.
    """
    wanted = missing_identity(cached)
    if not wanted:
        return
    for instance in wanted.values():
        fresh = read_candidate(Candidate(instance.location, instance.size, 0))
        if isinstance(fresh, Instance):
            remember_identity(fresh)
    for result in cached:
        if isinstance(result, Instance):
            restore_identity(result)


def _pool(workers: int) -> ProcessPoolExecutor:
    # A CLI scan forks (instant); a GUI scans from a worker thread, so forkserver, which
    # preloads this module once so workers start warm.
    return worker_pool(workers, preload=[__name__], allow_fork=True)


def scan_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    progress: Callable[[ScanProgress], None] | None = None,
    cancel: CancelToken | None = None,
    use_cache: bool = True,
    cache: ScanCache | None = None,
    workers: int | None = None,
) -> ScanResult:
    """Scan files, folders, archives and DICOMDIRs into sessions → scans → instances."""
    started = time.perf_counter()
    instances: list[Instance] = []
    skipped: list[Skipped] = []
    files: list[Candidate] = []
    archives: list[ArchiveCandidate] = []
    for item in expand_selection(paths):
        if isinstance(item, Skipped):
            skipped.append(item)
        elif isinstance(item, ArchiveCandidate):
            archives.append(item)
        else:
            files.append(item)
    own_cache = cache is None and use_cache
    if own_cache:
        try:
            cache = ScanCache()
        except (sqlite3.Error, OSError) as exc:  # an unwritable or damaged index: scan without it
            log.warning("scan index unavailable (%s); scanning without it", one_line(exc))
            cache = None
    index = _Tolerant(cache) if cache is not None else None
    total = len(files) + len(archives)
    state = {"done": 0}
    from_cache = 0

    def report(current: str = "") -> None:
        if progress is not None:
            progress(ScanProgress(state["done"], total, len(instances), len(skipped), current))

    def take(result: Result) -> None:
        if isinstance(result, Instance):
            instances.append(result)
        else:
            skipped.append(result)

    # Every source seen gets its keyed reference in memory: the queue and receipts name sources
    # by reference only, and a transfer resumed after a restart finds its files again this way.
    for c in files:
        BOOK.add(c.location.path, None, c.size, c.mtime_ns)
    to_read: list[Candidate] = files
    to_read_archives = archives
    if index is not None:
        hits = index.lookup([(c.location, c.size, c.mtime_ns) for c in files])
        to_read = [c for c in files if c.location not in hits]
        cached: list[Result] = list(hits.values())
        from_cache += len(hits)
        state["done"] += len(hits)
        to_read_archives = []
        for archive in archives:
            members = index.archive_members(archive.path, archive.size, archive.mtime_ns)
            if members is None:
                to_read_archives.append(archive)
                continue
            for result in members:
                if isinstance(result, Instance):
                    BOOK.add(archive.path, result.location.member, result.size, archive.mtime_ns)
            cached.extend(members)
            from_cache += len(members)
            state["done"] += 1
        _restore_identities(cached)
        for result in cached:
            take(result)
        report()

    cancelled = False
    new_entries: list[tuple[Location, int, int, Result]] = []
    new_archives: list[tuple[ArchiveCandidate, list[tuple[Location, int, Result]]]] = []

    def on_batch(results: list[Result], batch: list[Candidate]) -> None:
        for cand, result in zip(batch, results):
            take(result)
            new_entries.append((cand.location, cand.size, cand.mtime_ns, result))
        state["done"] += len(batch)
        # Index as we go: this thread would otherwise only wait for the workers.
        if index is not None and len(new_entries) >= CACHE_FLUSH:
            index.store(new_entries)
            new_entries.clear()
        report(str(batch[-1].location) if batch else "")

    def on_archive(archive: ArchiveCandidate, results: list[tuple[Location, int, Result]]) -> None:
        for loc, size, result in results:
            if isinstance(result, Instance):
                BOOK.add(archive.path, loc.member, size, archive.mtime_ns)
            take(result)
        new_archives.append((archive, results))
        state["done"] += 1
        report(archive.path)

    batches = [to_read[i:i + BATCH_SIZE] for i in range(0, len(to_read), BATCH_SIZE)]
    n_workers = workers or os.cpu_count() or 1
    if len(to_read) + 50 * len(to_read_archives) <= INLINE_LIMIT or n_workers == 1:
        for batch in batches:
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            on_batch(read_batch(batch), batch)
        for archive in to_read_archives:
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            on_archive(archive, read_archive(archive))
    elif batches or to_read_archives:
        cancelled = _run_pool(n_workers, batches, to_read_archives, on_batch, on_archive, cancel)

    if index is not None:
        index.store(new_entries)
        for archive, results in new_archives:
            if not any(r.path == archive.path and r.reason.startswith("damaged archive")
                       for _l, _s, r in results if isinstance(r, Skipped)):
                index.store_archive(archive.path, archive.size, archive.mtime_ns, results)
        if own_cache:
            index.close()
    sessions, duplicates = build_sessions(instances)
    files_seen = len(instances) + len(skipped)
    if duplicates:
        skipped.extend(_duplicate_skips(sessions, instances))
    skipped.sort(key=lambda s: s.path)
    return ScanResult(
        sessions=sessions,
        skipped=skipped,
        duplicates=duplicates,
        files_seen=files_seen,
        from_cache=from_cache,
        elapsed=time.perf_counter() - started,
        cancelled=cancelled,
    )


class _Tolerant:
    """The scan index, where a failure (a full disk, a damaged file) turns it off, never the scan.

    The index only saves time: losing it costs a slower next scan, while letting its error
    escape would lose this one.
    """

    def __init__(self, cache: ScanCache) -> None:
        self._cache: ScanCache | None = cache

    def _call(self, action: Callable[[ScanCache], T], default: T) -> T:
        if self._cache is None:
            return default
        try:
            return action(self._cache)
        except (sqlite3.Error, OSError) as exc:
            log.warning("scan index turned off for this scan (%s)", one_line(exc))
            self._cache = None
            return default

    def lookup(self, keys: list[tuple[Location, int, int]]) -> dict[Location, Result]:
        return self._call(lambda cache: cache.lookup(keys), {})

    def archive_members(self, path: str, size: int, mtime_ns: int) -> list[Result] | None:
        return self._call(lambda cache: cache.archive_members(path, size, mtime_ns), None)

    def store(self, entries: Iterable[tuple[Location, int, int, Result]]) -> None:
        self._call(lambda cache: cache.store(entries), None)

    def store_archive(self, path: str, size: int, mtime_ns: int,
                      results: Iterable[tuple[Location, int, Result]]) -> None:
        self._call(lambda cache: cache.store_archive(path, size, mtime_ns, results), None)

    def close(self) -> None:
        self._call(lambda cache: cache.close(), None)


def _duplicate_skips(sessions: list[Session], instances: list[Instance]) -> list[Skipped]:
    """Second copies of an object (same SOP Instance UID) are left out of the sessions: say so."""
    kept = {inst.location for session in sessions for inst in session.iter_instances()}
    first = {inst.sop_instance_uid: inst.path for inst in instances if inst.location in kept}
    return [Skipped(inst.path, f"duplicate of {first.get(inst.sop_instance_uid, 'another file')} "
                               "(same SOP Instance UID; that copy is used)")
            for inst in instances if inst.location not in kept]


def _run_pool(
    n_workers: int,
    batches: list[list[Candidate]],
    archives: list[ArchiveCandidate],
    on_batch: Callable[[list[Result], list[Candidate]], None],
    on_archive: Callable[[ArchiveCandidate, list[tuple[Location, int, Result]]], None],
    cancel: CancelToken | None,
) -> bool:
    """Run batches on a pool with a bounded number in flight; True when cancelled."""
    work: list[ArchiveCandidate | list[Candidate]] = [*archives, *batches]
    work.reverse()  # pop() from the end: archives (slowest) first
    # Two maps, one per kind of work, so each result is read with its own type.
    archives_in_flight: dict[Future[list[tuple[Location, int, Result]]], ArchiveCandidate] = {}
    batches_in_flight: dict[Future[list[Packed]], list[Candidate]] = {}
    finished = threading.Event()  # set by any future's completion: the loop below then looks

    def wake(_: object) -> None:
        finished.set()

    limit = n_workers * 3
    cancelled = broken = False
    with _pool(n_workers) as pool:
        while work or archives_in_flight or batches_in_flight:
            if cancel is not None and cancel.is_set():
                cancelled = True
                for archive_future in archives_in_flight:
                    archive_future.cancel()
                for batch_future in batches_in_flight:
                    batch_future.cancel()
                break
            while work and len(archives_in_flight) + len(batches_in_flight) < limit:
                item = work.pop()
                if isinstance(item, ArchiveCandidate):
                    archive_future = pool.submit(read_archive, item)
                    archives_in_flight[archive_future] = item
                    archive_future.add_done_callback(wake)
                else:
                    batch_future = pool.submit(read_batch_packed, item)
                    batches_in_flight[batch_future] = item
                    batch_future.add_done_callback(wake)
            finished.wait(0.1)
            finished.clear()  # a completion after this line sets it again: nothing is missed
            for archive_future in [f for f in archives_in_flight if f.done()]:
                archive = archives_in_flight.pop(archive_future)
                try:
                    members = archive_future.result()
                except BrokenProcessPool:
                    # A reader process died (out of memory, killed): what it held is read again
                    # here, one object at a time, so only a truly fatal object is lost — as a skip.
                    broken = True
                    members = read_archive(archive)
                except Exception as exc:  # noqa: BLE001 - e.g. a result that could not be pickled
                    members = [(Location(archive.path), archive.size,
                                Skipped(archive.path, f"damaged archive ({one_line(exc)})"))]
                on_archive(archive, members)
            for batch_future in [f for f in batches_in_flight if f.done()]:
                batch = batches_in_flight.pop(batch_future)
                try:
                    packed = batch_future.result()
                except BrokenProcessPool:
                    broken = True
                    on_batch(read_batch(batch), batch)
                except Exception as exc:  # noqa: BLE001 - e.g. a result that could not be pickled
                    reason = f"cannot be read as DICOM ({one_line(exc)})"
                    on_batch([Skipped(str(c.location), reason) for c in batch], batch)
                else:
                    on_batch(_unpack(batch, packed), batch)
            if broken:
                break
        if broken:  # the pool is gone: the rest (in flight or not yet sent) is read in this process
            for archive in archives_in_flight.values():
                on_archive(archive, read_archive(archive))
            for batch in batches_in_flight.values():
                on_batch(read_batch(batch), batch)
            for item in reversed(work):
                if isinstance(item, ArchiveCandidate):
                    on_archive(item, read_archive(item))
                else:
                    on_batch(read_batch(item), item)
        if cancelled:
            pool.shutdown(wait=False, cancel_futures=True)
    return cancelled
