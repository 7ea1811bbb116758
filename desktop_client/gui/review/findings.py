"""Burned-in text found per scan, searched in the background for the review (issue 13).

The text finder (``desktop_client.textfind``) runs in its own worker process (OCR is CPU-bound
native code: there it holds neither the UI thread nor the app's GIL, and loads its models once).
This object keeps the review's queue in front of it:

* a scan opened in the viewer jumps to the front (``request(..., front=True)``); a group search
  queues every scan of the group behind it;
* only a couple of searches are handed to the process pool at a time, so the queue can be
  re-ordered until a search has really started;
* ``cancel`` (the scan's and the group's Stop) drops a scan's queued searches *and* stops the ones
  already handed out: the pool cancels those not started and the worker ends the running one
  before its next image (``TextFinder.stop``). Such a scan is ``STOPPED``: not searched, so the
  review's gate keeps it back until it is searched again or a person decides (``ReviewModel.
  search_stopped``). Stopping only posts a message to the submitting thread: the UI never waits;
* each instance result is put in a plain queue by the finder's thread and taken from it on the UI
  thread (a timer runs while searches are out); when every instance the coverage policy picked
  for a scan is back, ``updated(uid)`` fires and ``result(uid)`` holds the scan's ``ScanText``.

No Qt object is touched, or even referenced, from another thread: a signal emitted from the
finder's thread into a review the UI had just destroyed, or a QObject's last reference dropped
there, takes the whole app down. The submitting thread is stopped and joined with its owner.

The read text stays in memory here (the finder's disk cache never keeps it in clear).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Collection, Sequence
from queue import SimpleQueue

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from desktop_client.core.coverage import Pick, instances_to_search
from desktop_client.core.geometry import Rect
from desktop_client.gui.viewer.canvas import Suggestion
from desktop_client.plan.review import ReviewModel, uncovered
from desktop_client.scanning.model import Instance, Scan, says_burned_in
from desktop_client.textfind import ScanText, TextFinder, TextResult, coverage
from desktop_client.textfind.find import STOPPED as SEARCH_STOPPED
from desktop_client.textfind.recheck import COVERED

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, STOPPED = "queued", "running", "done", "stopped"


#: How often the UI thread takes finished searches while some are out (a search takes seconds).
POLL_MS = 50
#: The most UI-thread time one look at the finished searches takes (seconds): results from the
#: finder's cache come back hundreds at a time, and the rest simply waits for the next look.
DRAIN_BUDGET = 0.010
#: How long closing waits for the submitting thread (it may be starting the worker process).
JOIN_SECONDS = 30.0

#: A search for the submitter thread: scan uid, instance position, instance, frames, temporal image.
_Search = tuple[str, int, Instance, tuple[int, ...], bool]
#: A search the finder ended: scan uid, instance position, its future.
_Ended = tuple[str, int, Future[TextResult]]
#: ``(uid,)``: stop that scan's searches.
_StopScan = tuple[str]


class _Submitter:
    """The searches' thread side, free of Qt: hands searches to the finder, queues their results.

    Owned by a ``TextFindings``; the finder's callbacks and the thread reference only this object
    (and its queues), never the QObject, so nothing Qt is ever touched or released off the UI
    thread. ``stop`` ends and joins the thread.
    """

    def __init__(self, finder: TextFinder) -> None:
        self.finder = finder
        self.outbox: SimpleQueue[_Search | _StopScan | None] = SimpleQueue()
        self.inbox: SimpleQueue[_Ended] = SimpleQueue()
        self.thread: threading.Thread | None = None
        self.stopped = False
        #: The searches handed to the finder and not back yet, per scan (the thread's own).
        self.out: dict[str, list[Future[TextResult]]] = {}

    def submit(self, item: _Search | _StopScan) -> None:
        """``(uid, index, instance, frames, temporal)`` to search, or ``(uid,)``: stop that scan's."""
        if self.stopped:
            return
        if self.thread is None:
            self.thread = threading.Thread(target=self._loop, name="text-search-submit", daemon=True)
            self.thread.start()
        self.outbox.put(item)

    def stop(self, *_: object) -> None:
        """No more searches: end the thread and wait for it (results still out are dropped)."""
        if self.stopped:
            return
        self.stopped = True
        if self.thread is not None:
            self.outbox.put(None)
            if self.thread is not threading.current_thread():
                self.thread.join(JOIN_SECONDS)
                if self.thread.is_alive():
                    log.warning("the text search submitter did not stop within %.0f s", JOIN_SECONDS)

    def _loop(self) -> None:  # the submitter thread
        inbox = self.inbox
        while True:
            item = self.outbox.get()
            if item is None:
                return
            if len(item) == 1:  # stop: the finder cancels or interrupts, it never waits
                self.finder.stop(self.out.pop(item[0], []))
                continue
            uid, index, instance, frames, temporal = item
            try:
                future = self.finder.submit(instance, frames=frames, temporal=temporal)
            except Exception as exc:  # noqa: BLE001 - a broken pool fails this search, visibly
                future = Future()
                future.set_exception(exc)
            out = [f for f in self.out.get(uid, []) if not f.done()]
            out.append(future)
            self.out[uid] = out

            def ended(f: Future[TextResult], uid: str = uid, index: int = index) -> None:
                inbox.put((uid, index, f))

            future.add_done_callback(ended)


@dataclass(slots=True)
class _Job:
    uid: str
    scan: Scan
    picks: list[Pick] = field(default_factory=list)
    results: dict[int, TextResult] = field(default_factory=dict)
    #: how many of its searches were handed to the finder
    started: int = 0
    next_pick: int = 0


def shared_finder() -> TextFinder:
    """The app's one text finder (one worker process: the UI and the decoders need the other core).

    Shared by every review the app opens, so the models are loaded once per session of the app;
    it ends when the application quits (and its worker with the app, whatever the cause).
    """
    global _FINDER
    if _FINDER is None:
        _FINDER = TextFinder(workers=1)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(_FINDER.close)
    return _FINDER


_FINDER: TextFinder | None = None


class TextFindings(QObject):
    """Per-scan text search results (keyed by SeriesInstanceUID), filled in the background."""

    updated = Signal(str)   # a scan's search started or finished (not sent for each scan queued)

    def __init__(self, parent: QObject | None = None, finder: TextFinder | None = None,
                 in_flight: int = 2) -> None:
        super().__init__(parent)
        self._limit = in_flight
        self._queue: deque[_Job] = deque()
        self._jobs: dict[str, _Job] = {}
        self._running = 0
        self._results: dict[str, ScanText] = {}
        #: Scans whose search was stopped before it finished (until they are asked for again).
        self._stopped: set[str] = set()
        self._closed = False
        # Searches are handed to the finder by a thread of their own: starting the worker
        # process (the first time) takes a while, and the UI thread must never wait for it.
        self._submitter = _Submitter(finder or shared_finder())
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._take_finished)
        # Also when the owner deletes this object without closing it first (the callable is
        # the plain submitter's, so the connection outlives the wrapper safely).
        self.destroyed.connect(self._submitter.stop)

    # -- queries --------------------------------------------------------------------------------
    def result(self, uid: str) -> ScanText | None:
        return self._results.get(uid)

    def state(self, uid: str) -> str:
        """"" (never asked), queued, running, done, or stopped (before it finished)."""
        if uid in self._results:
            return DONE
        job = self._jobs.get(uid)
        if job is None:
            return STOPPED if uid in self._stopped else ""
        return RUNNING if job.started else QUEUED

    def scan_progress(self, uid: str) -> tuple[int, int]:
        """(images searched, images to search) of a scan being searched; (0, 0) otherwise."""
        job = self._jobs.get(uid)
        return (len(job.results), len(job.picks)) if job is not None else (0, 0)

    def pending(self, uids: "Collection[str]") -> int:
        """How many of ``uids`` are queued or being searched (cheap: counts the open jobs)."""
        return sum(1 for uid in self._jobs if uid in uids)

    def progress(self, uids: list[str]) -> tuple[int, int]:
        """(searched, asked for) among ``uids``: the group dialog's progress bar."""
        asked = [u for u in uids if self.state(u)]
        return sum(1 for u in asked if u in self._results), len(asked)

    @property
    def idle(self) -> bool:
        return not self._jobs

    # -- requests -------------------------------------------------------------------------------
    def request(self, scans: list[Scan], *, front: bool = False, again: bool = False) -> None:
        """Search these scans (already searched ones are skipped unless ``again``)."""
        if self._closed:
            return
        fresh: list[_Job] = []
        for scan in scans:
            uid = scan.series_instance_uid
            job = self._jobs.get(uid)
            if job is not None:
                if front and not job.started:
                    self._queue.remove(job)
                    fresh.append(job)
                continue
            if uid in self._results and not again:
                continue
            self._results.pop(uid, None)
            self._stopped.discard(uid)
            job = _Job(uid, scan, instances_to_search(scan.instances))
            self._jobs[uid] = job
            fresh.append(job)
        if front:
            self._queue.extendleft(reversed(fresh))
        else:
            self._queue.extend(fresh)
        if front and len(fresh) == 1:  # the scan on screen; a group queue is painted by its dialog
            for job in fresh:
                self.updated.emit(job.uid)
        self._pump()

    def cancel(self, uids: list[str] | None = None) -> int:
        """Stop the searches (all, or of ``uids``) not finished, queued or started; returns how many
        scans. They end ``STOPPED`` (no result); what a worker still sends back for them is dropped."""
        wanted = None if uids is None else set(uids)
        dropped = [job for job in self._jobs.values() if wanted is None or job.uid in wanted]
        for job in dropped:
            if job in self._queue:
                self._queue.remove(job)
            del self._jobs[job.uid]
            self._stopped.add(job.uid)
            if job.started:
                self._submitter.submit((job.uid,))
            self.updated.emit(job.uid)
        return len(dropped)

    def close(self) -> None:
        """Stop asking (the review is going away): drop the queue and the searches not started."""
        if self._closed:
            return
        self._closed = True
        self._queue.clear()
        self._jobs = {}
        try:
            self._poll.stop()
        except RuntimeError:  # closed while Qt is destroying this object: the timer went first
            pass
        self._submitter.stop()

    # -- machinery ------------------------------------------------------------------------------
    def _pump(self) -> None:
        while self._queue and self._running < self._limit:
            job = self._queue[0]
            if not job.picks:  # nothing the policy searches: an empty result at once
                self._queue.popleft()
                self._finish(job)
                continue
            pick = job.picks[job.next_pick]
            job.next_pick += 1
            if job.next_pick == len(job.picks):
                self._queue.popleft()
            job.started += 1
            self._running += 1
            if job.started == 1:
                self.updated.emit(job.uid)
            self._submitter.submit((job.uid, pick.index, job.scan.instances[pick.index], pick.frames,
                                    pick.temporal))
            if not self._poll.isActive():
                self._poll.start()

    def _take_finished(self) -> None:
        """UI thread: take the searches the finder finished since the last look, for at most
        ``DRAIN_BUDGET`` (the listeners only mark what changed; they repaint on timers of their own)."""
        inbox = self._submitter.inbox
        deadline = time.perf_counter() + DRAIN_BUDGET
        while not self._closed and not inbox.empty():
            self._on_finished(inbox.get())
            if time.perf_counter() > deadline:
                return  # the timer runs on: the rest at the next look
        if self._closed or self._running <= 0:
            self._poll.stop()

    def _on_finished(self, payload: _Ended) -> None:
        uid, index, future = payload
        self._running -= 1
        job = self._jobs.get(uid)
        if job is not None and _was_stopped(future):
            job = None  # a stopped search's leftover, when the scan was asked for again meanwhile
        if job is not None:
            if future.exception() is not None:
                log.debug("text search failed", exc_info=future.exception())
                job.results[index] = TextResult(error=f"text search failed ({type(future.exception()).__name__})")
            else:
                job.results[index] = future.result()
            if len(job.results) == len(job.picks):
                self._finish(job)
        self._pump()

    def _finish(self, job: _Job) -> None:
        scan = job.scan
        text = ScanText(job.uid, instances=len(scan.instances))
        text.burned_in_annotation = says_burned_in(scan.instances)
        text.results = [job.results[p.index] for p in job.picks]
        self._results[job.uid] = text
        del self._jobs[job.uid]
        self.updated.emit(job.uid)


def _was_stopped(future: Future[TextResult]) -> bool:
    """Did this search end because it was stopped (no conclusion about the image)?"""
    if future.cancelled():
        return True
    return future.exception() is None and future.result().error == SEARCH_STOPPED


def suggestions_from(text: ScanText, boxes: Sequence[Rect], dismissed: Collection[str] = ()) -> list[Suggestion]:
    """The scan's distinct suggested boxes, minus text its boxes already cover.

    Boxes apply to every frame and instance, so one line read on several searched images (the
    middle slice and the first, a cine's frames) is one suggestion, with the union of its boxes.
    Likely patient information is ticked; technical overlay and allowlisted text are not. Lines
    already covered by the boxes, or dismissed by the user, are not suggested again.
    """
    out: list[Suggestion] = []
    for found in text.found:
        if coverage(found.text_rect, boxes) >= COVERED or str(found.text_rect) in dismissed:
            continue
        same = next((s for s in out if s.rect.overlap(found.rect) > 0.6), None)
        if same is None:
            out.append(Suggestion(found.rect, found.text, found.likely_phi, found.likely_phi, [found.text_rect]))
            continue
        same.lines.append(found.text_rect)
        r = same.rect
        same.rect = Rect(min(r.left, found.rect.left), min(r.top, found.rect.top),
                         max(r.right, found.rect.right), max(r.bottom, found.rect.bottom))
        same.likely_phi = same.ticked = same.likely_phi or found.likely_phi
    return out


def tile_note(findings: "TextFindings", review: ReviewModel, uid: str) -> tuple[str, str] | None:
    """The tile's burned-in-text line ("3 lines of likely PHI found") and its colour, or None."""
    state = findings.state(uid)
    if state == QUEUED:
        return "Text search queued", "#66737f"
    if state == RUNNING:
        return "Searching for text…", "#2f6f95"
    text = findings.result(uid)
    choice = review.choices[uid]
    held = review.gate(uid)
    if held:
        lines = len([r for r in uncovered(text, choice.rectangles if choice.confirmed else [])
                     if str(r) not in choice.dismissed])
        if lines:
            return f"{lines} line{'s' if lines != 1 else ''} of likely PHI found", "#c0392b"
        if not review.burned_text_held(uid):  # only header text the scripts keep (issue 14 §2)
            return "Header text kept by the scripts: decide", "#c0392b"
        if uid in review.search_stopped:
            return "Text search stopped: not checked", "#c0392b"
        return "Header says burned-in text: decide", "#c0392b"
    if choice.accepted_as_is:
        return f"Sent as is: {choice.accept_reason}", "#c77800"
    if text is None:
        return None
    if text.errors and not text.found:
        return f"Text search failed: {text.errors[0]}", "#c77800"
    if text.likely_phi:
        return "Likely PHI covered or dismissed", "#2e8b57"
    if text.found:
        n = len(text.found)
        return f"{n} line{'s' if n != 1 else ''} of technical text, no PHI", "#66737f"
    return "No text found", "#66737f"
