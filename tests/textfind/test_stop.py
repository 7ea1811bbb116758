"""Stopping a search (issue 13: the review's Stop really stops the background work).

``find_text`` asks its ``stop`` callable before each image it reads and ends with the ``STOPPED``
error, caching nothing; ``TextFinder.stop`` reaches a search already in the worker process
through the shared ring of stopped tokens, and cancels one not started.
"""

from __future__ import annotations

import time

import numpy as np

from desktop_client.textfind import TextFinder, find_text
from desktop_client.textfind.find import STOPPED

from .helpers import dataset, text_mask, textured

FRAMES = 12


def _cine(path=None):
    shape = (256, 320)
    mask, _ = text_mask(shape, "DOE JANE 1970-01-02", 14, (8, 8))
    frames = [np.clip(0.1 + 0.5 * np.roll(textured(shape, seed=f), 11 * f, axis=1) + 0.9 * mask, 0, 1) * 255
              for f in range(FRAMES)]
    ds = dataset(np.stack(frames), frames=FRAMES, modality="US")
    if path is not None:
        ds.save_as(path, enforce_file_format=True)
    return ds


def test_find_text_stops_between_images_and_caches_nothing() -> None:
    ds = _cine()
    asked: list[int] = []

    def stop() -> bool:  # yes on the third question: after two of the cine's images were read
        asked.append(1)
        return len(asked) >= 3

    result = find_text(ds, all_frames=True, stop=stop)
    assert result.error == STOPPED and result.found == [] and len(asked) == 3
    # Nothing of the stopped search was cached: the next search reads the images itself.
    again = find_text(ds, frames=(0,), temporal=False)
    assert not again.error and not again.cached and again.found


def test_the_finder_stops_a_search_its_worker_is_running_and_cancels_one_waiting(tmp_path) -> None:
    first, second = tmp_path / "a.dcm", tmp_path / "b.dcm"
    _cine(first)
    _cine(second)
    with TextFinder(1) as finder:
        # The worker is up with its models loaded once this comes back.
        assert not finder.submit(first, frames=(0,), temporal=False).result().error
        running = finder.submit(first, all_frames=True)     # 13 images: many seconds of OCR
        deadline = time.monotonic() + 60
        while not running.running():  # handed to the worker (no longer cancellable in the pool)
            assert time.monotonic() < deadline, "the pool never started the search"
            time.sleep(0.01)
        waiting = finder.submit(second, all_frames=True)
        finder.stop([running, waiting])
        assert running.result().error == STOPPED
        assert waiting.cancelled() or waiting.result().error == STOPPED
        # The worker is free again and searches what comes next in full.
        done = finder.submit(second, frames=(0,), temporal=False).result()
        assert not done.error and done.found


def test_a_stopped_search_holds_the_scan_until_searched_or_decided(tmp_path) -> None:
    from desktop_client.plan.review import ReviewModel
    from desktop_client.scanning import scan_paths
    from desktop_client.textfind import ScanText

    _cine(tmp_path / "cine.dcm")
    sessions = scan_paths([tmp_path]).sessions

    def fresh() -> tuple[ReviewModel, str]:
        model = ReviewModel(sessions)
        return model, next(iter(model.refs))

    model, uid = fresh()
    assert model.gate(uid) == ""  # nothing known against it (no Burned In Annotation = YES)
    model.stop_search(uid)
    assert "text search was stopped" in model.gate(uid) and uid in dict(model.held_back())
    assert model.text_blocking_message().startswith("1 scan was not checked for burned-in text")
    model.set_findings(uid, ScanText(uid, instances=1))     # searched after all: the search decides
    assert model.gate(uid) == ""
    model.stop_search(uid)                                   # a later search stopped: the earlier one stands
    assert model.gate(uid) == ""
    for decide in (lambda m: m.mark_checked_no_text([uid]), lambda m: m.accept_as_is([uid], "overlay only"),
                   lambda m: m.exclude([uid])):
        model, uid = fresh()
        model.stop_search(uid)
        decide(model)
        assert model.gate(uid) == ""
