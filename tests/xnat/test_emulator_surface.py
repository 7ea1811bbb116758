"""The rest of the emulator's surface: auth services, tokens, archive service, other importers,
auto-commit, persistence, TLS and the standalone entry point."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import io
from pathlib import Path

import pytest
import requests

from desktop_client.xnat import XnatClient, XnatConnectionError, zip_stream
from desktop_client.xnat.errors import server_message
from tests.helpers import wait_until
from tests.xnat.helpers import body, client_for, study
from tests.xnat_emulator import XnatEmulator

AUTH = ("admin", "admin")


def _import(emu: XnatEmulator, data: bytes, content_type: str = "application/zip", **params: str):  # type: ignore[no-untyped-def]
    base = {"PROJECT_ID": "DEMO", "SUBJECT_ID": "S", "EXPT_LABEL": "E"}
    return requests.post(emu.url + "/data/services/import", params={**base, **params}, auth=AUTH,
                         data=data, headers={"Content-Type": content_type})


def test_services_auth_data_auth_and_tokens(xnat_emulator: XnatEmulator) -> None:
    url = xnat_emulator.url
    ok = requests.put(url + "/data/services/auth", data={"username": "member", "password": "member"})
    assert ok.status_code == 200 and len(ok.text) == 32
    bad = requests.post(url + "/data/services/auth", data={"username": "member", "password": "x"})
    assert bad.status_code == 401 and server_message(bad.text) == "Authentication failed."
    session = requests.Session()
    text = session.get(url + "/data/auth", params={"CSRF": "true"}, auth=AUTH).text
    assert text.startswith("User 'admin' is logged in; XNAT_CSRF=")
    assert session.cookies.get("SESSION_EXPIRATION_TIME", "").endswith(',900000"')
    token = session.get(url + "/data/services/tokens/issue").json()
    assert set(token) >= {"alias", "secret", "xdatUserId", "estimatedExpirationTime"}
    valid = session.get(f"{url}/data/services/tokens/validate/{token['alias']}/{token['secret']}")
    assert valid.json() == {"valid": "admin"}
    assert session.get(f"{url}/data/services/tokens/invalidate/{token['alias']}").json() == {"result": "OK"}
    assert requests.get(url + "/data/JSESSION", auth=(token["alias"], token["secret"])).status_code == 401
    assert requests.get(url + "/xapi/siteConfig/buildInfo", auth=AUTH).json()["version"] == "1.8.10"
    rest = requests.get(url + "/REST/projects", auth=AUTH, params={"format": "json"})
    assert rest.json()["ResultSet"]["Result"][0]["ID"] == "DEMO"        # /REST aliases /data
    assert requests.get(url + "/data/services/import", auth=AUTH).status_code == 405


def test_session_cap_blocks_new_logins_and_cookie_reuse_avoids_it(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.max_sessions_per_user = 2
    client = client_for(xnat_emulator)                  # one session, reused by every call
    for _ in range(3):
        client.upload_projects()
    requests.get(xnat_emulator.url + "/data/JSESSION", auth=AUTH)   # cookie-less: a 2nd session
    third = requests.get(xnat_emulator.url + "/data/JSESSION", auth=AUTH)
    assert third.status_code == 401 and "Maximum sessions" in third.text
    assert client.subjects("DEMO") == []


def test_lockout_after_repeated_failures(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.max_failed_logins = 3
    for _ in range(3):
        requests.get(xnat_emulator.url + "/data/JSESSION", auth=("member", "wrong"))
    locked = requests.get(xnat_emulator.url + "/data/JSESSION", auth=("member", "member"))
    assert locked.status_code == 401 and "locked" in locked.text


def test_gradual_dicom_tar_tgz_and_multipart(xnat_emulator: XnatEmulator) -> None:
    entries = study({1: 2})
    one = _import(xnat_emulator, entries[0][1], "application/dicom", **{"import-handler": "gradual-DICOM"})
    assert one.status_code == 200 and one.text.endswith("/E\r\n")
    two = _import(xnat_emulator, entries[1][1], "application/dicom")   # handler chosen by type
    assert two.text == one.text                                          # same RECEIVING session
    for compressed, ctype in ((False, "application/x-tar"), (True, "application/x-gtar")):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz" if compressed else "w") as tar:
            for name, data in study({3: 2}):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        resp = _import(xnat_emulator, buf.getvalue(), ctype, **{"import-handler": "DICOM-zip",
                                                                  "EXPT_LABEL": f"T{int(compressed)}"})
        assert resp.status_code == 200, resp.text
    payload = b"".join(zip_stream(study({4: 1})))
    multi = requests.post(xnat_emulator.url + "/data/services/import", auth=AUTH,
                          data={"import-handler": "DICOM-zip", "PROJECT_ID": "DEMO",
                                "SUBJECT_ID": "S", "EXPT_LABEL": "M"},
                          files={"file": ("upload.zip", payload, "application/octet-stream")})
    assert multi.status_code == 200 and multi.text.endswith("/M\r\n")
    twice = requests.post(xnat_emulator.url + "/data/services/import", auth=AUTH,
                          files={"a": ("a.zip", payload), "b": ("b.zip", payload)})
    assert "limited to one uploaded resource" in twice.text
    assert _import(xnat_emulator, b"", **{"import-handler": "DICOM-zip"}).status_code == 400


def test_dest_prearchive_builds_and_services_archive(xnat_emulator: XnatEmulator) -> None:
    payload = b"".join(zip_stream(study({1: 2})))
    resp = _import(xnat_emulator, payload, **{"import-handler": "DICOM-zip", "dest": "/prearchive/projects/DEMO"})
    uri = resp.text.strip()
    assert xnat_emulator.prearchive_entries("DEMO")[0].status == "READY"
    assert _import(xnat_emulator, payload, **{"import-handler": "DICOM-zip", "dest": "/bogus"}).status_code == 400
    archived = requests.post(xnat_emulator.url + "/data/services/archive", auth=AUTH,
                             params={"src": uri[len("/data"):]})
    assert archived.status_code == 200
    assert archived.text == "/data/archive/projects/DEMO/subjects/S/experiments/E\r\n"
    rows = requests.get(xnat_emulator.url + "/data/projects/DEMO/experiments", auth=AUTH,
                        params={"format": "json", "columns": "ID,label,UID", "label": "E*"}).json()
    [row] = rows["ResultSet"]["Result"]
    assert set(row) == {"ID", "label", "UID", "URI"} and row["URI"] == f"/data/experiments/{row['ID']}"
    res = requests.get(f"{xnat_emulator.url}/data/experiments/{row['ID']}/scans/1/resources",
                       auth=AUTH, params={"format": "json"}).json()["ResultSet"]["Result"][0]
    assert (res["label"], res["file_count"]) == ("DICOM", "2")
    files = requests.get(f"{xnat_emulator.url}/data/experiments/{row['ID']}/scans/1/resources/DICOM/files",
                         auth=AUTH, params={"format": "json"}).json()["ResultSet"]["Result"]
    assert set(files[0]) == {"Name", "Size", "URI", "collection", "file_tags", "file_format",
                             "file_content", "cat_ID", "digest"}
    blob = requests.get(xnat_emulator.url + files[0]["URI"], auth=AUTH)
    import hashlib
    assert hashlib.md5(blob.content).hexdigest() == files[0]["digest"]
    html = requests.get(xnat_emulator.url + "/data/projects/DEMO/subjects/S/experiments/E", auth=AUTH)
    assert html.headers["Content-Type"] == "text/html"    # no format=json → HTML, as on XNAT


def test_auto_commit_archives_partial_uploads_unless_prevented(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    xnat_emulator.auto_commit_seconds = 0.2
    payload = b"".join(zip_stream(study({1: 1})))
    _import(xnat_emulator, payload, **{"import-handler": "DICOM-zip", "EXPT_LABEL": "AUTO"})
    client = client_for(xnat_emulator)
    client.import_zip("DEMO", "S", "KEPT", body(study({1: 1})))
    wait_until(None, lambda: xnat_emulator.experiment("DEMO", "AUTO") is not None, 5, "the auto-commit")
    assert [e.name for e in xnat_emulator.prearchive_entries("DEMO")] == ["KEPT"]


def test_state_persists_across_restart(tmp_path: Path) -> None:
    with XnatEmulator(tmp_path / "d") as first:
        first.seed_default()
        first.set_prearchive_code("DEMO", 4)
        client_for(first).import_zip("DEMO", "S", "E1", body(study({1: 1})))
    with XnatEmulator(tmp_path / "d") as second:
        client = client_for(second)
        assert [e.name for e in client.prearchive_entries("DEMO")] == ["E1"]
        assert client.commit(client.prearchive_entries("DEMO")[0].uri).archived


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_tls_verified_by_default_ca_bundle_and_insecure_opt_in(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    with XnatEmulator(tmp_path / "tls", tls_cert=cert, tls_key=key) as emu:
        emu.seed_default()
        assert emu.url.startswith("https://")
        with pytest.raises(XnatConnectionError) as info:
            XnatClient(emu.url, "admin", "admin", timeout=5).login()
        assert "certificate" in info.value.user_message
        trusted = XnatClient(emu.url, "admin", "admin", verify=str(cert))
        trusted.login()
        assert trusted.upload_projects()[0].id == "DEMO"
        insecure = XnatClient(emu.url, "admin", "admin", allow_insecure=True)
        with pytest.warns(Warning):
            insecure.login()


def test_standalone_entry_point(tmp_path: Path) -> None:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "tests.xnat_emulator", "--data", str(tmp_path / "s"),
                             "--port", str(port)], cwd=Path(__file__).resolve().parents[2],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert f"127.0.0.1:{port}" in line
        client = XnatClient(f"http://127.0.0.1:{port}", "admin", "admin")
        client.login()
        assert client.upload_projects()[0].id == "DEMO"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_server_message_extraction() -> None:
    assert server_message("<html><body><h3>Already assigned to project: X</h3></body></html>") == \
        "Already assigned to project: X"
    assert server_message("<html><head><title>504 Gateway Time-out</title></head></html>") == \
        "504 Gateway Time-out"
    assert server_message("plain  text\n reason") == "plain text reason"
