"""Run the finder in the background: a process pool whose workers load the models once each.

OCR is CPU-bound native code; in worker processes it never holds the UI thread or the GIL of
the app, a crashing codec cannot take the app down, and each worker keeps its own models loaded
between calls (memory is bounded by the number of workers, ~150 MB each). Results come back as
``concurrent.futures.Future`` objects of plain picklable values, so the GUI can stream them
onto tiles as they complete and cancel the rest.

``stop`` really stops searches: one not started yet is cancelled in the pool; one a worker is
running is told so through a small array shared with the workers (the tokens of stopped
searches), which the finder reads before each image it searches, so the worker is free again
within one image's OCR instead of finishing a long cine nobody wants.

Starting a worker and loading its models costs about a second of CPU, which on a text-free CT
session is most of the search. A caller that knows a search is coming (``xnat-upload upload``
at its start, before scanning) calls ``warm()``: the workers start and load the models while it
scans and plans, and ``prefetch`` starts the searches of scans as soon as they are known, before
the plan decides which of them count; ``submit`` then takes over a prefetched search instead of
starting it again. What nobody asked for is cancelled by ``close``.
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.context import BaseContext
from typing import Any, Iterable, Sequence

from desktop_client.core.coverage import Pick, instances_to_search
from desktop_client.core.processes import end_with_parent, start_context
from desktop_client.scanning.model import Instance, says_burned_in
from desktop_client.textfind import ocr
from desktop_client.textfind.find import cached_text, find_text
from desktop_client.textfind.model import ScanText, TextResult


#: How many stopped searches the workers remember (a ring: a stop is read within one image, long
#: before this many later stops could overwrite it).
STOP_SLOTS = 256
#: In a worker process: the shared ring of stopped search tokens (set by ``_init_worker``).
_STOPPED: Any = None


def _search(source: Any, options: dict[str, Any], token: int = 0) -> TextResult:
    """Pool entry point (module level, so it pickles)."""
    stopped = _STOPPED
    if not token or stopped is None:
        return find_text(source, **options)
    return find_text(source, stop=lambda: token in stopped[:], **options)


def _single_threaded() -> bool:
    """No other thread in the process, Python's or native (Qt's pools are invisible to
    ``threading``): only then is ``fork`` safe; forking a threaded process can deadlock the child."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return threading.active_count() == 1


def _ready() -> None:
    """A no-op task: submitting one per worker makes the pool start all of them now."""


def _init_worker(warm: bool, background: bool, stopped: Any = None) -> None:
    """Pool initializer: end with the app; with ``background``, yield the CPU to it (OCR is
    background work in the desktop app; on two cores a full-speed worker starved its UI thread
    into visible stalls); with ``warm``, load the models before the first search arrives; keep
    the shared ring of stopped searches."""
    global _STOPPED
    _STOPPED = stopped
    end_with_parent()
    if background:
        try:
            os.nice(10)
        except (AttributeError, OSError):  # no nice() on this platform, or not allowed
            pass
    if warm:
        try:
            ocr.warm_up()
        except Exception:  # noqa: BLE001 - a broken install is reported by each search, per object
            pass


def _context() -> BaseContext:
    """The application's start policy (``core.processes``); fork only when not even a native
    thread runs, forkserver with the finder preloaded otherwise."""
    return start_context(preload=["desktop_client.textfind.find"], allow_fork=_single_threaded())


class TextFinder:
    """``submit`` one instance or ``submit_scan`` a whole scan; ``close`` (or ``with``) ends the pool.

    ``background=False`` keeps the workers at normal priority: for a caller that waits for the
    results (the command line's gate), a lowered priority only lets other programs go first.
    ``cache_first`` answers from the cache in the calling process while the cache has the answers
    (``find.cached_text``: header and raw pixel bytes only, no decoding), so a re-upload waits for
    no worker; not for the desktop app, whose searches are asked for on a thread beside the UI.
    """

    def __init__(self, workers: int = 1, *, background: bool = True, cache_first: bool = False) -> None:
        self.workers = max(1, int(workers))
        self.background = background
        #: answer from the cache in this process while it has the answers (a re-upload), until the
        #: first miss; then every search goes to the workers (one file read each, done there)
        self._cache_first = cache_first
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._tokens = itertools.count(1)
        #: token of each search not finished yet (to tell its worker to stop)
        self._token_of: dict[Future[TextResult], int] = {}
        self._stopped: Any = None
        self._next_slot = 0
        self._warm = False
        self._prefetched: dict[tuple[Any, ...], "Future[TextResult]"] = {}

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = _context()
            # Shared with the workers when they start (inherited or handed over at spawn).
            self._stopped = context.Array("q", STOP_SLOTS, lock=False)
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker,
                                             initargs=(self._warm, self.background, self._stopped))
        return self._pool

    def warm(self) -> None:
        """Start the workers now and have each load the models before its first search.

        Call it as early as possible (while the process is still single-threaded, workers are
        forked, which is the cheapest start); it returns at once.
        """
        if self._pool is None:
            self._warm = True
            pool = self._executor()
            for _ in range(self.workers):
                pool.submit(_ready)

    def prefetch(self, instances: Sequence[Instance], *,
                 all_frames: bool = False) -> list["Future[TextResult]"]:
        """Start searching what the coverage policy picks in this scan, before it is asked for;
        the searches started (``submit``/``submit_scan`` of the same instances take them over)."""
        ordered = list(instances)
        started = []
        for pick in instances_to_search(ordered, all_frames=all_frames):
            options = self._options(pick.frames, pick.temporal, False)  # as submit_scan asks
            key = self._key(ordered[pick.index], options)
            if key not in self._prefetched:
                self._prefetched[key] = self._start(ordered[pick.index], options)
            started.append(self._prefetched[key])
        return started

    def _start(self, source: Instance | str, options: dict[str, Any]) -> "Future[TextResult]":
        if self._cache_first:
            hit = cached_text(source, **options)
            if hit is not None:
                done: Future[TextResult] = Future()
                done.set_result(hit)
                return done
            self._cache_first = False
        token = next(self._tokens)
        future = self._executor().submit(_search, source, options, token)
        with self._lock:
            self._token_of[future] = token
        future.add_done_callback(self._forget)
        return future

    @staticmethod
    def _options(frames: Sequence[int] | None, temporal: bool | None, all_frames: bool) -> dict[str, Any]:
        return {"frames": None if frames is None else tuple(frames), "temporal": temporal,
                "all_frames": all_frames}

    @staticmethod
    def _key(source: Instance | str, options: dict[str, Any]) -> tuple[Any, ...]:
        name = source.sop_instance_uid if isinstance(source, Instance) else str(source)
        return (name, options["frames"], options["temporal"], options["all_frames"])

    def submit(self, source: Instance | str, *, frames: Sequence[int] | None = None,
               temporal: bool | None = None, all_frames: bool = False) -> "Future[TextResult]":
        options = self._options(frames, temporal, all_frames)
        taken = self._prefetched.pop(self._key(source, options), None)
        if taken is not None and not taken.cancelled():
            return taken
        return self._start(source, options)

    def _forget(self, future: Future[TextResult]) -> None:
        with self._lock:
            self._token_of.pop(future, None)

    def stop(self, futures: Iterable[Future[TextResult]]) -> None:
        """Stop these searches: cancelled if not started, else their worker stops before its next
        image (the result's ``error`` is ``find.STOPPED``). Never waits."""
        for future in futures:
            if future.cancel():
                continue
            with self._lock:
                token = self._token_of.get(future)
                if token is None or self._stopped is None:
                    continue  # finished meanwhile
                self._stopped[self._next_slot % STOP_SLOTS] = token
                self._next_slot += 1

    def submit_scan(self, instances: Sequence[Instance], *,
                    all_frames: bool = False) -> list[tuple[Pick, "Future[TextResult]"]]:
        """One future per instance the coverage policy picks (series order expected)."""
        ordered = list(instances)
        return [(pick, self.submit(ordered[pick.index], frames=pick.frames, temporal=pick.temporal))
                for pick in instances_to_search(ordered, all_frames=all_frames)]

    def scan(self, instances: Sequence[Instance], *, all_frames: bool = False) -> ScanText:
        """``submit_scan`` and wait: the scan's ``ScanText``."""
        ordered = list(instances)
        scan = ScanText(ordered[0].series_instance_uid if ordered else "", instances=len(ordered))
        scan.burned_in_annotation = says_burned_in(ordered)
        scan.results = [future.result() for _, future in self.submit_scan(ordered, all_frames=all_frames)]
        return scan

    def close(self, *, cancel: bool = True, wait: bool = True) -> None:
        """End the pool; ``wait=False`` returns at once (a worker still loading the models for
        searches the cache answered ends by itself)."""
        for future in self._prefetched.values():  # searches started ahead that nobody took
            future.cancel()
        self._prefetched.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=cancel)
            self._pool = None

    def __enter__(self) -> "TextFinder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
