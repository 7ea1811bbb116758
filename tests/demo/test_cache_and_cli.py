"""The app's cached demo copy and the ``demo`` sub-command."""

from __future__ import annotations

import functools

import pydicom
import pytest

from desktop_client.cli.main import main
from desktop_client.demo import DEMO_VERSION, MANIFEST_NAME, DemoManifest, cache, generate_demo
from tests.demo.conftest import SMALL


@pytest.fixture
def small_cache(monkeypatch, tmp_path):
    """ensure_demo_dataset with small images in a private cache (the session's stays untouched)."""
    monkeypatch.setattr(cache, "DEMO_SCALE", SMALL)
    monkeypatch.setattr(cache, "cache_dir", lambda: tmp_path)
    return tmp_path / cache.DEMO_FOLDER


def test_ensure_generates_once_then_reuses(small_cache):
    path = cache.ensure_demo_dataset()
    assert path == small_cache and (path / MANIFEST_NAME).is_file()
    manifest = DemoManifest.load(path)
    assert manifest.seed == 0 and manifest.version == DEMO_VERSION
    first = path / manifest.files[0].path
    stamp = first.stat().st_mtime_ns
    assert cache.ensure_demo_dataset() == path
    assert first.stat().st_mtime_ns == stamp  # reused, not regenerated
    assert [p.name for p in small_cache.parent.iterdir() if p.name.startswith(".demo-study-")] == []


def test_ensure_regenerates_incomplete_or_outdated_copy(small_cache):
    path = cache.ensure_demo_dataset()
    manifest = DemoManifest.load(path)
    victim = path / manifest.files[3].path
    victim.unlink()
    assert cache.ensure_demo_dataset() == path
    assert victim.is_file()
    manifest.version = DEMO_VERSION - 1
    manifest.write(path)
    (path / "stray.txt").write_text("old copy")
    cache.ensure_demo_dataset()
    assert DemoManifest.load(path).version == DEMO_VERSION
    assert not (path / "stray.txt").exists()


def test_ensure_regenerates_a_copy_of_another_size(small_cache, monkeypatch):
    path = cache.ensure_demo_dataset()
    monkeypatch.setattr(cache, "DEMO_SCALE", {**SMALL, "ct_slices": 4})
    cache.ensure_demo_dataset()
    assert DemoManifest.load(path).scale["ct_slices"] == 4


def test_cli_demo_writes_and_summarises(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("desktop_client.demo.generate_demo", functools.partial(generate_demo, **SMALL))
    out = tmp_path / "demo"
    assert main(["demo", str(out), "--seed", "5"]) == 0
    text = capsys.readouterr().out
    assert "3 patients" in text and "seed 5" in text and "JPEG Baseline" in text
    assert DemoManifest.load(out).seed == 5
    assert main(["demo", str(out)]) == 2
    assert "not an empty folder" in capsys.readouterr().err


def test_cli_demo_size_and_no_text(tmp_path, capsys):
    out = tmp_path / "demo"
    sizes = [arg for name, value in SMALL.items() for arg in ("--size", f"{name}={value}")]
    assert main(["demo", str(out), "--no-text", *sizes, "--size", "ct_slices=4"]) == 0
    manifest = DemoManifest.load(out)
    assert manifest.scale["ct_slices"] == 4 and manifest.scale["burn_text"] is False
    assert all(not f.burned_in for f in manifest.files)
    images = [f for f in manifest.files if f.rows is not None]
    assert images and all(pydicom.dcmread(out / f.path, stop_before_pixels=True)
                          .get("BurnedInAnnotation", "NO") == "NO" for f in images)
    assert main(["demo", str(tmp_path / "x"), "--size", "ct_slices=lots"]) == 2
    assert main(["demo", str(tmp_path / "y"), "--size", "colour=3"]) == 2
    assert "unknown demo size option" in capsys.readouterr().err


def test_default_cached_copy_is_the_seed0_demo(demo, monkeypatch, tmp_path):
    folder, manifest = demo
    monkeypatch.setattr(cache, "cache_dir", lambda: tmp_path)
    path = cache.ensure_demo_dataset()
    assert path == tmp_path / "demo-study"
    assert (path / MANIFEST_NAME).read_bytes() == (folder / MANIFEST_NAME).read_bytes()


def test_scale_options_cover_every_field_and_refuse_wrong_kinds():
    from dataclasses import fields

    from desktop_client.demo import DemoScale

    # A value for every field, none of them the default: a field from_options forgot keeps its
    # default and fails the comparison.
    options: dict[str, object] = {f.name: (f.default + 2 if isinstance(f.default, int)
                                           and not isinstance(f.default, bool) else not f.default)
                                  for f in fields(DemoScale)}
    assert DemoScale.from_options(options) == DemoScale(**options)
    for bad, message in (({"ct_slice": 3}, "unknown demo size option"), ({"ct_slices": "3"}, "whole number"),
                         ({"ct_slices": True}, "whole number"), ({"burn_text": 1}, "True or False")):
        with pytest.raises(ValueError, match=message):
            DemoScale.from_options(bad)
