"""Shared helpers for the XNAT client tests."""

from __future__ import annotations

from collections import Counter
from typing import Iterator

from desktop_client.xnat import XnatClient, zip_stream
from tests.xnat_emulator import XnatEmulator
from tests.dicomfactory import study_entries


def client_for(emulator: XnatEmulator, user: str = "admin", password: str | None = None,
               **kwargs: object) -> XnatClient:
    client = XnatClient(emulator.url, user, password if password is not None else user,
                        backoff=0.01, backoff_cap=0.05, **kwargs)  # type: ignore[arg-type]
    client.login()
    return client


#: The XNAT tests' name for a synthetic study's zip entries.
study = study_entries


def body(entries: list[tuple[str, bytes]], level: int = 0, chunk: int = 4096) -> Iterator[bytes]:
    """The zip stream re-cut into small chunks (so progress and drop faults have room to act)."""
    for piece in zip_stream(entries, level=level):
        for i in range(0, len(piece), chunk):
            yield piece[i:i + chunk]


def expected_counts(entries: list[tuple[str, bytes]]) -> dict[str, int]:
    """scan ID (series number, from the entry name ``s<N>/...``) → file count."""
    return dict(Counter(name.split("/")[0][1:] for name, _ in entries))
