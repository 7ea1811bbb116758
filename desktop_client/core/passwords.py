"""Where remembered passwords live: the OS keyring, under one service name and one key format.

The GUI writes them ("remember" on the Connect step) and the transfer queue reads them when a
transfer starts, possibly in another process long after; both go through these functions so that
what one stores the other finds. Passwords are never written anywhere else.
"""

from __future__ import annotations

import logging

from desktop_client import APP_SLUG

log = logging.getLogger(__name__)

#: The keyring service name of every password this application remembers.
KEYRING_SERVICE = APP_SLUG


def keyring_key(url: str, username: str) -> str:
    """The keyring user name for a server and account (``https://xnat.example.org|alice``)."""
    return f"{url.rstrip('/')}|{username}"


def stored_password(url: str, username: str) -> str | None:
    """The remembered password, or None (nothing stored, or no usable keyring; may block)."""
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, keyring_key(url, username))
    except Exception:  # noqa: BLE001 - a missing or locked keyring means "no stored password"
        log.warning("the system keyring could not be read")
        return None


def store_password(url: str, username: str, password: str) -> None:
    """Remember a password; raises whatever the keyring backend raises when it refuses."""
    import keyring

    keyring.set_password(KEYRING_SERVICE, keyring_key(url, username), password)


def forget_stored_password(url: str, username: str) -> None:
    """Remove a remembered password (nothing stored, or no keyring: nothing to do)."""
    try:
        import keyring

        keyring.delete_password(KEYRING_SERVICE, keyring_key(url, username))
    except Exception:  # noqa: BLE001
        pass
