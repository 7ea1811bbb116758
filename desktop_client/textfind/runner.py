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
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Iterable, Sequence

from desktop_client.core.coverage import Pick, instances_to_search
from desktop_client.core.processes import end_with_parent
from desktop_client.scanning.model import Instance
from desktop_client.textfind.find import find_text
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


def _init_worker(stopped: Any = None) -> None:
    """Pool initializer: end with the app, and yield the CPU to it (OCR is background work; on two
    cores a full-speed worker starved the app's UI thread into visible stalls); keep the shared
    ring of stopped searches."""
    global _STOPPED
    _STOPPED = stopped
    end_with_parent()
    try:
        os.nice(10)
    except (AttributeError, OSError):  # no nice() on this platform, or not allowed
        pass


def _context() -> Any:
    if sys.platform.startswith("linux") and _single_threaded():
        return multiprocessing.get_context("fork")
    if sys.platform.startswith("linux"):
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["desktop_client.textfind.find"])
        return context
    return multiprocessing.get_context("spawn")


class TextFinder:
    """``submit`` one instance or ``submit_scan`` a whole scan; ``close`` (or ``with``) ends the pool."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, int(workers))
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._tokens = itertools.count(1)
        #: token of each search not finished yet (to tell its worker to stop)
        self._token_of: dict[Future, int] = {}
        self._stopped: Any = None
        self._next_slot = 0

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = _context()
            # Shared with the workers when they start (inherited or handed over at spawn).
            self._stopped = context.Array("q", STOP_SLOTS, lock=False)
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker,
                                             initargs=(self._stopped,))
        return self._pool

    def submit(self, source: Instance | str, *, frames: Sequence[int] | None = None,
               temporal: bool | None = None, all_frames: bool = False) -> "Future[TextResult]":
        options = {"frames": None if frames is None else tuple(frames), "temporal": temporal,
                   "all_frames": all_frames}
        token = next(self._tokens)
        future = self._executor().submit(_search, source, options, token)
        with self._lock:
            self._token_of[future] = token
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future) -> None:
        with self._lock:
            self._token_of.pop(future, None)

    def stop(self, futures: Iterable[Future]) -> None:
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
        scan.burned_in_annotation = any((i.burned_in_annotation or "").upper() == "YES" for i in ordered)
        scan.results = [future.result() for _, future in self.submit_scan(ordered, all_frames=all_frames)]
        return scan

    def close(self, *, cancel: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=cancel)
            self._pool = None

    def __enter__(self) -> "TextFinder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
