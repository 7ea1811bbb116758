"""Verification that doesn't cry wolf: archived scans are matched on Series Instance UID
(issue 17 §4), since XNAT renames scans whose series numbers repeat (``1-MR1``)."""

from __future__ import annotations

from pydicom.uid import generate_uid

from desktop_client.xnat import zip_stream
from tests.dicomfactory import encode, image
from tests.xnat.helpers import client_for
from tests.xnat_emulator import XnatEmulator


def test_repeated_series_numbers_are_verified_by_uid(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    study, first, second = generate_uid(), generate_uid(), generate_uid()
    # Both series are number 1; the second arrives first, so XNAT calls it "1" and the other
    # "1-MR1" — the opposite of what a client numbering in its own order guesses.
    entries = [(f"b/{i}.dcm", encode(image(study_uid=study, series_uid=second, series_number=1,
                                            instance_number=i, modality="MR"))) for i in range(1, 4)]
    entries += [(f"a/{i}.dcm", encode(image(study_uid=study, series_uid=first, series_number=1,
                                             instance_number=i, modality="MR"))) for i in range(1, 3)]
    client = client_for(xnat_emulator)
    uri = client.import_zip("DEMO", "S", "E", zip_stream(entries))
    assert client.commit(uri).archived
    guessed = {"1": 2, "1-MR1": 3}  # first → "1", second → "1-MR1"
    by_id = client.verify_session("DEMO", "S", "E", guessed)
    assert not by_id.ok  # the false alarm this fixes
    by_uid = client.verify_session("DEMO", "S", "E", guessed,
                                   expected_by_uid={first: 2, second: 3})
    assert by_uid.ok, by_uid.details
    short = client.verify_session("DEMO", "S", "E", guessed, expected_by_uid={first: 3, second: 3})
    assert short.details == [f"series {first} (scan 1-MR1): 3 file(s) sent, 2 on the server"]
    missing = generate_uid()
    gone = client.verify_session("DEMO", "S", "E", guessed,
                                 expected_by_uid={first: 2, second: 3, missing: 1})
    assert gone.details == [f"series {missing} (no scan on the server): 1 file(s) sent, 0 on the "
                            f"server"]


def test_subject_label_differing_only_in_case_verifies(xnat_emulator: XnatEmulator) -> None:
    """XNAT files the session under the existing subject "SUBJ" when "subj" is given."""
    xnat_emulator.set_prearchive_code("DEMO", 4)
    xnat_emulator.add_subject("DEMO", "SUBJ")
    study, series = generate_uid(), generate_uid()
    entries = [(f"a/{i}.dcm", encode(image(study_uid=study, series_uid=series, series_number=3,
                                            instance_number=i, modality="MR"))) for i in range(1, 3)]
    client = client_for(xnat_emulator)
    assert client.commit(client.import_zip("DEMO", "subj", "E2", zip_stream(entries))).archived
    result = client.verify_session("DEMO", "subj", "E2", {"3": 2}, expected_by_uid={series: 2})
    assert result.ok, result.details


def _repeated_numbers(study: str, first: str, second: str) -> list[tuple[str, bytes]]:
    """Two series numbered 1; the second arrives first, so XNAT names it "1" and the other
    "1-MR1" (the reverse of what a client numbering in its own order guesses)."""
    entries = [(f"b/{i}.dcm", encode(image(study_uid=study, series_uid=second, series_number=1,
                                            instance_number=i, modality="MR"))) for i in range(1, 4)]
    entries += [(f"a/{i}.dcm", encode(image(study_uid=study, series_uid=first, series_number=1,
                                             instance_number=i, modality="MR"))) for i in range(1, 3)]
    return entries


def test_prearchive_session_is_verified_by_uid(xnat_emulator: XnatEmulator) -> None:
    """A project that keeps uploads in the prearchive: the scans are matched on the ``UID`` of
    the prearchive session document's ``xnat:scan`` elements, not on the guessed IDs."""
    xnat_emulator.set_prearchive_code("DEMO", 0)
    study, first, second = generate_uid(), generate_uid(), generate_uid()
    client = client_for(xnat_emulator)
    uri = client.import_zip("DEMO", "S", "E", zip_stream(_repeated_numbers(study, first, second)))
    assert not client.commit(uri).archived
    guessed = {"1": 2, "1-MR1": 3}
    assert not client.verify_session("DEMO", "S", "E", guessed).ok  # by ID: the false alarm
    by_uid = client.verify_session("DEMO", "S", "E", guessed,
                                   expected_by_uid={first: 2, second: 3})
    assert by_uid.ok, by_uid.details
    assert by_uid.uri == uri
    short = client.verify_session("DEMO", "S", "E", guessed, expected_by_uid={first: 3, second: 3})
    assert short.details == [f"series {first} (scan 1-MR1): 3 file(s) sent, 2 on the server"]


def test_emulator_answers_the_prearchive_session_document(xnat_emulator: XnatEmulator) -> None:
    """``GET <prearchive uri>?format=xml`` is the built session's XML (PrearcSessionResource);
    before the build there is none (404)."""
    import requests
    from xml.etree import ElementTree

    xnat_emulator.set_prearchive_code("DEMO", 0)
    study, first, second = generate_uid(), generate_uid(), generate_uid()
    client = client_for(xnat_emulator)
    uri = client.import_zip("DEMO", "S", "E", zip_stream(_repeated_numbers(study, first, second)))
    auth = ("admin", "admin")
    receiving = requests.get(f"{xnat_emulator.url}{uri}", params={"format": "xml"}, auth=auth,
                             timeout=10)
    assert receiving.status_code == 404
    assert "session document is not available" in receiving.text
    client.commit(uri)
    built = requests.get(f"{xnat_emulator.url}{uri}", params={"format": "xml"}, auth=auth,
                         timeout=10)
    assert built.status_code == 200 and built.headers["Content-Type"].startswith("text/xml")
    root = ElementTree.fromstring(built.content)
    ns = "{http://nrg.wustl.edu/xnat}"
    assert root.tag == f"{ns}MRSession" and root.get("label") == "E"
    assert root.findtext(f"{ns}subject_ID") == "S"
    assert {s.get("ID"): s.get("UID") for s in root.iter(f"{ns}scan")} == {"1": second,
                                                                          "1-MR1": first}


def _pet_mr(study: str, mr: str, pet: str) -> list[tuple[str, bytes]]:
    """A PET/MR study: MR series 1 (3 files) and PET series 1 (2 files), same number."""
    entries = [(f"mr/{i}.dcm", encode(image(study_uid=study, series_uid=mr, series_number=1,
                                             instance_number=i, modality="MR"))) for i in range(1, 4)]
    entries += [(f"pt/{i}.dcm", encode(image(study_uid=study, series_uid=pet, series_number=1,
                                              instance_number=i, modality="PT"))) for i in range(1, 3)]
    return entries


def test_separated_pet_mr_session_is_verified_across_both_sessions(
        xnat_emulator: XnatEmulator) -> None:
    """With the project's PET/MR setting "separate", the commit leaves no session named E: XNAT
    made E_MR and E_PET. Verification follows both and matches each series by UID."""
    xnat_emulator.set_prearchive_code("DEMO", 4)
    xnat_emulator.set_separate_pet_mr("DEMO")
    study, mr, pet = generate_uid(), generate_uid(), generate_uid()
    client = client_for(xnat_emulator)
    uri = client.import_zip("DEMO", "S", "E", zip_stream(_pet_mr(study, mr, pet)))
    client.commit(uri)
    labels = {e.label for e in client.experiments("DEMO")}
    assert {"E_MR", "E_PET"} <= labels and "E" not in labels
    result = client.verify_session("DEMO", "S", "E", {"1": 3, "1-PT1": 2},
                                   expected_by_uid={mr: 3, pet: 2})
    assert result.ok, result.details
    assert sorted(u.rsplit("/", 1)[-1] for u in result.sessions) == ["E_MR", "E_PET"]
    short = client.verify_session("DEMO", "S", "E", {}, expected_by_uid={mr: 3, pet: 5})
    assert short.details == [f"series {pet} (scan E_PET/1-PT1): 5 file(s) sent, 2 on the server"]


def test_separated_pet_mr_session_left_in_the_prearchive(xnat_emulator: XnatEmulator) -> None:
    """The site-wide setting applies too; a project keeping uploads in the prearchive holds the
    two READY halves there, and an earlier upload's E_MR makes this one E_MR1 (its PET half
    is still E_PET: getUniqueSessionLabel only counts archived sessions)."""
    xnat_emulator.set_prearchive_code("DEMO", 0)
    xnat_emulator.set_separate_pet_mr(None)
    xnat_emulator.add_subject("DEMO", "S")
    client = client_for(xnat_emulator)
    earlier = encode(image(study_uid=generate_uid(), series_uid=generate_uid(), series_number=9,
                            instance_number=1, modality="MR"))
    first = client.import_zip("DEMO", "S", "E_MR", zip_stream([("x/1.dcm", earlier)]))
    xnat_emulator.set_prearchive_code("DEMO", 4)
    assert client.commit(first).archived
    xnat_emulator.set_prearchive_code("DEMO", 0)
    study, mr, pet = generate_uid(), generate_uid(), generate_uid()
    uri = client.import_zip("DEMO", "S", "E", zip_stream(_pet_mr(study, mr, pet)))
    assert not client.commit(uri).archived
    names = sorted(e.name for e in client.prearchive_entries("DEMO"))
    assert names == ["E_MR1", "E_PET"]
    assert all(e.status == "READY" for e in client.prearchive_entries("DEMO"))
    result = client.verify_session("DEMO", "S", "E", {"1": 3, "1-PT1": 2},
                                   expected_by_uid={mr: 3, pet: 2})
    assert result.ok, result.details
    assert sorted(u.rsplit("/", 1)[-1] for u in result.sessions) == ["E_MR1", "E_PET"]


def test_import_with_archive_destination_reports_both_halves(xnat_emulator: XnatEmulator) -> None:
    """An import archiving inline answers one URI a line: both sessions of the separated study
    ("PETMR" in the label becomes "MR" / "PET")."""
    import requests

    xnat_emulator.set_separate_pet_mr("DEMO")
    study, mr, pet = generate_uid(), generate_uid(), generate_uid()
    body = b"".join(zip_stream(_pet_mr(study, mr, pet)))
    resp = requests.post(f"{xnat_emulator.url}/data/services/import",
                         params={"import-handler": "DICOM-zip",
                                 "dest": "/archive/projects/DEMO/subjects/S/experiments/X_PETMR"},
                         data=body, headers={"Content-Type": "application/zip"},
                         auth=("admin", "admin"), timeout=30)
    assert resp.status_code == 200, resp.text
    assert sorted(resp.text.split()) == [
        "/data/archive/projects/DEMO/subjects/S/experiments/X_MR",
        "/data/archive/projects/DEMO/subjects/S/experiments/X_PET"]
