"""What keeps the search cheap by design: models loaded only when needed, a finder warmed ahead
and searches started ahead that the gate takes over (issue 13: ≤ 15 % of a CT upload)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from pydicom.uid import CTImageStorage

from desktop_client.scanning import scan_paths
from desktop_client.textfind import TextFinder

from tests.textfind.helpers import dataset, text_mask, textured

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
from desktop_client.textfind import find_text, ocr
result = find_text(sys.argv[1], use_cache=False)
print(json.dumps({"detector": ocr.loaded(), "recogniser": ocr.recogniser_loaded(),
                  "found": [f.text for f in result.found], "error": result.error}))
"""


def _probe(path: Path) -> dict:
    """Search one file in a fresh process and say which models that process loaded."""
    done = subprocess.run([sys.executable, "-c", _PROBE, str(path)], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_recogniser_is_loaded_only_when_there_is_a_line_to_read(tmp_path: Path) -> None:
    shape = (256, 256)
    blank = tmp_path / "blank.dcm"
    dataset(textured(shape) * 255, modality="CT").save_as(blank, enforce_file_format=True)
    mask, _ = text_mask(shape, "DOE^JANE 1970", 16, (20, 20))
    text = tmp_path / "text.dcm"
    dataset(np.clip(textured(shape) * 0.5 + mask, 0, 1) * 255, modality="CT").save_as(text, enforce_file_format=True)

    none = _probe(blank)
    assert not none["error"] and none["found"] == []
    assert none["detector"] and not none["recogniser"]  # detection ran, nothing was worth reading
    found = _probe(text)
    assert found["recogniser"] and any("JANE" in t for t in found["found"]), found


def test_prefetched_searches_are_taken_over_and_the_rest_cancelled(tmp_path: Path) -> None:
    shape = (128, 128)
    for series in range(2):
        for n in range(3):
            ds = dataset(textured(shape, seed=n) * 255, modality="CT")
            ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = CTImageStorage  # not prone: one slice
            ds.SeriesInstanceUID = f"2.25.{series + 1}"
            ds.StudyInstanceUID = "2.25.9"
            ds.InstanceNumber = n + 1
            ds.save_as(tmp_path / f"s{series}-{n}.dcm", enforce_file_format=True)
    scans = [scan for session in scan_paths([tmp_path], use_cache=False).sessions
             for scan in session.sorted_scans()]
    assert len(scans) == 2
    finder = TextFinder(1, background=False)
    finder.warm()
    try:
        first = finder.prefetch(scans[0].instances)
        second = finder.prefetch(scans[1].instances)
        assert len(first) == len(second) == 1  # the middle slice of each CT scan
        taken = finder.submit_scan(scans[0].instances)
        assert [future for _, future in taken] == first  # the same search, not a second one
        assert not taken[0][1].result(timeout=120).error
        assert finder.submit_scan(scans[0].instances)[0][1] is not first[0]  # taken once only
    finally:
        finder.close()
    assert second[0].cancelled() or second[0].done()  # nobody asked for it: cancelled unless run


def test_a_re_upload_is_answered_from_the_cache_without_a_worker(tmp_path: Path) -> None:
    mask, _ = text_mask((128, 256), "DOE^JANE", 16, (10, 10))
    path = tmp_path / "one.dcm"
    dataset(np.clip(0.1 + mask, 0, 1) * 255).save_as(path, enforce_file_format=True)
    with TextFinder(1, background=False) as finder:  # the first upload: searched by a worker
        first = finder.submit(str(path)).result(timeout=120)
    assert not first.error and not first.cached and first.found
    again = TextFinder(1, background=False, cache_first=True)
    try:
        future = again.submit(str(path))
        assert future.done() and again._pool is None  # no worker was started for it
        result = future.result()
        assert result.cached and [f.rect for f in result.found] == [f.rect for f in first.found]
        assert [f.text for f in result.found] == [f.text for f in first.found]
    finally:
        again.close()
