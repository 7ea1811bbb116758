"""Background decoding for the viewer and the review grids, off the UI thread.

Two patterns cover every use:

* ``LatestOnly`` — the viewer's frame requests: while one decode runs, newer requests replace the
  waiting one, so dragging the frame slider over 500 frames decodes a handful, and the last frame
  asked for is always the one shown.
* ``ThumbnailQueue`` — the review grids: many small requests, served newest-first (the cards
  the user scrolled to most recently), deduplicated by key, with requests for cards that scrolled
  away dropped before they start. Results arrive through a queued signal on the UI thread.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Callable, Hashable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


class _Relay(QObject):
    # One tuple (key, result, error), never bare None arguments: PySide6 miscounts references of
    # None passed through queued ``object`` signals, which crashes the interpreter.
    finished = Signal(object)


class _Run(QRunnable):
    def __init__(self, key: Hashable, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._key, self._fn, self._relay = key, fn, relay

    def run(self) -> None:  # worker thread
        try:
            result, error = self._fn(), None
        except Exception as exc:  # noqa: BLE001 - shown to the user next to the image
            log.debug("background decode failed", exc_info=True)
            result, error = None, exc
        try:
            self._relay.finished.emit((self._key, result, error))
        except RuntimeError:  # the receiving widget was destroyed meanwhile
            pass


def shared_pool() -> QThreadPool:
    """One small pool for all image decoding (2 threads: decoding is CPU-bound, the UI needs a core)."""
    global _POOL
    if _POOL is None:
        _POOL = QThreadPool()
        _POOL.setMaxThreadCount(2)
    return _POOL


_POOL: QThreadPool | None = None


class LatestOnly(QObject):
    """Runs one job at a time; a request made while busy replaces any request still waiting."""

    done = Signal(object)  # (token, result, error)

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        self._pool = pool or shared_pool()
        self._relay = _Relay(self)
        self._relay.finished.connect(self._on_finished)
        self._busy = False
        self._waiting: tuple[object, Callable[[], Any]] | None = None

    def request(self, token: object, fn: Callable[[], Any]) -> None:
        if self._busy:
            self._waiting = (token, fn)
            return
        self._busy = True
        self._pool.start(_Run(token, fn, self._relay))

    @property
    def busy(self) -> bool:
        return self._busy

    @Slot(object)
    def _on_finished(self, payload: tuple) -> None:
        self._busy = False
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            self.request(*waiting)
            return  # a newer request supersedes this result
        self.done.emit(payload)


class ThumbnailQueue(QObject):
    """Newest-first, deduplicated, cancellable background jobs keyed by a hashable key."""

    done = Signal(object)  # (key, result, error)

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None,
                 in_flight: int = 2) -> None:
        super().__init__(parent)
        self._pool = pool or shared_pool()
        self._relay = _Relay(self)
        self._relay.finished.connect(self._on_finished)
        self._pending: OrderedDict[Hashable, Callable[[], Any]] = OrderedDict()
        self._running: set[Hashable] = set()
        self._limit = in_flight

    def request(self, key: Hashable, fn: Callable[[], Any]) -> None:
        """Queue ``fn`` under ``key`` (moved to the front if already waiting)."""
        if key in self._running:
            return
        self._pending.pop(key, None)
        self._pending[key] = fn
        self._pump()

    def discard(self, keys: set[Hashable] | None = None) -> None:
        """Forget waiting requests (all, or those in ``keys``); running ones finish normally."""
        if keys is None:
            self._pending.clear()
        else:
            for key in keys:
                self._pending.pop(key, None)

    def retain(self, keys: set[Hashable]) -> None:
        """Forget every waiting request whose key is not in ``keys``."""
        for key in [k for k in self._pending if k not in keys]:
            del self._pending[key]

    def is_pending(self, key: Hashable) -> bool:
        return key in self._pending or key in self._running

    @property
    def idle(self) -> bool:
        return not self._pending and not self._running

    def _pump(self) -> None:
        while self._pending and len(self._running) < self._limit:
            key, fn = self._pending.popitem(last=True)  # newest first
            self._running.add(key)
            self._pool.start(_Run(key, fn, self._relay))

    @Slot(object)
    def _on_finished(self, payload: tuple) -> None:
        self._running.discard(payload[0])
        self._pump()
        self.done.emit(payload)
