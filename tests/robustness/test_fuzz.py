"""The bounded fuzz test: a few hundred mutations with fixed seeds, every command, every odd input.

See fuzz.py for what one round builds and checks; ``bench/fuzz.py`` runs the same rounds by the
thousand. Fixed seeds make a failure here reproducible with ``bench/fuzz.py --seed``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.robustness import corrupt as C
from tests.robustness.fuzz import Summary, demo_files, fuzz_round

SEEDS = (1501, 1502)
MUTATIONS = 150


@pytest.fixture(scope="module")
def corpus(demo_dir: Path) -> list[str]:
    return C.corpus_files() + demo_files(demo_dir)  # the suite's small demo: already generated


@pytest.mark.timeout(600)
@pytest.mark.parametrize("seed", SEEDS)
def test_fuzz_round_no_crash_no_hang_bounded_memory_everything_accounted(tmp_path: Path, corpus: list[str],
                                                                        seed: int) -> None:
    summary: Summary = fuzz_round(tmp_path, seed, MUTATIONS, corpus)
    assert summary.runs == 5
    assert summary.crashes == 0 and summary.hangs == 0, summary.problems
    assert summary.problems == []
    assert summary.peak_rss_mb < 700
    assert summary.written > MUTATIONS // 4  # plenty of (mutated) objects really went through
