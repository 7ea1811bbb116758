"""Real third-party XNAT clients against the emulator (issue 17 §5).

xnatpy (``xnat``) builds its classes from ``/xapi/schemas`` and ``/data/search/elements``;
pyxnat reads listings as CSV. Each test walks the everyday path — connect, list, create a
subject, import a DICOM zip, archive, list scans and files — and checks the answers against what
the emulator stored (which the other tests hold to xnat-rest-api.md). Where a client and the
emulator disagree, the emulator is wrong until proven otherwise.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from desktop_client.xnat import zip_stream
from tests.dicomfactory import study_entries
from tests.xnat_emulator import XnatEmulator

xnat = pytest.importorskip("xnat")  # [test] extra; skipped only where it is not installed
pyxnat = pytest.importorskip("pyxnat")


def _zip(tmp_path: Path, series: dict[int, int]) -> tuple[Path, list[tuple[str, bytes]]]:
    entries = study_entries(series)
    path = tmp_path / "study.zip"
    path.write_bytes(b"".join(zip_stream(entries)))
    return path, entries


def test_xnatpy_connect_list_create_import_archive_and_list_files(
        tmp_path: Path, xnat_emulator: XnatEmulator) -> None:
    archive, entries = _zip(tmp_path, {1: 2, 2: 3})
    with xnat.connect(xnat_emulator.url, user="admin", password="admin", loglevel="ERROR") as session:
        assert session.xnat_version == xnat_emulator.store.version
        assert list(session.projects.keys()) == ["DEMO"]
        project = session.projects["DEMO"]
        assert project.name == xnat_emulator.store.state.projects["DEMO"].name
        subject = session.classes.SubjectData(parent=project, label="SUBJ1")
        assert subject.id.startswith("XNAT_S") and [s.label for s in project.subjects.values()] == ["SUBJ1"]
        # Into the prearchive first, then archived from there (the uploader's path).
        # (Without ``dest`` XNAT leaves the session RECEIVING, which xnatpy hides; with
        # ``dest=/prearchive`` it builds the session: READY.)
        prearchived = session.services.import_(str(archive), project="DEMO", subject="SUBJ1",
                                               experiment="SESS1", destination="/prearchive")
        assert prearchived.status == "READY"
        assert [p.label for p in session.prearchive.sessions("DEMO")] == ["SESS1"]
        experiment = prearchived.archive()
        assert experiment.label == "SESS1" and experiment.__xsi_type__ == "xnat:mrSessionData"
        stored = xnat_emulator.experiment("DEMO", "SESS1")
        assert experiment.id == stored.id
        project.clearcache()
        scans = session.projects["DEMO"].subjects["SUBJ1"].experiments["SESS1"].scans
        assert sorted(scans.keys()) == ["1", "2"]
        for scan in scans.values():
            assert scan.series_description == f"MR series {scan.id}"
            files = scan.resources["DICOM"].files
            assert len(files) == sum(1 for n, _ in entries if n.startswith(f"s{scan.id}/"))
        # A direct import into the archive with the session named in ``dest``.
        other, _ = _zip(tmp_path, {7: 1})
        direct = session.services.import_(str(other), destination="/archive/projects/DEMO/"
                                                                  "subjects/SUBJ2/experiments/SESS2")
        assert direct.label == "SESS2" and direct.subject.label == "SUBJ2"


def test_pyxnat_connect_list_create_import_archive_and_list_files(
        tmp_path: Path, xnat_emulator: XnatEmulator) -> None:
    archive, entries = _zip(tmp_path, {3: 2, 4: 1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interface = pyxnat.Interface(server=xnat_emulator.url, user="admin", password="admin")
    assert interface.select.projects().get() == ["DEMO"]
    project = interface.select.project("DEMO")
    assert project.exists()
    subject = project.subject("SUBJ1")
    assert not subject.exists()
    subject.create()
    assert subject.exists() and project.subjects().get() == [subject.id()]
    # Create an empty session, then import into it through dest (ImporterHandler's form).
    experiment = subject.experiment("SESS1")
    experiment.create(experiments="xnat:mrSessionData")
    assert experiment.exists() and experiment.datatype() == "xnat:mrSessionData"
    response = interface.post("/data/services/import",
                              params={"import-handler": "DICOM-zip", "overwrite": "append",
                                      "dest": "/archive/projects/DEMO/subjects/SUBJ1/experiments/SESS1"},
                              data=archive.read_bytes(), headers={"Content-Type": "application/zip"})
    assert response.status_code == 200
    assert response.text.strip() == "/data/archive/projects/DEMO/subjects/SUBJ1/experiments/SESS1"
    assert subject.experiments().get() == [experiment.id()]
    assert sorted(experiment.scans().get()) == ["3", "4"]
    for scan in experiment.scans():
        names = scan.resource("DICOM").files().get()
        assert len(names) == sum(1 for n, _ in entries if n.startswith(f"s{scan.id()}/"))
    # Site-wide listings a client uses to find things.
    rows = interface.array.experiments(project_id="DEMO").data
    assert [(r["project"], r["ID"]) for r in rows] == [("DEMO", experiment.id())]
    assert interface.select.experiments().get() == [experiment.id()]
    prearchive = interface.get("/data/prearchive/projects", params={"format": "json"})
    assert prearchive.status_code == 200 and prearchive.json()["ResultSet"]["Result"] == []


def test_listings_answer_in_csv_and_xml_like_xfttable(xnat_emulator: XnatEmulator) -> None:
    import requests

    auth = ("admin", "admin")
    csv_text = requests.get(xnat_emulator.url + "/data/projects", params={"format": "csv"},
                            auth=auth).text
    header, row = csv_text.splitlines()[:2]
    assert header.split(",")[:2] == ["ID", "secondary_ID"] and row.startswith("DEMO,")
    xml_text = requests.get(xnat_emulator.url + "/data/projects", params={"format": "xml"},
                            auth=auth).text
    assert "<column>ID</column>" in xml_text and "<cell>DEMO</cell>" in xml_text
