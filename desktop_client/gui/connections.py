"""Stored connections: the servers a user uploads to, plus the built-in local archive folder.

Connections (URL, user, insecure-TLS opt-in, whether the credential is an alias token) are kept in
``config_dir()/connections.json``; passwords never are. When the user ticks "remember", the
password goes to the OS keyring under this app's service name; otherwise it lives only in memory
for the session. A keyring that is missing or locked is reported, not fatal: the user can still
log in by typing the password.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from desktop_client import APP_SLUG
from desktop_client.core.paths import config_dir, data_dir

log = logging.getLogger(__name__)

LOCAL_ID = "local-archive"
KEYRING_SERVICE = APP_SLUG


@dataclass
class Connection:
    """One destination the user can pick in step 1."""

    name: str
    url: str = ""
    username: str = ""
    insecure_tls: bool = False
    alias_token: bool = False
    remember_password: bool = False
    #: Explicit opt-in to plain http:// to another machine ("Allow unencrypted connection").
    allow_http: bool = False
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def is_local(self) -> bool:
        return self.id == LOCAL_ID

    @property
    def keyring_key(self) -> str:
        return f"{self.url.rstrip('/')}|{self.username}"

    def title(self) -> str:
        if self.is_local:
            return self.name
        return self.name or self.url


def local_archive_folder() -> Path:
    """The embedded default destination: a private folder under the data dir."""
    folder = data_dir() / "local-archive"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def local_connection() -> Connection:
    return Connection(name="Local archive folder", url=str(local_archive_folder()), id=LOCAL_ID)


def normalize_url(url: str) -> str:
    """``xnat.example.org/app/template/Login.vm`` → ``https://xnat.example.org``.

    What people paste (a login page, ``/data``, a trailing slash) is reduced to the base address
    by the core's parser; a missing scheme becomes https — never http, so a password is not sent
    in clear by surprise (plain http needs "Allow unencrypted connection"). An address that
    cannot be parsed is kept as typed: the login explains what is wrong with it.
    """
    from desktop_client.xnat.address import parse_address

    text = url.strip()
    try:
        return parse_address(text).url
    except ValueError:
        return text.rstrip("/")


class ConnectionStore:
    """Loads, saves and edits the connection list; the local folder is always first."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "connections.json"
        self._memory_passwords: dict[str, str] = {}
        self.connections: list[Connection] = self._load()

    def _load(self) -> list[Connection]:
        stored: list[Connection] = []
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raw = []
        except (OSError, ValueError):
            log.warning("connections file is unreadable; starting with none")
            raw = []
        for item in raw if isinstance(raw, list) else []:
            try:
                conn = Connection(**{k: v for k, v in item.items() if k in Connection.__dataclass_fields__})
            except TypeError:
                continue
            if not conn.is_local:
                stored.append(conn)
        return [local_connection(), *stored]

    def save(self) -> None:
        data = [asdict(c) for c in self.connections if not c.is_local]
        from desktop_client.core.privacy import private_write

        private_write(self.path, json.dumps(data, indent=2).encode("utf-8"))

    def get(self, conn_id: str) -> Connection | None:
        return next((c for c in self.connections if c.id == conn_id), None)

    def upsert(self, conn: Connection) -> None:
        conn.url = normalize_url(conn.url)
        for i, existing in enumerate(self.connections):
            if existing.id == conn.id:
                self.connections[i] = conn
                break
        else:
            self.connections.append(conn)
        self.save()

    def remove(self, conn_id: str) -> None:
        conn = self.get(conn_id)
        if conn is None or conn.is_local:
            return
        self.forget_password(conn)
        self.connections = [c for c in self.connections if c.id != conn_id]
        self.save()

    # Passwords ---------------------------------------------------------------------------------

    def typed_password(self, conn: Connection) -> str | None:
        """The password typed this session (memory only; instant, safe on the UI thread)."""
        return self._memory_passwords.get(conn.keyring_key)

    def password(self, conn: Connection) -> str | None:
        """The password typed this session, else the remembered one from the keyring.

        May block on the keyring (first import, a locked store): call it from a worker.
        """
        if conn.keyring_key in self._memory_passwords:
            return self._memory_passwords[conn.keyring_key]
        if not conn.remember_password:
            return None
        try:
            import keyring

            return keyring.get_password(KEYRING_SERVICE, conn.keyring_key)
        except Exception:  # noqa: BLE001 - any keyring backend failure means "not available"
            log.warning("the system keyring could not be read")
            return None

    def keep_password(self, conn: Connection, password: str) -> None:
        """Remember the password for this session (memory only; instant)."""
        self._memory_passwords[conn.keyring_key] = password

    def set_password(self, conn: Connection, password: str) -> str | None:
        """Keep the password for this session and, if asked, in the keyring (may block).

        Returns a user-facing warning when the keyring refused it, else None.
        """
        self.keep_password(conn, password)
        if not conn.remember_password:
            self.forget_password(conn, memory=False)
            return None
        try:
            import keyring

            keyring.set_password(KEYRING_SERVICE, conn.keyring_key, password)
        except Exception:  # noqa: BLE001
            return ("The password could not be saved in the system keyring; "
                    "you will be asked for it next time.")
        return None

    def forget_password(self, conn: Connection, memory: bool = True) -> None:
        if memory:
            self._memory_passwords.pop(conn.keyring_key, None)
        try:
            import keyring

            keyring.delete_password(KEYRING_SERVICE, conn.keyring_key)
        except Exception:  # noqa: BLE001 - nothing stored, or no keyring: nothing to forget
            pass
