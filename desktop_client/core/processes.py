"""Worker processes that do not outlive the application.

A ``ProcessPoolExecutor`` worker waits on a queue whose pipe it also holds open itself, so it never
notices that the application was killed (kill -9, a crash, the OS ending a frozen app): it and its
forkserver would stay behind, each holding tens of megabytes. ``end_with_parent`` is the pools'
initializer: it watches the parent's sentinel, which the kernel closes when the parent dies, and
ends the worker at once.

:func:`start_context` is the one policy for how workers start (the scanner's and the transfer
queue's pools through :func:`worker_pool`, the text finder's pool, and the self-test that proves
it works in the frozen app).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext
from typing import Sequence

from desktop_client.core.runtime import pid_alive, sweep_dead


def end_with_parent() -> None:
    """Pool initializer: end this worker process as soon as the process that started it is gone."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def start_method(*, allow_fork: bool = False) -> str:
    """How workers start: ``fork`` is instant but unsafe once the process has other threads (a
    GUI, the queue's scheduler), so only with ``allow_fork`` while this is the only thread;
    otherwise ``forkserver`` on Linux and ``spawn`` elsewhere (fresh interpreters; the frozen app
    relies on freeze_support)."""
    if sys.platform.startswith("linux"):
        return "fork" if allow_fork and threading.active_count() == 1 else "forkserver"
    return "spawn"


def start_context(*, preload: Sequence[str] = (), allow_fork: bool = False) -> BaseContext:
    """The multiprocessing context every pool of this application starts its workers with
    (:func:`start_method`), its listener folder private. With forkserver, ``preload`` modules are
    imported once in the server so workers start warm."""
    context = multiprocessing.get_context(start_method(allow_fork=allow_fork))
    if preload and context.get_start_method() == "forkserver":
        context.set_forkserver_preload(list(preload))
    use_private_runtime_dir()
    return context


def worker_pool(workers: int, *, preload: Sequence[str] = (), allow_fork: bool = False
                ) -> ProcessPoolExecutor:
    """A process pool started the one way this application starts workers (:func:`start_context`);
    every worker ends with its parent (:func:`end_with_parent`)."""
    context = start_context(preload=preload, allow_fork=allow_fork)
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=end_with_parent)
_RUNTIME_PREFIX = "mp-"


def use_private_runtime_dir() -> None:
    """Keep multiprocessing's listener sockets in the app's private temporary folder.

    By default every process pool leaves a ``pymp-*`` folder in the shared system temp folder,
    which outlives a crashed app. Here they go into ``<private temp>/mp-<pid>`` (0700), and the
    folders of processes that are gone (a crash, kill -9) are removed on the next call — as are
    their redaction work folders (``core.runtime``): both faces call this at start.
    """
    import atexit
    import shutil
    from multiprocessing import process

    from desktop_client.core.paths import temp_dir

    # multiprocessing's own home of its tempdir (util.get_temp_dir reads it).
    config = process.current_process()._config  # type: ignore[attr-defined]  # typeshed omits _config
    if config.get("tempdir") and os.path.isdir(config["tempdir"]):
        return
    # The redaction work folders of processes that are gone, swept at start too (core.runtime).
    sweep_dead()
    root = temp_dir()
    for entry in root.glob(f"{_RUNTIME_PREFIX}*"):
        pid = entry.name[len(_RUNTIME_PREFIX):]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)
    own = root / f"{_RUNTIME_PREFIX}{os.getpid()}"
    own.mkdir(mode=0o700, exist_ok=True)
    config["tempdir"] = str(own)
    atexit.register(shutil.rmtree, own, True)
