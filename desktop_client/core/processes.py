"""Worker processes that do not outlive the application.

A ``ProcessPoolExecutor`` worker waits on a queue whose pipe it also holds open itself, so it never
notices that the application was killed (kill -9, a crash, the OS ending a frozen app): it and its
forkserver would stay behind, each holding tens of megabytes. ``end_with_parent`` is the pools'
initializer: it watches the parent's sentinel, which the kernel closes when the parent dies, and
ends the worker at once.
"""

from __future__ import annotations

import multiprocessing
import os
import threading


def end_with_parent() -> None:
    """Pool initializer: end this worker process as soon as the process that started it is gone."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()
