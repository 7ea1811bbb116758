"""Addresses people type, plain http and redirects at login (issue 17 §2, issue 14 §4).

Everything runs against real emulators on loopback; a second emulator with TLS plays the https
site an http front end redirects to.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from desktop_client.xnat import (
    XnatAuthError, XnatClient, XnatConnectionError, XnatInsecureTransportError, parse_address,
)
from desktop_client.xnat.address import check_transport, is_loopback_host
from tests.xnat_emulator.emulator import XnatEmulator


@pytest.mark.parametrize("typed, url, given", [
    ("xnat.example.org", "https://xnat.example.org", False),
    ("  XNAT.example.org:8443/xnat/ ", "https://xnat.example.org:8443/xnat", False),
    ("http://h.example.org/xnat/app/template/Login.vm", "http://h.example.org/xnat", True),
    ("https://h.example.org/app/template/Login.vm#x", "https://h.example.org", True),
    ("https://h.example.org/xnat/data/projects/P?format=json", "https://h.example.org/xnat", True),
    ("https://h.example.org//REST/", "https://h.example.org", True),
    ("https://h.example.org/xnat/index.jsp", "https://h.example.org/xnat", True),
])
def test_typed_addresses_are_normalised(typed: str, url: str, given: bool) -> None:
    address = parse_address(typed)
    assert (address.url, address.scheme_given) == (url, given)


@pytest.mark.parametrize("typed", ["", "   ", "ftp://h.example.org", "https://"])
def test_unusable_addresses_get_a_sentence(typed: str) -> None:
    with pytest.raises(ValueError, match="server address"):
        parse_address(typed)


def test_loopback_is_recognised() -> None:
    assert all(is_loopback_host(h) for h in ("localhost", "127.0.0.1", "127.3.4.5", "[::1]", "::1"))
    assert not any(is_loopback_host(h) for h in ("xnat.example.org", "10.0.0.1", "192.168.1.2"))


def test_plain_http_to_another_machine_is_refused_before_any_traffic() -> None:
    with pytest.raises(XnatInsecureTransportError) as info:
        XnatClient("http://xnat.example.org/xnat", "u", "p")
    message = info.value.user_message
    assert "https://" in message and "--allow-http" in message and "readable" in message
    # The opt-in is honoured (no request is made by the constructor).
    assert XnatClient("http://xnat.example.org", "u", "p", allow_http=True).base_url \
        == "http://xnat.example.org"
    check_transport(parse_address("http://localhost:8080"), allow_http=False)


def test_loopback_http_needs_no_opt_in(xnat_emulator) -> None:
    client = XnatClient(xnat_emulator.url, "admin", "admin")
    client.login()
    assert client.upload_projects()[0].id == "DEMO"
    assert client.notices == []


def test_bare_host_tries_https_first_then_loopback_http(xnat_emulator) -> None:
    bare = xnat_emulator.url.split("://", 1)[1]
    client = XnatClient(bare + "/app/template/Login.vm", "admin", "admin", timeout=5)
    client.login()
    assert client.base_url == xnat_emulator.url
    assert "does not answer over https" in client.notices[0]
    assert client.upload_projects()[0].id == "DEMO"


def test_a_login_page_address_logs_in(xnat_emulator) -> None:
    client = XnatClient(xnat_emulator.url + "/app/template/Login.vm", "admin", "admin")
    client.login()
    assert client.base_url == xnat_emulator.url


def _cert(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_http_to_https_redirect_is_followed_with_a_message_and_no_credential_in_clear(
        tmp_path: Path, xnat_emulator) -> None:
    cert, key = _cert(tmp_path)
    with XnatEmulator(tmp_path / "tls", tls_cert=cert, tls_key=key) as secure:
        secure.seed_default()
        front = xnat_emulator  # the http front end: every request → 301 to the https site
        front.faults.redirect_all(secure.url, status=301)
        client = XnatClient(front.url, "admin", "admin", verify=str(cert))
        client.login()
        assert client.base_url == secure.url
        assert client.notices == [f"{front.url} redirects to {secure.url}; using {secure.url}."]
        assert client.upload_projects()[0].id == "DEMO"
        # The http side saw one credential-less probe and nothing else.
        assert front.request_log == [("GET", "/data/JSESSION", 301)]
        assert any(path == "/data/JSESSION" and method == "POST"
                   for method, path, _ in secure.request_log)


def test_single_sign_on_front_end_is_explained(xnat_emulator) -> None:
    xnat_emulator.faults.redirect_all("https://idp.example.org/saml2/login?app=xnat", status=302,
                                      keep_path=False)
    client = XnatClient(xnat_emulator.url, "admin", "admin")
    with pytest.raises(XnatAuthError) as info:
        client.login()
    assert "single sign-on" in info.value.user_message
    assert "alias token" in info.value.user_message
    assert "idp.example.org" in info.value.user_message
    assert [m for m, _, _ in xnat_emulator.request_log] == ["GET"]  # no POST with the password


def test_redirect_to_another_host_is_named_not_followed_with_credentials(xnat_emulator) -> None:
    other = xnat_emulator.url.replace("127.0.0.1", "localhost")
    xnat_emulator.faults.redirect_all(other, status=302)
    with pytest.raises(XnatConnectionError) as info:
        XnatClient(xnat_emulator.url, "admin", "admin").login()
    assert other in info.value.user_message and "another host" in info.value.user_message
    assert [m for m, _, _ in xnat_emulator.request_log] == ["GET"]


def test_cli_refuses_plain_http_without_allow_http(tmp_path: Path, capsys) -> None:
    from desktop_client.cli.main import main
    from desktop_client.transfer import DestinationSpec

    src = tmp_path / "src"
    src.mkdir()
    code = main(["upload", str(src), "--to", "http://xnat.example.org", "--user", "u",
                 "--project", "P"])
    assert code == 2
    err = capsys.readouterr().err
    assert "unencrypted" in err and "--allow-http" in err and "Traceback" not in err
    # The opt-in travels with the queued transfer, so a resumed upload keeps the decision.
    spec = DestinationSpec.parse("http://xnat.example.org", username="u", allow_http=True)
    assert spec.allow_http
    from desktop_client.destinations import open_destination

    destination = open_destination(spec, "p")
    assert destination.client.allow_http
    with pytest.raises(Exception, match="--allow-http"):
        open_destination(DestinationSpec.parse("http://xnat.example.org", username="u"), "p")
