"""Suite-wide test set-up and the fixtures every area shares.

Every test run gets its own application home (``XNAT_DESKTOP_HOME``) so caches, queues, templates
and settings never touch the developer's real folders, and Qt runs offscreen (CI has no display).
The XNAT emulator fixture comes from ``tests.xnat_emulator.pytest_plugin``; synthetic DICOM from
``tests.dicomfactory``; waiting and scanning helpers from ``tests.helpers``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterator

import keyring
import pytest

from tests.helpers import MemoryKeyring

pytest_plugins = ["tests.xnat_emulator.pytest_plugin"]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["XNAT_DESKTOP_HOME"] = tempfile.mkdtemp(prefix="xnat-desktop-test-home-")
# The keyring must never reach a real desktop secret store from the tests.
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo data set (seed 0, ``SMALL_SCALE``: every modality and transfer syntax, PHI
    in headers and burned into pixels, a PDF and an SR), generated once per run for every area.

    Never modified: a test that changes files copies them first. Its manifest (burned-in boxes,
    files) is ``DemoManifest.load(demo_dir)``.
    """
    from desktop_client.demo import SMALL_SCALE, generate_demo

    folder = tmp_path_factory.mktemp("demo") / "studies"
    generate_demo(folder, seed=0, **SMALL_SCALE)
    return folder


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """An in-memory keyring for this test (no ``XNAT_PASSWORD`` either): what the app remembers
    is read back from it; the previous keyring is restored afterwards."""
    monkeypatch.delenv("XNAT_PASSWORD", raising=False)
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    try:
        yield memory
    finally:
        keyring.set_keyring(previous)
