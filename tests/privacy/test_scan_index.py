"""The scan index keeps no patient data and does not keep it forever (issue 14 §3)."""

from __future__ import annotations

import sqlite3
import stat
import time
import zipfile
from pathlib import Path

import pytest

from desktop_client.scanning import cache, scan_paths
from desktop_client.scanning import scanner as scanner_module
from desktop_client.scanning.cache import ScanCache, clear_cached_data
from tests.leakcheck import demo_identifiers, find_leaks


def _identity(result):  # type: ignore[no-untyped-def]
    return sorted((s.study_instance_uid, s.patient_name, s.patient_id, s.accession_number)
                  for s in result.sessions)


def test_index_holds_no_names_ids_or_paths_and_is_private(demo_dir: Path, home: Path) -> None:
    first = scan_paths([demo_dir])
    index = home / "cache" / "scan-index.sqlite"
    assert first.from_cache == 0 and index.exists()
    assert stat.S_IMODE(index.stat().st_mode) == 0o600
    assert stat.S_IMODE(index.parent.stat().st_mode) == 0o700
    assert find_leaks([home / "cache"], demo_identifiers(demo_dir)) == []
    raw = b"".join(p.read_bytes() for p in index.parent.glob("scan-index.sqlite*"))
    for part in ("studies", "IM0001", str(demo_dir)):  # no path, file name or folder name
        assert part.encode() not in raw
    again = scan_paths([demo_dir])
    assert again.from_cache == first.files_seen  # every file (and the skipped manifest) indexed
    assert _identity(again) == _identity(first)  # names come back from memory


def test_a_new_process_reads_one_file_per_study_for_the_names(demo_dir: Path, monkeypatch) -> None:
    first = scan_paths([demo_dir])
    cache.forget_identities()  # what a restart forgets
    reads: list[str] = []
    real = scanner_module.read_candidate

    def counting(candidate):  # type: ignore[no-untyped-def]
        reads.append(str(candidate.location))
        return real(candidate)

    monkeypatch.setattr(scanner_module, "read_candidate", counting)
    again = scan_paths([demo_dir])
    assert again.from_cache == first.files_seen
    assert len(reads) == len(first.sessions)  # one header per study, not one per file
    assert _identity(again) == _identity(first)
    assert all(s.patient_name for s in again.sessions)


def test_archive_members_are_indexed_by_keyed_hash(demo_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(demo_dir.rglob("*.dcm")):
            zf.write(path, path.relative_to(demo_dir).as_posix())
    first = scan_paths([archive])
    cache.forget_identities()
    again = scan_paths([archive])
    assert first.instances and again.from_cache == first.instances
    assert _identity(again) == _identity(first)
    assert find_leaks([Path(cache.default_path()).parent], demo_identifiers(demo_dir)) == []


def test_entries_expire_and_clear_cached_data_removes_everything(demo_dir: Path, home: Path) -> None:
    scan_paths([demo_dir])
    index = cache.default_path()
    with sqlite3.connect(index) as db:
        total = db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        db.execute("UPDATE entries SET seen = ?", (int(time.time()) - 3 * 86400,))
    ScanCache(max_age_days=5).close()  # not old enough yet
    with sqlite3.connect(index) as db:
        assert db.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == total
    cache.set_max_age_days(2)  # the user's setting
    ScanCache().close()
    with sqlite3.connect(index) as db:
        assert db.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 0
    scan_paths([demo_dir])
    removed = clear_cached_data()
    assert index in removed and not index.exists()
    assert scan_paths([demo_dir]).from_cache == 0


def test_an_index_of_the_previous_layout_is_replaced(home: Path, demo_dir: Path) -> None:
    index = cache.default_path()
    with sqlite3.connect(index) as db:
        db.execute("CREATE TABLE entries (path TEXT, member TEXT, size INTEGER, mtime_ns INTEGER,"
                   " record TEXT)")
        db.execute("INSERT INTO entries VALUES ('/data/DEMO123456/x.dcm', '', 1, 1, 'SMITH^JOHN')")
        db.execute("PRAGMA user_version=3")
    scan_paths([demo_dir])
    raw = b"".join(p.read_bytes() for p in index.parent.glob("scan-index.sqlite*"))
    assert b"SMITH^JOHN" not in raw and b"DEMO123456" not in raw


@pytest.mark.parametrize("days", [0, -3])
def test_expiry_is_at_least_a_day(days: int) -> None:
    cache.set_max_age_days(days)
    assert ScanCache().max_age_days == 1


def test_cli_expires_the_index_and_thumbnails_without_settings(demo_dir: Path, home: Path, capsys) -> None:
    """``clear-cache --older-than DAYS``: the expiry from the command line (headless machines)."""
    import json
    import os

    from desktop_client.cli.main import main

    scan_paths([demo_dir])
    index = cache.default_path()
    with sqlite3.connect(index) as db:
        total = db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        db.execute("UPDATE entries SET seen = ?", (int(time.time()) - 10 * 86400,))
        db.execute("UPDATE entries SET seen = ? WHERE rowid = (SELECT MIN(rowid) FROM entries)",
                   (int(time.time()),))
    thumbs = home / "cache" / "thumbnails"
    thumbs.mkdir(mode=0o700)
    old, new = thumbs / ("t2-" + "0" * 32 + ".npy"), thumbs / ("t2-" + "1" * 32 + ".npy")
    for path in (old, new):
        path.write_bytes(b"x")
    os.utime(old, (time.time() - 10 * 86400,) * 2)
    assert main(["clear-cache", "--older-than", "20", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"older_than_days": 20, "scan_index_entries": 0,
                                                   "thumbnails": 0}
    assert main(["clear-cache", "--older-than", "7"]) == 0
    assert f"Removed {total - 1} scan-index entries and 1 thumbnail(s)" in capsys.readouterr().out
    with sqlite3.connect(index) as db:
        assert db.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 1
    assert sorted(os.listdir(thumbs)) == [new.name]
    assert main(["clear-cache", "--older-than", "0"]) == 2
    assert "at least 1 day" in capsys.readouterr().err
