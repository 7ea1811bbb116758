"""Login, session cookie, CSRF, expiry and re-login, alias tokens, logout, TLS options."""

from __future__ import annotations

import pytest
import requests

from desktop_client.xnat import USER_AGENT, XnatAuthError, XnatClient, XnatConnectionError
from desktop_client.xnat.client import normalise_base_url
from tests.xnat.helpers import client_for
from tests.xnat_emulator import XnatEmulator


def test_login_gets_cookie_and_csrf_and_nonbrowser_agent(xnat_emulator: XnatEmulator) -> None:
    client = client_for(xnat_emulator)
    assert client._csrf and len(client._csrf) == 36
    assert client._session.cookies.get("JSESSIONID")
    assert "Mozilla" not in USER_AGENT and "xnat-desktop-uploader" in USER_AGENT
    assert client.server_version() == "1.8.10"
    # Later calls ride on the cookie: exactly one server session was created.
    client.upload_projects()
    assert len(xnat_emulator._server.sessions) == 1


def test_wrong_password_is_a_clear_auth_error(xnat_emulator: XnatEmulator) -> None:
    client = XnatClient(xnat_emulator.url, "admin", "nope")
    with pytest.raises(XnatAuthError) as info:
        client.login()
    assert info.value.status == 401
    assert "user name or password" in info.value.user_message


def test_alias_token_logs_in(xnat_emulator: XnatEmulator) -> None:
    alias, secret = xnat_emulator.issue_token("member")
    client = client_for(xnat_emulator, alias, secret)
    assert [p.id for p in client.upload_projects()] == ["DEMO"]
    issued = client.issue_alias_token()
    assert client_for(xnat_emulator, *issued).upload_projects()[0].role == "member"


def test_expired_session_is_renewed_transparently(xnat_emulator: XnatEmulator) -> None:
    client = client_for(xnat_emulator)
    old = client._session.cookies.get("JSESSIONID")
    xnat_emulator.expire_sessions()
    assert [p.id for p in client.upload_projects()] == ["DEMO"]
    assert client._session.cookies.get("JSESSIONID") != old
    statuses = [s for m, p, s in xnat_emulator.request_log if p == "/data/projects"]
    assert statuses[0] == 401 and statuses[-1] == 200


def test_idle_timeout_expiry(xnat_emulator: XnatEmulator) -> None:
    import time
    xnat_emulator.session_timeout = 0.3
    client = client_for(xnat_emulator)
    time.sleep(0.5)
    assert client.subjects("DEMO") == []
    assert any(s == 401 for _, _, s in xnat_emulator.request_log)


def test_browser_agent_gets_login_redirect_and_client_treats_it_as_expiry(
        xnat_emulator: XnatEmulator) -> None:
    resp = requests.get(xnat_emulator.url + "/data/projects",
                        headers={"User-Agent": "Mozilla/5.0"}, allow_redirects=False)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/app/template/Login.vm")
    followed = requests.get(xnat_emulator.url + "/data/projects", headers={"User-Agent": "Mozilla/5.0"})
    assert followed.status_code == 200 and "<html" in followed.text.lower()
    plain = requests.get(xnat_emulator.url + "/data/projects")
    assert plain.status_code == 401 and "Basic" in plain.headers["WWW-Authenticate"]
    # The client recognises the redirect as "session gone" (it never sends such an agent).
    client = client_for(xnat_emulator)
    assert client._is_auth_failure(resp) and client._is_auth_failure(plain)


def test_csrf_enforced_for_browser_agents_and_client_sends_it(xnat_emulator: XnatEmulator) -> None:
    session = requests.Session()
    session.headers["User-Agent"] = "Mozilla/5.0"
    session.post(xnat_emulator.url + "/data/JSESSION", auth=("admin", "admin"))
    refused = session.put(xnat_emulator.url + "/data/projects/DEMO/subjects/S1")
    assert refused.status_code == 500
    client = client_for(xnat_emulator)
    client._session.headers["User-Agent"] = "Mozilla/5.0"
    assert client.create_subject("DEMO", "S1").id.startswith("XNAT_S")


def test_logout_invalidates_the_session(xnat_emulator: XnatEmulator) -> None:
    client = client_for(xnat_emulator)
    cookie = client._session.cookies.get("JSESSIONID")
    client.logout()
    resp = requests.get(xnat_emulator.url + "/data/JSESSION", cookies={"JSESSIONID": cookie})
    assert resp.status_code == 401


def test_context_path_and_base_url_forms(tmp_path) -> None:
    emulator = XnatEmulator(tmp_path / "ctx", context_path="/xnat")
    emulator.seed_default()
    with emulator:
        assert emulator.url.endswith("/xnat")
        client = XnatClient(emulator.url + "/", "admin", "admin")
        client.login()
        assert client.upload_projects()[0].id == "DEMO"
        assert XnatClient(emulator.url.rsplit("/xnat", 1)[0], "admin", "admin").base_url != client.base_url
    assert normalise_base_url("xnat.example.org/xnat/") == "https://xnat.example.org/xnat"
    assert normalise_base_url("http://h:8080/data") == "http://h:8080"
    with pytest.raises(ValueError):
        normalise_base_url("ftp://h")


def test_insecure_needs_explicit_opt_in_and_tls_errors_are_clear(tmp_path) -> None:
    with pytest.raises(ValueError):
        XnatClient("https://127.0.0.1:1", "a", "b", verify=False)
    assert XnatClient("https://127.0.0.1:1", "a", "b", allow_insecure=True)._session.verify is False
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    assert XnatClient("https://127.0.0.1:1", "a", "b", verify=str(bundle))._session.verify == str(bundle)


def test_unreachable_server_is_a_connection_error() -> None:
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    client = XnatClient(f"http://127.0.0.1:{port}", "a", "b", timeout=2)
    with pytest.raises(XnatConnectionError) as info:
        client.login()
    assert "Could not reach" in info.value.user_message
