"""Run the finder in the background: a process pool whose workers load the models once each.

OCR is CPU-bound native code; in worker processes it never holds the UI thread or the GIL of
the app, a crashing codec cannot take the app down, and each worker keeps its own models loaded
between calls (memory is bounded by the number of workers, ~150 MB each). Results come back as
``concurrent.futures.Future`` objects of plain picklable values, so the GUI can stream them
onto tiles as they complete and cancel the rest.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Sequence

from desktop_client.core.coverage import Pick, instances_to_search
from desktop_client.core.processes import end_with_parent
from desktop_client.scanning.model import Instance
from desktop_client.textfind.find import find_text
from desktop_client.textfind.model import ScanText, TextResult


def _search(source: Any, options: dict[str, Any]) -> TextResult:
    """Pool entry point (module level, so it pickles)."""
    return find_text(source, **options)


def _single_threaded() -> bool:
    """No other thread in the process, Python's or native (Qt's pools are invisible to
    ``threading``): only then is ``fork`` safe; forking a threaded process can deadlock the child."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return threading.active_count() == 1


def _init_worker() -> None:
    """Pool initializer: end with the app, and yield the CPU to it (OCR is background work; on two
    cores a full-speed worker starved the app's UI thread into visible stalls)."""
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

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=_context(), initializer=_init_worker)
        return self._pool

    def submit(self, source: Instance | str, *, frames: Sequence[int] | None = None,
               temporal: bool | None = None, all_frames: bool = False) -> "Future[TextResult]":
        options = {"frames": None if frames is None else tuple(frames), "temporal": temporal,
                   "all_frames": all_frames}
        return self._executor().submit(_search, source, options)

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
