"""How much goes into one import request, adapted to how fast the server answers.

XNAT does its import work (unpacking, header parsing, naming, writing) inside the request, and a
site's nginx/Apache in front of Tomcat gives up after its read timeout (60–100 s is usual) with a
504 while XNAT carries on. So a request must stay well under that time whatever the network and
the server. The official desktop client sends about 100 files / 10 MB per request; here the size
starts there and follows the server (issue 17 §1):

* after each request the size is scaled so the next one should take about half the budget
  (at most ×2 up, at least ×½ down per step), within fixed bounds;
* a 504, a timeout or a connection lost after the body counts as "far too slow": the size drops
  to a quarter.

The sizes bound memory too: a request's objects are held in memory to send its zip with
Content-Length, so the ceiling (48 MB) is what an upload may add to the app's footprint; at the
speeds where that ceiling is reached a request takes a few seconds, far from any proxy timeout.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    files: int
    bytes: int


class RequestSizer:
    """Adaptive request size: ``limits()`` for the next request, then ``record`` or ``timed_out``."""

    def __init__(self, *, budget: float = 30.0, start: Limits = Limits(100, 20 * MB),
                 smallest: Limits = Limits(5, 1 * MB), largest: Limits = Limits(1000, 48 * MB)) -> None:
        self.budget = budget
        self._smallest = smallest
        self._largest = largest
        self._files = float(start.files)
        self._bytes = float(start.bytes)
        self._lock = threading.Lock()

    def limits(self) -> Limits:
        with self._lock:
            return Limits(int(self._files), int(self._bytes))

    def record(self, seconds: float, files: int, size: int) -> None:
        """A request of ``files``/``size`` bytes took ``seconds``: aim the next at budget/2."""
        limits = self.limits()
        # Only a request that filled its limit says something about a larger one.
        full = files >= limits.files or size >= limits.bytes
        factor = (self.budget / 2) / max(seconds, 1e-3)
        factor = min(2.0, max(0.5, factor))
        if factor > 1.0 and not full:
            return
        self._scale(factor)

    def timed_out(self) -> None:
        """The server (or its proxy) did not answer in time: much smaller from now on."""
        self._scale(0.25)

    def _scale(self, factor: float) -> None:
        with self._lock:
            self._files = min(self._largest.files, max(self._smallest.files, self._files * factor))
            self._bytes = min(self._largest.bytes, max(self._smallest.bytes, self._bytes * factor))


__all__ = ["Limits", "MB", "RequestSizer"]
