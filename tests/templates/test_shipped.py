"""The shipped example templates load read-only and cover the demo studies' burned-in PHI."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_client.demo import generate_demo
from desktop_client.scanning.model import Instance, Location
from desktop_client.templates import TemplateStore
from desktop_client.templates.store import SHIPPED_DIR


def test_shipped_examples_load_read_only(tmp_path: Path) -> None:
    store = TemplateStore(tmp_path / "user")
    shipped = [t for t in store.all() if t.read_only]
    assert len(shipped) >= 4 and not store.problems
    assert {t.match.modality for t in shipped} >= {"CT", "MR", "CR", "US"}
    assert all(store.path_of(t.id).parent == SHIPPED_DIR for t in shipped)


@pytest.mark.parametrize("seed", [0, 3])
def test_shipped_examples_cover_every_demo_phi_box(tmp_path: Path, seed: int) -> None:
    manifest = generate_demo(tmp_path / "demo", seed=seed)
    store = TemplateStore(tmp_path / "user")
    checked = 0
    for f in manifest.files:
        phi = [b for b in f.burned_in if b.phi]
        if not phi:
            continue
        inst = Instance(location=Location(f.path), size=f.size, study_instance_uid=f.study_instance_uid,
                        series_instance_uid=f.series_instance_uid, sop_instance_uid=f.sop_instance_uid,
                        sop_class_uid=f.sop_class_uid, transfer_syntax_uid=f.transfer_syntax_uid,
                        modality=f.modality, rows=f.rows, columns=f.columns)
        templates = store.matching(inst)
        assert len(templates) == 1, f"{f.modality} {f.rows}x{f.columns}"
        rects = templates[0].rectangles
        for b in phi:
            l, t, r, bottom = b.box
            assert any(x.left <= l and x.top <= t and r <= x.right and bottom <= x.bottom for x in rects), \
                (f.modality, b.field, b.box)
            checked += 1
    assert checked > 50
