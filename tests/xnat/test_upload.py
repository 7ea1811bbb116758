"""Import (DICOM-zip, streamed), commit (200 vs 301), verification and the importer's quirks."""

from __future__ import annotations

import io
import zipfile

import pytest
import requests

from desktop_client.xnat import (
    XnatCancelled, XnatError, XnatPermissionError, XnatUploadError, upload_session, zip_stream,
)
from tests.dicomfactory import encode, image
from tests.xnat.helpers import body, client_for, expected_counts, study
from tests.xnat_emulator import XnatEmulator


def test_import_stream_progress_commit_prearchive(xnat_emulator: XnatEmulator) -> None:
    client = client_for(xnat_emulator)
    entries = study({1: 3, 2: 2})
    seen: list[int] = []
    uri = client.import_zip("DEMO", "SUBJ01", "SUBJ01_MR_1", body(entries), progress=seen.append,
                            visit="V1", subtype="baseline")
    assert uri.startswith("/data/prearchive/projects/DEMO/") and uri.endswith("/SUBJ01_MR_1")
    assert seen == sorted(seen) and seen[-1] == sum(len(c) for c in zip_stream(entries))
    entry = xnat_emulator.prearchive_entries("DEMO")[0]
    assert (entry.status, entry.subject, entry.prevent_anon, entry.prevent_auto_commit,
            entry.source, entry.visit, entry.protocol) == ("RECEIVING", "SUBJ01", True, True,
                                                           "uploader", "V1", "baseline")
    scans_url = xnat_emulator.url + uri + "/scans"
    assert requests.get(scans_url, auth=("admin", "admin")).status_code == 404   # not built yet
    result = client.commit(uri)
    assert not result.archived and result.uri == uri
    rows = requests.get(scans_url + "/1/resources/DICOM/files", auth=("admin", "admin"),
                        params={"format": "json"}).json()["ResultSet"]["Result"]
    assert len(rows) == 3 and set(rows[0]) == {"Name", "Size", "URI"}
    scans = requests.get(scans_url, auth=("admin", "admin"), params={"format": "json"}).json()
    assert scans["ResultSet"]["Result"][0] == {"ID": "1", "xsiType": "xnat:mrScanData",
                                               "series_description": "MR series 1"}
    assert xnat_emulator.prearchive_entries("DEMO")[0].status == "READY"
    check = client.verify_session("DEMO", "SUBJ01", "SUBJ01_MR_1", {"1": 3, "2": 2})
    assert check.ok and check.found == {"1": 3, "2": 2} and check.uri == uri
    assert client.find_session("DEMO", "SUBJ01", "SUBJ01_MR_1") == uri
    assert client.session_labels("DEMO") == {"SUBJ01_MR_1"}


def test_commit_archives_with_301_and_no_location(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    client = client_for(xnat_emulator, "member")
    entries = study({3: 2, 4: 1}, modality="CT")
    uri = client.import_zip("DEMO", "SUBJ02", "SUBJ02_CT_1", body(entries, level=6),
                            content_length=sum(len(c) for c in zip_stream(entries, level=6)))
    raw = requests.post(xnat_emulator.url + uri, params={"action": "commit", "SOURCE": "uploader"},
                        auth=("member", "member"), allow_redirects=False)
    assert raw.status_code == 301 and "Location" not in raw.headers
    assert raw.text == "/data/archive/projects/DEMO/subjects/SUBJ02/experiments/SUBJ02_CT_1"
    check = client.verify_session("DEMO", "SUBJ02", "SUBJ02_CT_1", {"3": 2, "4": 1},
                                  expected_bytes={"3": len(entries[0][1]) + len(entries[1][1])})
    assert check.ok, check.details
    assert len(xnat_emulator.archived_files("DEMO", "SUBJ02", "SUBJ02_CT_1")) == 3
    assert xnat_emulator.prearchive_entries("DEMO") == []
    experiment = xnat_emulator.experiment("DEMO", "SUBJ02_CT_1")
    assert experiment is not None and experiment.xsi_type == "xnat:ctSessionData"
    assert client.find_session("DEMO", "SUBJ02", "SUBJ02_CT_1") == raw.text
    assert [e.label for e in client.experiments("DEMO")] == ["SUBJ02_CT_1"]


def test_upload_session_end_to_end_with_tracer(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    client = client_for(xnat_emulator)
    entries = study({1: 2}, modality="PT")
    outcome = upload_session(client, "DEMO", "S3", "S3_FDG_1", lambda: body(entries),
                             expected_counts(entries), tracer="FDG", modalities=["PT"])
    assert outcome.archived and outcome.verification.ok
    experiment = xnat_emulator.experiment("DEMO", "S3_FDG_1")
    assert experiment is not None
    assert experiment.fields == {"xnat:petSessionData/tracer/name": "FDG"}


def test_verification_mismatch_is_a_failure(xnat_emulator: XnatEmulator) -> None:
    client = client_for(xnat_emulator)
    entries = study({1: 2})
    uri = client.import_zip("DEMO", "S4", "S4_MR_1", body(entries))
    early = client.verify_session("DEMO", "S4", "S4_MR_1", {"1": 2})
    assert not early.ok and "not been committed" in early.details[0]
    client.commit(uri)
    check = client.verify_session("DEMO", "S4", "S4_MR_1", {"1": 3, "2": 1})
    assert not check.ok and len(check.details) == 2 and "3 file(s) sent, 2" in check.details[0]
    missing = client.verify_session("DEMO", "S4", "NOPE", {"1": 1})
    assert not missing.ok and "neither in the archive" in missing.details[0]


def test_collaborator_cannot_upload(xnat_emulator: XnatEmulator) -> None:
    client = client_for(xnat_emulator, "collab")
    entries = study({1: 1})
    with pytest.raises(XnatPermissionError) as info:
        upload_session(client, "DEMO", "S", "S_MR_1", lambda: body(entries), {"1": 1})
    assert "cannot upload to project DEMO" in info.value.user_message
    assert xnat_emulator.prearchive_entries() == []            # refused before sending
    # Sent anyway, XNAT ignores the PROJECT_ID it may not write to: the data is misfiled.
    with pytest.raises(XnatUploadError) as misfiled:
        client.import_zip("DEMO", "S", "S_MR_1", body(entries))
    assert "Unassigned" in misfiled.value.user_message
    assert [e.project for e in xnat_emulator.prearchive_entries()] == ["Unassigned"]


def test_unknown_project_is_silently_ignored_and_client_flags_misrouting(
        xnat_emulator: XnatEmulator) -> None:
    client = client_for(xnat_emulator)
    with pytest.raises(XnatUploadError) as info:
        client.import_zip("NOPE", "S", "S_MR_1", body(study({1: 1})))
    assert "Unassigned" in info.value.user_message
    assert xnat_emulator.prearchive_entries()[0].project == "Unassigned"


def test_dicom_routing_without_parameters(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.add_project("ROUTE", owner="admin", aliases=("RT",))
    entries = [("a.dcm", encode(image(study_uid="1.2.3", series_uid="1.2.3.1", series_number=5,
                                       instance_number=1,
                                      modality="MR", extra={"PatientComments":
                                                            "Project: RT Subject: subj9 Session: sess9"})))]
    resp = requests.post(xnat_emulator.url + "/data/services/import",
                         params={"import-handler": "DICOM-zip"}, auth=("admin", "admin"),
                         data=b"".join(zip_stream(entries)),
                         headers={"Content-Type": "application/zip"})
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/uri-list"
    assert resp.text.endswith("/sess9\r\n") and "/projects/ROUTE/" in resp.text
    plain = [("b.dcm", encode(image(study_uid="1.2.4", series_uid="1.2.4.1", series_number=1,
                                     instance_number=1, study_description="ROUTE",
                                     patient_name="PN", patient_id="PID7", modality="MR")))]
    resp = requests.post(xnat_emulator.url + "/data/services/import",
                         params={"import-handler": "DICOM-zip", "format": "txt"},
                         auth=("admin", "admin"), data=b"".join(zip_stream(plain)),
                         headers={"Content-Type": "application/zip"})
    assert resp.text.startswith("/data/prearchive/projects/ROUTE/") and resp.text.endswith("/PID7")
    assert {e.subject for e in xnat_emulator.prearchive_entries("ROUTE")} == {"subj9", "PN"}


def test_wrong_content_type_and_bad_entries(xnat_emulator: XnatEmulator) -> None:
    url, auth = xnat_emulator.url + "/data/services/import", ("admin", "admin")
    params = {"import-handler": "DICOM-zip", "PROJECT_ID": "DEMO", "SUBJECT_ID": "S",
              "EXPT_LABEL": "E"}
    entries = study({1: 2})
    payload = b"".join(zip_stream(entries))
    resp = requests.post(url, params=params, auth=auth, data=payload,
                         headers={"Content-Type": "application/octet-stream"})
    assert resp.status_code == 400 and "<h3>Unsupported format UNKNOWN</h3>" in resp.text
    resp = requests.post(url, params={**params, "import-handler": "BOGUS"}, auth=auth, data=payload,
                         headers={"Content-Type": "application/zip"})
    assert resp.status_code == 404 and "Unknown importer implementation specified: BOGUS" in resp.text
    # A DICOMDIR-like object (no SOP Class UID) after two good entries: 400, earlier files kept.
    bad = entries + [("DICOMDIR", b"\0" * 128 + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00\x00\x00\x00\x00")]
    resp = requests.post(url, params=params, auth=auth, data=b"".join(zip_stream(bad)),
                         headers={"Content-Type": "application/zip"})
    assert resp.status_code == 400
    [entry] = xnat_emulator.prearchive_entries("DEMO")
    assert entry.status == "RECEIVING" and sum(len(s.files) for s in entry.scans) == 2
    # Not DICOM at all, with and without Ignore-Unparsable.
    junk = [("notes.txt", b"hello")] + study({7: 1})
    resp = requests.post(url, params={**params, "EXPT_LABEL": "E2"}, auth=auth,
                         data=b"".join(zip_stream(junk)), headers={"Content-Type": "application/zip"})
    assert resp.status_code == 400 and "unable to read DICOM object notes.txt" in resp.text
    resp = requests.post(url, params={**params, "EXPT_LABEL": "E2", "Ignore-Unparsable": "true"},
                         auth=auth, data=b"".join(zip_stream(junk)),
                         headers={"Content-Type": "application/zip"})
    assert resp.status_code == 200 and resp.text.endswith("/E2\r\n")
    # Python's zipfile writing to a pipe: STORED + data descriptor, unreadable by ZipInputStream.
    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b: bytes) -> int:  # type: ignore[override]
            self.data += b
            return len(b)
    pipe = Pipe()
    with zipfile.ZipFile(pipe, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("x.dcm", entries[0][1])
    resp = requests.post(url, params=params, auth=auth, data=bytes(pipe.data),
                         headers={"Content-Type": "application/zip"})
    assert resp.status_code == 400 and "only DEFLATED entries can have EXT descriptor" in resp.text


def test_empty_zip_means_nothing_stored(xnat_emulator: XnatEmulator) -> None:
    client = client_for(xnat_emulator)
    with pytest.raises(XnatUploadError) as info:
        client.import_zip("DEMO", "S", "S_MR_1", body([]))
    assert "stored nothing" in info.value.user_message


def test_two_studies_in_one_zip(xnat_emulator: XnatEmulator) -> None:
    client = client_for(xnat_emulator)
    with pytest.raises(XnatUploadError) as info:
        client.import_zip("DEMO", "S", "S_MR_1", body(study({1: 1}) + study({1: 1})))
    assert "more than one study" in info.value.user_message
    assert len(xnat_emulator.prearchive_entries("DEMO")) == 2


def test_same_session_twice_same_receiving_session_dedupes(xnat_emulator: XnatEmulator) -> None:
    client = client_for(xnat_emulator)
    entries = study({1: 3})
    first = client.import_zip("DEMO", "S", "S_MR_1", body(entries))
    second = client.import_zip("DEMO", "S", "S_MR_1", body(entries))
    assert first == second
    client.commit(first)
    assert client.verify_session("DEMO", "S", "S_MR_1", {"1": 3}).ok


def test_reupload_after_archive_conflicts_instead_of_duplicating(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    client = client_for(xnat_emulator)
    entries = study({1: 2})
    upload_session(client, "DEMO", "S", "S_MR_1", lambda: body(entries), {"1": 2})
    uri = client.import_zip("DEMO", "S", "S_MR_1", body(entries))
    with pytest.raises(XnatError) as info:
        client.commit(uri)
    assert info.value.status == 500 and info.value.server_message.startswith("FAILED")
    assert xnat_emulator.prearchive_entries("DEMO")[0].status == "CONFLICT"
    assert len(xnat_emulator.experiments("DEMO")) == 1
    assert len(xnat_emulator.archived_files("DEMO", "S", "S_MR_1")) == 2
    # A new series merges into the existing session (commit uses merge semantics).
    more = study({9: 1}, study_uid=xnat_emulator.experiment("DEMO", "S_MR_1").uid)  # type: ignore[union-attr]
    client.delete_prearchive(uri)
    outcome = upload_session(client, "DEMO", "S", "S_MR_1", lambda: body(more), {"9": 1})
    assert outcome.verification.found == {"1": 2, "9": 1}


def test_archive_dest_conflict_is_generic_400_by_version(xnat_emulator: XnatEmulator) -> None:
    url, auth = xnat_emulator.url + "/data/services/import", ("admin", "admin")
    entries = study({1: 1})
    params = {"import-handler": "DICOM-zip", "dest": "/archive/projects/DEMO/subjects/S/experiments/E",
              "SUBJECT_ID": "S", "EXPT_LABEL": "E"}
    send = lambda p: requests.post(url, params=p, auth=auth, data=b"".join(zip_stream(entries)),  # noqa: E731
                                   headers={"Content-Type": "application/zip"})
    first = send(params)
    assert first.status_code == 200
    assert first.text == "/data/archive/projects/DEMO/subjects/S/experiments/E\r\n"
    again = send(params)
    assert again.status_code == 400 and "unable to archive for the Prearchive session" in again.text
    xnat_emulator.set_version("1.9.1")
    assert "Failed to archive 1 of 1 session(s)" in send(params).text
    si = send({**params, "import-handler": "SI"})
    assert si.status_code == 409 and "Session already exists" in si.text
    # overwrite=delete replaces.
    assert send({**params, "overwrite": "delete"}).status_code == 200


def test_site_script_recorded_unless_prevent_anon(xnat_emulator: XnatEmulator) -> None:
    import pydicom
    xnat_emulator.set_site_script('version "6.1"\n')
    url, auth = xnat_emulator.url + "/data/services/import", ("admin", "admin")
    entries = study({1: 1})
    requests.post(url, params={"import-handler": "DICOM-zip", "PROJECT_ID": "DEMO",
                               "SUBJECT_ID": "S", "EXPT_LABEL": "E"}, auth=auth,
                  data=b"".join(zip_stream(entries)), headers={"Content-Type": "application/zip"})
    [entry] = xnat_emulator.prearchive_entries("DEMO")
    [path] = xnat_emulator.prearchive_files(entry)
    ds = pydicom.dcmread(path)
    assert ds.DeidentificationMethodCodeSequence[0].CodingSchemeDesignator == "XNAT"
    client = client_for(xnat_emulator)
    client.import_zip("DEMO", "S", "E_clean", body(study({1: 1})))
    clean = [e for e in xnat_emulator.prearchive_entries("DEMO") if e.name == "E_clean"][0]
    assert "DeidentificationMethodCodeSequence" not in pydicom.dcmread(xnat_emulator.prearchive_files(clean)[0])


def test_cancel_stops_the_upload(xnat_emulator: XnatEmulator) -> None:
    client = client_for(xnat_emulator)
    sent: list[int] = []
    with pytest.raises(XnatCancelled):
        client.import_zip("DEMO", "S", "S_MR_1", body(study({1: 4})), progress=sent.append,
                          cancel=lambda: len(sent) >= 2)
    assert len(sent) == 2
    # The client is still usable afterwards.
    assert client.upload_projects()[0].id == "DEMO"


def test_invalid_labels_rejected_before_sending(xnat_emulator: XnatEmulator) -> None:
    client = client_for(xnat_emulator)
    with pytest.raises(ValueError):
        client.import_zip("DEMO", "S", "bad label", body(study({1: 1})))
    with pytest.raises(ValueError):
        client.import_zip("DEMO", "Doe, J", "S_MR_1", body(study({1: 1})))
    with pytest.raises(ValueError):
        client.commit("/data/archive/projects/DEMO")


def test_series_import_filter_drop_is_caught_by_verification(xnat_emulator: XnatEmulator) -> None:
    import json as _json
    from desktop_client.xnat import XnatVerificationError
    xnat_emulator.set_prearchive_code("DEMO", 4)
    xnat_emulator.set_config("DEMO", "seriesImportFilter", "config",
                             _json.dumps({"mode": "blacklist", "list": "series 2$"}))
    client = client_for(xnat_emulator)
    entries = study({1: 2, 2: 3})
    with pytest.raises(XnatVerificationError) as info:
        upload_session(client, "DEMO", "S", "S_MR_1", lambda: body(entries), expected_counts(entries))
    assert info.value.details == ["scan 2: 3 file(s) sent, 0 on the server"]
    whitelist = {"mode": "whitelist", "list": "series 9$"}
    xnat_emulator.set_config("DEMO", "seriesImportFilter", "config", _json.dumps(whitelist))
    with pytest.raises(XnatUploadError) as nothing:
        client.import_zip("DEMO", "S", "S_MR_2", body(entries))
    assert "stored nothing" in nothing.value.user_message


def test_overwrite_quirks_on_archive_dest(xnat_emulator: XnatEmulator) -> None:
    url, auth = xnat_emulator.url + "/data/services/import", ("admin", "admin")
    params = {"import-handler": "DICOM-zip", "dest": "/archive/projects/DEMO",
              "SUBJECT_ID": "S", "EXPT_LABEL": "E"}
    first = study({1: 1})
    uid = pydicom_uid(first)
    send = lambda entries, **extra: requests.post(  # noqa: E731
        url, params={**params, **extra}, auth=auth, data=b"".join(zip_stream(entries)),
        headers={"Content-Type": "application/zip"})
    assert send(first).status_code == 200
    second = study({2: 1}, study_uid=uid)
    assert send(second).status_code == 400                     # no overwrite → conflict
    assert send(second, overwrite="none").status_code == 200   # "none" still merges (quirk)
    assert send(first, overwrite="append").status_code == 400  # same files again
    assert send(first, overwrite="append", overwrite_files="true").status_code == 200
    experiment = xnat_emulator.experiment("DEMO", "E")
    assert experiment is not None and [s.id for s in experiment.scans] == ["1", "2"]


def test_lowercase_aliases_only_for_dicom_zip(xnat_emulator: XnatEmulator) -> None:
    url, auth = xnat_emulator.url + "/data/services/import", ("admin", "admin")
    entries = study({1: 1}, patient_id="FROMDICOM")
    zipped = requests.post(url, params={"import-handler": "DICOM-zip", "project": "DEMO",
                                        "subject": "s1", "session": "lower"}, auth=auth,
                           data=b"".join(zip_stream(entries)), headers={"Content-Type": "application/zip"})
    assert "/prearchive/projects/DEMO/" in zipped.text and zipped.text.endswith("/lower\r\n")
    assert xnat_emulator.prearchive_entries("DEMO")[0].subject == "s1"
    gradual = requests.post(url, params={"import-handler": "gradual-DICOM", "PROJECT_ID": "DEMO",
                                         "session": "ignored"}, auth=auth, data=entries[0][1],
                            headers={"Content-Type": "application/dicom"})
    assert gradual.text.strip().endswith("/FROMDICOM")


def test_duplicate_sop_uids_without_rename_fail_the_archive(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    one = encode(image(study_uid="1.9", series_uid="1.9.1", series_number=1, instance_number=1,
                       sop_uid="1.9.1.1", modality="MR"))
    url, auth = xnat_emulator.url + "/data/services/import", ("admin", "admin")
    resp = requests.post(url, params={"import-handler": "DICOM-zip", "PROJECT_ID": "DEMO",
                                      "SUBJECT_ID": "S", "EXPT_LABEL": "DUP"}, auth=auth,
                         data=b"".join(zip_stream([("a.dcm", one), ("b.dcm", one)])),
                         headers={"Content-Type": "application/zip"})
    uri = resp.text.strip()
    commit = requests.post(xnat_emulator.url + uri, params={"action": "commit"}, auth=auth)
    assert commit.status_code == 500 and "duplicated SOP instance UIDs" in commit.text
    # With rename=true (what the client sends) the second copy simply replaces the first.
    client = client_for(xnat_emulator)
    outcome = upload_session(client, "DEMO", "S", "DUP2", lambda: body([("a", one), ("b", one)]),
                             {"1": 1})
    assert outcome.archived


def pydicom_uid(entries: list[tuple[str, bytes]]) -> str:
    import pydicom
    return str(pydicom.dcmread(io.BytesIO(entries[0][1])).StudyInstanceUID)


def test_parallel_uploads_share_one_client(xnat_emulator: XnatEmulator) -> None:
    from concurrent.futures import ThreadPoolExecutor
    xnat_emulator.set_prearchive_code("DEMO", 4)
    client = client_for(xnat_emulator)
    studies = {f"P{i}_MR_1": study({1: 3, 2: 2}) for i in range(4)}

    def one(label: str) -> bool:
        entries = studies[label]
        return upload_session(client, "DEMO", label.split("_")[0], label, lambda: body(entries),
                              expected_counts(entries)).archived

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(one, studies))
    assert sorted(e.label for e in xnat_emulator.experiments("DEMO")) == sorted(studies)


def test_si_handler_refuses_multiple_studies(xnat_emulator: XnatEmulator) -> None:
    resp = requests.post(xnat_emulator.url + "/data/services/import",
                         params={"import-handler": "SI", "PROJECT_ID": "DEMO"}, auth=("admin", "admin"),
                         data=b"".join(zip_stream(study({1: 1}) + study({1: 1}))),
                         headers={"Content-Type": "application/zip"})
    assert resp.status_code == 400 and "multiple imaging sessions" in resp.text
