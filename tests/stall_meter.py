"""Event-loop stall measurement shared by the GUI responsiveness tests."""

from __future__ import annotations

import sys
import threading
import time
import traceback

from PySide6.QtCore import QTimer

#: The longest the UI thread may stall (DEVELOPERS: the window never blocks).
STALL_LIMIT = 0.250


class StallMeter:
    """Longest gap between ticks of a 10 ms timer (the event loop's worst stall).

    A watcher thread samples the UI thread's stack whenever it has not ticked for 150 ms, so a
    failure says where the UI thread was stuck.
    """

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.last = time.perf_counter()
        self.worst = 0.0
        self.stacks: list[str] = []
        self._stop = threading.Event()
        self._main = threading.main_thread().ident

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self.last)
        self.last = now

    def _watch(self) -> None:
        while not self._stop.wait(0.03):
            if time.perf_counter() - self.last > 0.15:
                frame = sys._current_frames().get(self._main)
                if frame is not None:
                    self.stacks.append("".join(traceback.format_stack(frame)[-14:]))
                self._stop.wait(0.3)

    def report(self) -> str:
        where = "\n---\n".join(self.stacks[-3:]) or "(no stack sampled)"
        return f"the event loop stalled {self.worst * 1000:.0f} ms; UI thread was in:\n{where}"

    def __enter__(self) -> "StallMeter":
        self.last = time.perf_counter()
        self.timer.start()
        threading.Thread(target=self._watch, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.stop()
        self._stop.set()
