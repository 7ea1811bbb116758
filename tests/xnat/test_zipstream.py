"""The streamed zip body: readable by XNAT's front-to-back reader and by ordinary zip readers."""

from __future__ import annotations

import io
import zipfile

import pytest

from desktop_client.xnat import zipstream
from desktop_client.xnat.zipstream import zip_stream
from tests.xnat_emulator.archives import iter_zip_entries

ENTRIES = [("a/one.dcm", b"x" * 1000), ("two.dcm", bytes(range(256)) * 4), ("empty", b""),
           ("ünïcode.dcm", b"abc")]


@pytest.mark.parametrize("level", [0, 1, 6])
def test_round_trip_both_readers(level: int) -> None:
    data = b"".join(zip_stream(ENTRIES, level=level))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        assert [(i.filename, zf.read(i)) for i in zf.infolist()] == ENTRIES
    assert list(iter_zip_entries(io.BytesIO(data))) == ENTRIES


def test_deflate_only_kept_when_smaller() -> None:
    data = b"".join(zip_stream([("r", bytes(range(256)))], level=9))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.infolist()[0].compress_type == zipfile.ZIP_STORED


def test_zip64_records_for_large_offsets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zipstream, "_ZIP64_FROM", 1500)   # pretend 1.5 kB is 4 GiB
    data = b"".join(zip_stream(ENTRIES))
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert [zf.read(n) for n in zf.namelist()] == [d for _, d in ENTRIES]
    assert list(iter_zip_entries(io.BytesIO(data))) == ENTRIES


def test_more_than_65535_entries() -> None:
    entries = ((f"{i}", b"") for i in range(65536))
    data = b"".join(zip_stream(entries))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert len(zf.infolist()) == 65536


def test_body_is_produced_lazily() -> None:
    pulled: list[int] = []

    def entries():  # type: ignore[no-untyped-def]
        for i in range(3):
            pulled.append(i)
            yield f"{i}", b"data"

    stream = zip_stream(entries())
    next(stream)
    assert pulled == [0]
