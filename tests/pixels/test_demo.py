"""End to end on the demo data set: redacting each file's recorded burned-in boxes removes every
trace of the text, i.e. outside the boxes the output equals the text-free twin (same anatomy,
same seed), for every lossless syntax the generator writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from desktop_client.core.geometry import PixelEdit, Rect
from desktop_client.core.transfer_syntaxes import LOSSLESS_COMPRESSED, NATIVE
from desktop_client.pixels import redact_dataset
from tests.pixels.helpers import raw_pixels, roundtrip

demo = pytest.importorskip("desktop_client.demo.generator")


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    with_text, without = tmp_path_factory.mktemp("demo-text"), tmp_path_factory.mktemp("demo-clean")
    manifest = demo.generate_demo(with_text, seed=3, **demo.SMALL_SCALE)
    demo.generate_demo(without, seed=3, burn_text=False, **demo.SMALL_SCALE)
    return with_text, without, manifest


def test_recorded_boxes_remove_all_burned_in_text(twins: tuple[Path, Path, object]) -> None:
    with_text, without, manifest = twins
    checked = 0
    for entry in manifest.files:  # type: ignore[attr-defined]
        if not entry.burned_in:
            continue
        ds = pydicom.dcmread(with_text / entry.path)
        clean = raw_pixels(pydicom.dcmread(without / entry.path))
        rects = [Rect(*b.box) for b in entry.burned_in]
        report = redact_dataset(ds, [PixelEdit(r) for r in rects])
        out = roundtrip(ds)
        after = raw_pixels(out)
        mask = np.zeros(after.shape[1:3], dtype=bool)
        for rect in rects:
            mask[rect.top:rect.bottom, rect.left:rect.right] = True
        if entry.transfer_syntax_uid in NATIVE | LOSSLESS_COMPRESSED:
            assert np.array_equal(after[:, ~mask], clean[:, ~mask]), entry.path
        else:  # lossy input: the text must be gone, the rest decodes as before redaction
            assert report.method in ("dct", "lossy-to-lossless")
        assert out.BurnedInAnnotation == "NO"
        checked += 1
    assert checked >= 3
