"""Issue 14 §5: upload the demo with the defaults to each destination and grep everything written.

The demo carries PHI in its headers, in its pixels, in a PDF report and in an SR. Each test runs
the real command line (``xnat-upload upload`` with no privacy options) to one destination, then
greps, with :mod:`tests.leakcheck`, every file the run wrote — the destination's output, the
receipts (JSON and the text of the PDF), the transfer queue, the scan index, logs, the cache and
the private temporary folder — for the demo's patient names, IDs, birth dates and accession
numbers. The only hits allowed are in what the user chose to keep, so with the defaults: none.

The pixel channel is not part of this grep: burned-in text is pixels, not characters. Its door
is the burned-in text gate (issue 13), which holds back any image whose text nobody decided on;
these uploads take its safe decision, ``--redact-detected`` (the finder's boxes are blacked out
and the output searched again before it is sent), and the gate's own tests compare pixels. The
finder's results are computed once per session (``warm_textfind``) to keep the suite fast.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path

import pytest

from desktop_client.cli.main import main
from tests.leakcheck import Identifier, demo_identifiers, find_leaks


@pytest.fixture(autouse=True)
def _textfind_results(textfind_results: None) -> None:
    """The finder's results for the demo, computed once (see ``warm_textfind``)."""


def _upload(capsys, *args: str) -> dict:
    """``xnat-upload upload`` in this process (``--workers 0``: every step sees this test's home)."""
    # The one decision the defaults cannot take: the demo's burned-in PHI is held back by the text
    # gate until a person decides, and here the person blacks out the detected text (re-checked).
    code = main(["upload", *args, "--redact-detected"])
    out = capsys.readouterr()
    lines = [json.loads(line) for line in out.out.splitlines() if line.strip()]
    assert code == 0, (out.err, lines[-1] if lines else None)
    return lines[-1]


def _pymp_folders(folder: Path) -> set[str]:
    return {p for p in os.listdir(folder) if p.startswith("pymp-")}


def _assert_no_leaks(roots: list[Path], demo_dir: Path, result: dict) -> None:
    identifiers = demo_identifiers(demo_dir)
    assert {i.kind for i in identifiers} == {"name", "patient-id", "birth-date", "accession"}
    leaks = find_leaks(roots, identifiers)
    assert leaks == [], "\n".join(map(str, leaks))
    for transfer in result["transfers"]:
        assert transfer["state"] == "done", transfer


def test_the_helper_finds_what_it_is_meant_to_find(demo_dir: Path, tmp_path: Path) -> None:
    """The grep itself can fail: a copied source file, a path and a PDF text are all hits."""
    import shutil

    identifiers = demo_identifiers(demo_dir)
    pid = next(i.value for i in identifiers if i.kind == "patient-id")
    source = next(p for p in demo_dir.rglob("*.dcm") if pid in str(p))
    shutil.copy(source, tmp_path / "copy.dcm")
    (tmp_path / pid).mkdir()
    pdf = next(p for p in demo_dir.rglob("*.dcm") if "DOC" in str(p))
    shutil.copy(pdf, tmp_path / "report.dcm")
    leaks = find_leaks([tmp_path], identifiers)
    assert {(Path(leak.path).name, leak.where) for leak in leaks} >= {
        ("copy.dcm", "bytes"), (pid, "path"), ("report.dcm", "encapsulated pdf text")}
    assert Identifier("name", "DOE^JANE").forms() == sorted(
        {"DOE^JANE", "DOE, JANE", "JANE DOE", "DOE JANE", "DOE,JANE", "DOE_JANE"})


def test_local_archive_with_the_defaults(demo_dir: Path, home: Path, tmp_path: Path, capsys,
                                        monkeypatch) -> None:
    # "The shared temp" is a folder of this test's own, for this process and every process it
    # starts: the system's /tmp also holds the pymp-* folders of other programs running meanwhile.
    shared_temp = tmp_path / "shared-temp"
    shared_temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(shared_temp))
    monkeypatch.setattr(tempfile, "tempdir", str(shared_temp))
    before = _pymp_folders(shared_temp)
    archive = tmp_path / "archive"
    result = _upload(capsys, str(demo_dir), "--to", str(archive), "--workers", "0")
    assert len(result["transfers"]) == 5 and archive.is_dir()
    _assert_no_leaks([archive, home], demo_dir, result)
    assert _pymp_folders(shared_temp) <= before  # no multiprocessing folder left in the shared temp
    # Everything the app wrote is private (issue 14 §3): the home and the archive it made.
    for root in (home, archive):
        for path in [root, *root.rglob("*")]:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == (0o700 if path.is_dir() else 0o600), (str(path), oct(mode))


@pytest.mark.orthanc
@pytest.mark.parametrize("how", ["cstore", "stowrs"])
def test_dicom_destinations_with_the_defaults(demo_dir: Path, home: Path, tmp_path: Path, capsys,
                                              monkeypatch, how: str) -> None:
    from tests.destinations.orthanc import AET, PASSWORD, USER, start_orthanc

    work = tmp_path / "orthanc"
    runner = start_orthanc(work)
    orthanc = next(runner)
    try:
        if how == "cstore":
            dest = ["--to", f"dicom://{AET}@127.0.0.1:{orthanc.dicom_port}"]
        else:
            monkeypatch.setenv("XNAT_PASSWORD", PASSWORD)
            dest = ["--to", f"dicomweb+{orthanc.dicomweb}", "--user", USER]
        result = _upload(capsys, str(demo_dir), *dest, "--workers", "0")
        stored = orthanc.instances()
        assert len(stored) == sum(t["files_sent"] for t in result["transfers"]) > 0
        received = tmp_path / "received"
        received.mkdir()
        for n, instance_id in enumerate(stored):
            (received / f"{n}.dcm").write_bytes(orthanc.file(instance_id))
    finally:
        next(runner, None)
    # Orthanc's own storage and index (which keeps the main tags in SQLite) are greps too; its
    # configuration and log name only ports and the test user.
    _assert_no_leaks([received, work / "storage", work / "index", home], demo_dir, result)


def test_xnat_app_side_files_with_the_defaults(demo_dir: Path, home: Path, capsys, monkeypatch,
                                               xnat_emulator) -> None:
    """An XNAT server anonymizes with its own site and project scripts (its defaults are the
    server's business); what the uploader itself writes must still name nobody."""
    monkeypatch.setenv("XNAT_PASSWORD", "admin")
    result = _upload(capsys, str(demo_dir), "--to", xnat_emulator.url, "--user", "admin",
                     "--project", "DEMO", "--workers", "0")
    _assert_no_leaks([home], demo_dir, result)


def test_labels_the_user_takes_from_the_patient_stay_where_they_were_chosen(
        demo_dir: Path, home: Path, tmp_path: Path, capsys) -> None:
    """``--subject-scheme patient-name`` is a choice: the name is then the subject label in the
    archive, the queue and the receipts — and still in no log, no scan index, no cache."""
    import sqlite3

    archive = tmp_path / "archive"
    result = _upload(capsys, str(demo_dir), "--to", str(archive), "--subject-scheme", "patient-name",
                     "--workers", "0")
    names = [i for i in demo_identifiers(demo_dir) if i.kind == "name"]
    chosen = {leak.path for leak in find_leaks([archive, home], names)}
    assert any("archive" in p for p in chosen)  # the label the user chose, as a folder name
    kept = [p for p in chosen if not p.startswith(str(archive))]
    assert all("/receipts/" in p or "transfers.sqlite3" in p for p in kept), kept
    with sqlite3.connect(home / "data" / "transfers.sqlite3") as db:
        logged = " ".join(m + d for m, d in db.execute("SELECT message, details FROM log"))
    assert logged and not any(form in logged for i in names for form in i.forms())
    assert "[subject]" in logged or "[session]" in logged or "session stored" in logged
    assert find_leaks([home / "cache"], demo_identifiers(demo_dir)) == []
    assert result["transfers"][0]["state"] == "done"


def test_what_the_user_includes_deliberately_is_the_only_hit(demo_dir: Path, home: Path,
                                                             tmp_path: Path, capsys) -> None:
    """The SR sent without its text adds nothing; the PDF sent with its text (a decision) is the
    one object that still names the patient — and the receipt records the decision."""
    import pydicom

    def series(modality: str) -> str:
        path = next(p for p in demo_dir.rglob("*.dcm") if pydicom.dcmread(p).Modality == modality)
        return str(pydicom.dcmread(path).SeriesInstanceUID)

    archive = tmp_path / "archive"
    result = _upload(capsys, str(demo_dir), "--to", str(archive), "--workers", "0",
                     "--include-free-text", f"{series('SR')}:text-removed",
                     "--include-free-text", f"{series('DOC')}:as-is")
    leaks = find_leaks([archive, home], demo_identifiers(demo_dir))
    assert leaks and {leak.where for leak in leaks} == {"encapsulated pdf text"}
    (document,) = {leak.path for leak in leaks}
    assert pydicom.dcmread(document).Modality == "DOC"
    receipts = [json.loads(p.read_text()) for p in (home / "data" / "receipts").glob("*.json")]
    decisions = [s["decision"] for r in receipts for s in r["scans"] if s["decision"]]
    assert sorted(d.split(":")[0] for d in decisions) == [
        "included deliberately with its text", "included with its text content removed (built-in rule)"]
    assert all(t["state"] == "done" for t in result["transfers"])
