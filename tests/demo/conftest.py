"""One default demo data set (and its text-free twin) shared by the demo tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_client.demo import SMALL_SCALE, DemoManifest, generate_demo

#: Small sizes for tests that only need "some" data set, not the default one.
SMALL = SMALL_SCALE


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoManifest]:
    out = tmp_path_factory.mktemp("demo") / "seed0"
    return out, generate_demo(out, seed=0)


@pytest.fixture(scope="session")
def clean_twin(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoManifest]:
    out = tmp_path_factory.mktemp("demo-clean") / "seed0"
    return out, generate_demo(out, seed=0, burn_text=False)
