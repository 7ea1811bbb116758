"""The password the Connect step remembers is the one a transfer finds: one keyring service and
key format (``core.passwords``) for both."""

from __future__ import annotations

from pathlib import Path

from desktop_client.transfer import DestinationSpec, default_credentials
from tests.helpers import MemoryKeyring


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
