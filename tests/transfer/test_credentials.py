"""The password the Connect step remembers is the one a transfer finds: one keyring service and
key format (``core.passwords``) for both."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import keyring
import pytest
from keyring.backend import KeyringBackend

from desktop_client.transfer import DestinationSpec, default_credentials


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]  # keyring declares it a classproperty

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    monkeypatch.delenv("XNAT_PASSWORD", raising=False)
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    try:
        yield memory
    finally:
        keyring.set_keyring(previous)


def test_a_remembered_password_is_found_by_the_queue(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    from desktop_client.gui.connections import Connection, ConnectionStore

    store = ConnectionStore(tmp_path / "connections.json")
    conn = Connection("site", url="https://xnat.example.org/", username="alice", remember_password=True)
    assert store.set_password(conn, "s3cret") is None
    spec = DestinationSpec.parse("https://xnat.example.org", username="alice")
    assert default_credentials(spec) == "s3cret"
    # Forgetting it in the GUI forgets it for transfers too.
    store.forget_password(conn)
    assert default_credentials(spec) is None and not memory_keyring.store
