"""Background work for the GUI: every slow call runs here, never on the UI thread.

A task is a plain function ``fn(report, cancel)`` run in a ``QThreadPool``. It may call
``report(value)`` as often as it likes (a scanner reports once per file); reports are coalesced
so the UI receives at most one every ``interval`` seconds plus the last one, which keeps the event
loop free when 10,000 files are scanned. Results, errors and reports reach the callbacks on the UI
thread through queued signals on a relay object that lives there.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, SignalInstance, Slot

log = logging.getLogger(__name__)

R = TypeVar("R")  # what a task returns (``on_done`` takes it)
P = TypeVar("P")  # what a task reports while it runs (``on_progress`` takes it)


class _Relay(QObject):
    """Lives on the UI thread; worker threads emit, the UI thread runs the callbacks."""

    progress = Signal(object)
    done = Signal(object)
    failed = Signal(object)

    def __init__(self, handle: "TaskHandle") -> None:
        super().__init__()
        self._handle = handle
        self.progress.connect(self._on_progress)
        self.done.connect(self._on_done)
        self.failed.connect(self._on_failed)

    @Slot(object)
    def _on_progress(self, value: Any) -> None:
        if not self._handle.finished and self._handle.on_progress is not None:
            self._handle.on_progress(value)

    @Slot(object)
    def _on_done(self, value: Any) -> None:
        self._handle._finish()
        if self._handle.on_done is not None:
            self._handle.on_done(value)

    @Slot(object)
    def _on_failed(self, exc: Any) -> None:
        self._handle._finish()
        if self._handle.on_error is not None:
            self._handle.on_error(exc)


class TaskHandle:
    """A running task: cancel it, ask whether it finished.

    Its callbacks take ``Any``: values cross the thread boundary as a Qt ``object`` signal, where
    their type is gone; ``TaskRunner.start`` and ``call`` check that each callback fits its task.
    """

    def __init__(self, name: str, on_done: Callable[[Any], None] | None,
                 on_error: Callable[[BaseException], None] | None,
                 on_progress: Callable[[Any], None] | None) -> None:
        self.name = name
        self.cancel_event = threading.Event()
        self.on_done = on_done
        self.on_error = on_error
        self.on_progress = on_progress
        self.finished = False
        self.relay = _Relay(self)
        self._registry: set[TaskHandle] | None = None

    def cancel(self) -> None:
        """Ask the task to stop; it sees ``cancel.is_set()`` and returns early."""
        self.cancel_event.set()

    def detach(self) -> None:
        """Drop the callbacks (the widget that asked is going away); the task runs to its end."""
        self.on_done = self.on_error = self.on_progress = None
        self.cancel_event.set()

    def _finish(self) -> None:
        self.finished = True
        if self._registry is not None:
            self._registry.discard(self)


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[[Callable[[Any], None], threading.Event], object], handle: TaskHandle,
                 interval: float) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._fn = fn
        self._handle = handle
        self._interval = interval

    def _emit(self, signal: SignalInstance, value: object) -> None:
        try:
            signal.emit(value)
        except RuntimeError:
            # The relay was deleted under a detached task: the app is closing (Quit, SIGTERM)
            # and nobody waits for this result any more. Anything else is a real error.
            if not self._handle.cancel_event.is_set():
                raise

    def run(self) -> None:  # worker thread
        relay = self._handle.relay
        last = 0.0
        pending: list[object] = []

        def report(value: object) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= self._interval:
                last = now
                pending.clear()
                self._emit(relay.progress, value)
            else:
                pending[:] = [value]

        try:
            result = self._fn(report, self._handle.cancel_event)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the UI
            log.debug("task %s failed", self._handle.name, exc_info=True)
            self._emit(relay.failed, exc)
            return
        if pending:
            self._emit(relay.progress, pending[0])
        self._emit(relay.done, result)


class TaskRunner(QObject):
    """Starts tasks on a thread pool and keeps their handles alive until they finish."""

    def __init__(self, parent: QObject | None = None, max_threads: int = 4) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._running: set[TaskHandle] = set()

    def start(self, name: str, fn: Callable[[Callable[[P], None], threading.Event], R], *,
              on_done: Callable[[R], None] | None = None,
              on_error: Callable[[BaseException], None] | None = None,
              on_progress: Callable[[P], None] | None = None,
              interval: float = 0.05) -> TaskHandle:
        """Run ``fn(report, cancel)`` on the pool; the callbacks run on the UI thread."""
        handle = TaskHandle(name, on_done, on_error, on_progress)
        handle._registry = self._running
        self._running.add(handle)
        self._pool.start(_Runnable(fn, handle, interval))
        return handle

    def call(self, name: str, fn: Callable[[], R], *, on_done: Callable[[R], None] | None = None,
             on_error: Callable[[BaseException], None] | None = None) -> TaskHandle:
        """Run a no-argument call (a server request) in the background."""
        return self.start(name, lambda _report, _cancel: fn(), on_done=on_done, on_error=on_error)

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def wait(self, msecs: int = 30000) -> bool:
        """Block until every task finished (used at shutdown and in tests)."""
        return self._pool.waitForDone(msecs)

    def shutdown(self, msecs: int = 5000) -> None:
        for handle in list(self._running):
            handle.detach()
        self._pool.waitForDone(msecs)
