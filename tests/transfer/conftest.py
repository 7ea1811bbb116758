from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from desktop_client.transfer import RetryPolicy, TransferQueue
from tests.dicomfactory import write_study


@pytest.fixture
def study(tmp_path: Path) -> Path:
    return write_study(tmp_path / "src")


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[TransferQueue]:
    q = TransferQueue(tmp_path / "queue.sqlite3", concurrency=2, workers=1,
                      retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05))
    q.start()
    yield q
    q.close()
