from __future__ import annotations

from typing import Iterator

import pytest

from tests.destinations.orthanc import Orthanc, start_orthanc


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    yield from start_orthanc(tmp_path_factory.mktemp("orthanc"))
