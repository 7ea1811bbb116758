"""``XnatClient``: the ~15 XNAT calls an uploader needs, with XNAT's quirks handled.

Built on plain ``requests`` (reference §7.3). What it takes care of, and why:

* **Login** with ``POST /data/JSESSION?CSRF=true`` and Basic auth (password or alias token
  ``alias:secret``), then only the ``JSESSIONID`` cookie: one server session per client rather
  than one per request (servers cap sessions per user, §1.4).
* **User-Agent** names this product and never contains "Mozilla": XNAT answers browser-like
  agents with a silent 302 to the login page instead of a 401 (§1.4).
* **CSRF** token sent as ``XNAT_CSRF`` on POST/PUT/DELETE — needed only for browser-like agents,
  harmless otherwise (§1.6).
* **Expiry**: a 401 or a redirect to ``Login.vm`` triggers one transparent re-login and one
  repeat of the request (safe: the server refuses before doing anything). A streamed upload body
  cannot be repeated, so ``import_zip`` refreshes the session first and raises
  ``XnatSessionExpired`` (retry with a fresh body) if it still meets a 401.
* **Retries** with capped exponential backoff for idempotent requests only (GETs); POSTs that
  may have been executed raise with ``outcome_unknown=True`` so callers reconcile (§6).
* **TLS** verified by default; a CA bundle path may be given; turning verification off needs the
  explicit ``allow_insecure=True`` opt-in for that server.
* **No credentials in clear** (``address.py``): before the first login the address is probed
  *without* credentials — https first when no scheme was typed, redirects followed for that GET
  only. An http→https redirect on the same host upgrades the address (and says so in
  ``notices``); a redirect to another host or to a single sign-on page stops with a sentence
  naming it; plain http to anything but loopback needs ``allow_http=True``.
"""

from __future__ import annotations

import json
import logging
import platform
import re
import threading
import time
from typing import Any, Callable, Iterable, Iterator, Mapping
from urllib.parse import quote, urljoin, urlsplit
from xml.etree import ElementTree

import requests

from desktop_client import APP_SLUG, __version__
from desktop_client.xnat.address import (
    PLAIN_HTTP_WARNING, ServerAddress, check_transport,
    normalise_base_url, parse_address,
)
from desktop_client.xnat.errors import (
    XnatAuthError, XnatCancelled, XnatConcurrentSendError, XnatConflictError, XnatConnectionError, XnatError,
    XnatNotFoundError, XnatPermissionError, XnatServerError, XnatUploadError, server_message,
)
from desktop_client.xnat.models import (
    CommitResult, Experiment, PrearchiveEntry, Project, ProjectSettings, ScriptConfig, Subject,
    Verification,
)

log = logging.getLogger(__name__)  # messages name actions and status codes, never labels or paths

USER_AGENT = (f"{APP_SLUG}/{__version__} (python-requests/{requests.__version__}; "
              f"{platform.system() or 'unknown'})")
_ROLE_NAMES = {"owners": "owner", "members": "member", "collaborators": "collaborator"}
_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_MAX_REDIRECTS = 5
_SSO_HINT = re.compile(r"saml|sso|oauth|openid|oidc|shibboleth|/cas/|/idp/|adfs|login|signin|auth",
                       re.IGNORECASE)
_SCAN_IN_URI = re.compile(r"/scans/([^/]+)/")
_XNAT_NS = "http://nrg.wustl.edu/xnat"
_LABEL_OK = re.compile(r"^[A-Za-z0-9_-]+$")


class XnatSessionExpired(XnatAuthError):
    """The session expired during a request whose body could not be re-sent; the client has
    already logged in again, so the caller can simply retry with a fresh body."""


class _NoHttps(Exception):
    """https did not answer at all (refused, or the port speaks plain http)."""


class _Cancelled(Exception):
    """Raised inside the body iterator to abort a streamed upload."""


class _SizedStream:
    """An iterable body with a known length, so ``requests`` sends Content-Length, not chunked."""

    def __init__(self, chunks: Iterator[bytes], length: int) -> None:
        self._chunks = chunks
        self._length = length

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def __len__(self) -> int:
        return self._length


def _truthy(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    text = value.strip().lower()
    if text == "":
        return default
    return text == "true"


class XnatClient:
    """One authenticated connection to one XNAT server as one user.

    ``verify`` is True (system CAs), or a path to a CA bundle. ``allow_insecure`` is the explicit,
    per-server opt-in to skip certificate checks. ``timeout`` bounds connecting and each wait for
    data on ordinary calls; uploads and commits wait up to ``upload_timeout`` for the answer
    because the server unpacks (and may archive) inside the request.
    """

    def __init__(self, base_url: str, username: str, password: str, *, verify: bool | str = True,
                 allow_insecure: bool = False, allow_http: bool = False, timeout: float = 30.0,
                 upload_timeout: float = 900.0, retries: int = 3, backoff: float = 0.5,
                 backoff_cap: float = 8.0) -> None:
        try:
            self._address: ServerAddress = parse_address(base_url)
        except ValueError as exc:
            raise XnatConnectionError(str(exc), url=str(base_url)) from None
        self.allow_http = allow_http
        if self._address.scheme_given:
            check_transport(self._address, allow_http)  # refuse before anything is sent
        self.base_url = self._address.url
        self.notices: list[str] = []  # what the address probe changed, for the user to read
        self._last_ok = float("-inf")  # when the server last answered a request of ours
        self._resolved = False
        self.username = username
        self._password = password
        if verify is False and not allow_insecure:
            raise ValueError("Certificate checks can only be switched off with allow_insecure=True.")
        self.timeout = timeout
        self.upload_timeout = upload_timeout
        self.retries = retries
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self._session = requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT
        # Passed on every call: a session-level ``verify`` loses against REQUESTS_CA_BUNDLE.
        self._verify: bool | str = False if allow_insecure else verify
        self._session.verify = self._verify
        self._csrf: str | None = None
        self._logged_in = False
        self._lock = threading.RLock()

    # -- context management ------------------------------------------------------------------
    def __enter__(self) -> "XnatClient":
        self.login()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Log out (best effort) and release connections."""
        try:
            self.logout()
        finally:
            self._session.close()

    # -- address resolution ------------------------------------------------------------------
    def resolve_address(self) -> str:
        """Find the address that really answers, without sending any credential; returns it.

        Run once, before the first login. Raises ``XnatInsecureTransportError`` (plain http
        refused), ``XnatAuthError`` (a single sign-on front end) or ``XnatConnectionError``.
        """
        with self._lock:
            if self._resolved:
                return self.base_url
            address = self._address
            if address.scheme_given:
                final = self._follow(address)
            else:
                try:
                    final = self._follow(address.with_scheme("https"), first_try=True)
                except _NoHttps as exc:
                    plain = address.with_scheme("http")
                    if not (plain.is_loopback or self.allow_http):
                        raise XnatConnectionError(
                            f"{address.with_scheme('https').url} does not answer over https. If "
                            f"this server offers only http, type http://{address.host}… and "
                            f"allow an unencrypted connection. {PLAIN_HTTP_WARNING}",
                            server_message=str(exc), url=address.url) from None
                    final = self._follow(plain)
                    self.notices.append(f"{plain.host} does not answer over https; using "
                                        f"{final.url} (unencrypted).")
            check_transport(final, self.allow_http)
            self.base_url = final.url
            self._resolved = True
            return self.base_url

    def _follow(self, address: ServerAddress, *, first_try: bool = False) -> ServerAddress:
        """GET ``/data/JSESSION`` without credentials, following redirects by hand.

        ``first_try``: https chosen by us (no scheme typed); not answering raises ``_NoHttps``.
        """
        current = address
        for _hop in range(_MAX_REDIRECTS):
            url = current.url + "/data/JSESSION"
            try:
                resp = self._session.get(url, timeout=self._timeouts(), allow_redirects=False,
                                         verify=self._verify)
            except requests.exceptions.SSLError as exc:
                if first_try and "CERTIFICATE_VERIFY" not in str(exc):
                    raise _NoHttps(_short(exc)) from None
                raise self._ssl_error(exc) from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                if first_try and current.url.startswith("https://"):
                    raise _NoHttps(_short(exc)) from None
                raise XnatConnectionError(
                    f"Could not reach the XNAT server at {current.url}. Check the address and "
                    f"your network connection.", server_message=_short(exc), url=current.url) from None
            if not resp.is_redirect:
                return current
            target = urljoin(url, resp.headers.get("Location", ""))
            parts = urlsplit(target)
            same_host = (parts.hostname or "").lower() == current.host.lower()
            marker = parts.path.find("/data/JSESSION")
            if marker < 0:
                if same_host and "login.vm" in parts.path.lower():
                    return current  # XNAT's own login page: this is the XNAT
                raise XnatAuthError(
                    f"{current.url} sends logins to a single sign-on page ({parts.scheme}://"
                    f"{parts.netloc}{parts.path}) that this app cannot fill in. Open the site in "
                    f"a browser, create an alias token (your name → Manage Alias Tokens) and log "
                    f"in here with the token's alias and secret."
                    if not same_host or _SSO_HINT.search(parts.path) else
                    f"{current.url} redirects (HTTP {resp.status_code}) to {target}, which is not "
                    f"an XNAT address; check the server address.",
                    status=resp.status_code, url=target)
            moved = parse_address(target[: target.find("/data/JSESSION", len(parts.scheme) + 3)])
            if not same_host:
                raise XnatConnectionError(
                    f"{current.url} sends clients on to {moved.url}. If that is your XNAT site, "
                    f"use that address (your password is not sent to another host without your "
                    f"say-so).", status=resp.status_code, url=moved.url)
            if moved.is_plain_http and not current.is_plain_http:
                check_transport(moved, self.allow_http)
            if moved.url != current.url:
                self.notices.append(f"{current.url} redirects to {moved.url}; using {moved.url}.")
            current = moved
        raise XnatConnectionError(f"{address.url} redirects in a loop; check the server address.",
                                  url=address.url)

    # -- authentication ----------------------------------------------------------------------
    def login(self) -> None:
        """Open a server session (Basic → ``JSESSIONID`` cookie) and fetch the CSRF token."""
        self.resolve_address()
        with self._lock:
            self._session.cookies.clear()
            self._csrf = None
            try:
                resp = self._session.post(self._url("/data/JSESSION"), params={"CSRF": "true"},
                                          auth=(self.username, self._password),
                                          timeout=self._timeouts(), allow_redirects=False,
                                          verify=self._verify)
            except requests.exceptions.SSLError as exc:
                raise self._ssl_error(exc) from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise XnatConnectionError(
                    f"Could not reach the XNAT server at {self.base_url}. Check the address and "
                    f"your network connection.", server_message=_short(exc), url=self.base_url) from None
            if resp.status_code == 401 or self._is_login_redirect(resp):
                raise XnatAuthError("The server rejected the user name or password (or the account "
                                    "is locked).", status=resp.status_code,
                                    server_message=server_message(resp.text), url=resp.url)
            if resp.status_code == 404:
                raise XnatNotFoundError(f"{self.base_url} does not look like an XNAT server (no "
                                        f"/data/JSESSION). Check the address and context path.",
                                        status=404, url=resp.url)
            self._check(resp, "Logging in")
            text = resp.text.strip()
            if text.startswith("<") or not text:
                raise XnatServerError(f"{self.base_url} answered the login with a web page instead "
                                      f"of a session id; is this the XNAT address?",
                                      status=resp.status_code, url=resp.url)
            match = re.search(r"XNAT_CSRF=([\w-]+)", text)
            self._csrf = match.group(1) if match else None
            self._logged_in = True
            self._last_ok = time.monotonic()

    def logout(self) -> None:
        """``DELETE /data/JSESSION``; never raises (the session may already be gone)."""
        with self._lock:
            if not self._logged_in:
                return
            self._logged_in = False
            try:
                self._session.delete(self._url("/data/JSESSION"),
                                     params={"XNAT_CSRF": self._csrf} if self._csrf else None,
                                     timeout=self._timeouts(), allow_redirects=False,
                                          verify=self._verify)
            except requests.RequestException:
                pass
            self._session.cookies.clear()
            self._csrf = None

    def keepalive(self) -> None:
        """``GET /data/JSESSION``: refreshes the idle timer, re-logs in if the session died."""
        self._request("GET", "/data/JSESSION")

    def server_version(self) -> str:
        """XNAT version string, from ``/xapi/siteConfig/buildInfo`` (``/data/version`` fallback)."""
        try:
            data = self._json(self._request("GET", "/xapi/siteConfig/buildInfo"), "Reading the version")
            version = str(data.get("version", "")) if isinstance(data, dict) else ""
            if version:
                return version
        except XnatNotFoundError:
            pass
        return self._request("GET", "/data/version").text.strip()

    def issue_alias_token(self) -> tuple[str, str]:
        """A new alias token ``(alias, secret)`` for this user (store it instead of a password)."""
        data = self._json(self._request("GET", "/data/services/tokens/issue"), "Issuing a token")
        return str(data["alias"]), str(data["secret"])

    # -- projects ----------------------------------------------------------------------------
    def upload_projects(self) -> list[Project]:
        """Projects this user may upload into (owners and members; all for site admins)."""
        rows = self._result(self._request("GET", "/data/projects", params={
            "permissions": "edit", "dataType": "xnat:subjectData", "format": "json"}),
            "Listing projects")
        roles = self._roles()
        details = {r.get("ID", ""): r for r in self._result(
            self._request("GET", "/data/projects", params={"format": "json"}), "Listing projects")}
        projects = []
        for row in rows:
            pid = row.get("id") or row.get("ID") or ""
            info = details.get(pid, {})
            projects.append(Project(id=pid, name=info.get("name", pid),
                                    secondary_id=row.get("secondary_id", info.get("secondary_ID", "")),
                                    description=info.get("description", ""), role=roles.get(pid)))
        return projects

    def projects(self) -> list[Project]:
        """Every project this user can read, with the role (collaborators included)."""
        roles = self._roles()
        rows = self._result(self._request("GET", "/data/projects", params={"format": "json"}),
                            "Listing projects")
        return [Project(id=r.get("ID", ""), name=r.get("name", ""),
                        secondary_id=r.get("secondary_ID", ""), description=r.get("description", ""),
                        role=roles.get(r.get("ID", ""))) for r in rows]

    def _roles(self) -> dict[str, str]:
        try:
            data = self._json(self._request("GET", "/xapi/access/projects"), "Reading project roles")
        except XnatNotFoundError:
            return {}
        roles: dict[str, str] = {}
        for row in data if isinstance(data, list) else []:
            role = _ROLE_NAMES.get(str(row.get("role", "")).lower())
            if role is None:
                group = str(row.get("group_id", ""))
                role = group.rsplit("_", 1)[-1] if "_" in group else None
            if role:
                roles[str(row.get("ID", ""))] = role
        return roles

    def project(self, project_id: str) -> Project:
        """Project details (``items[0].data_fields``)."""
        data = self._json(self._request("GET", f"/data/projects/{_q(project_id)}",
                                        params={"format": "json"}), f"Reading project {project_id}")
        fields = data["items"][0]["data_fields"]
        return Project(id=fields.get("ID", project_id), name=fields.get("name", ""),
                       secondary_id=fields.get("secondary_ID", ""),
                       description=fields.get("description", ""),
                       role=self._roles().get(project_id))

    def project_settings(self, project_id: str) -> ProjectSettings:
        """Destination, applet flags, labeling defaults, tracers and series filters (§6.2)."""
        code_text = self._request("GET", f"/data/projects/{_q(project_id)}/prearchive_code").text.strip()
        try:
            code = int(code_text)
        except ValueError:
            code = 0

        def both(tool: str, path: str) -> str | None:
            value = self.config_text(project_id, tool, path)
            if value is None or not value.strip():
                value = self.config_text(None, tool, path)
            return value

        tracers_text = both("tracers", "tracers") or ""
        # The stored filter lives at .../seriesImportFilter/config; asking for the bare tool
        # (as the official client does) returns XNAT's listing table, not the contents.
        site_filter = self.config_text(None, "seriesImportFilter", "config")
        return ProjectSettings(
            project_id=project_id,
            prearchive_code=code,
            allow_create_subject=_truthy(both("applet", "allow-create-subject"), True),
            require_date=_truthy(both("applet", "require-date"), False),
            allow_bulk_upload=_truthy(self.config_text(project_id, "applet", "allow-bulk-upload"), True),
            default_subject_scheme=(both("applet", "default-subject-labeling-scheme") or "manual").strip(),
            default_session_scheme=(both("applet", "default-session-labeling-scheme") or "auto").strip(),
            pet_tracers=tuple(tracers_text.split()),
            site_series_import_filter=site_filter if site_filter and site_filter.strip() else None,
            project_series_import_filter=self._project_series_filter(project_id),
        )

    def _project_series_filter(self, project_id: str) -> dict[str, Any] | None:
        try:
            rows = self._result(self._request(
                "GET", f"/data/projects/{_q(project_id)}/config/seriesImportFilter/config",
                params={"format": "json"}), "Reading the series import filter")
        except XnatNotFoundError:
            return None
        if not rows or rows[0].get("status") == "disabled":
            return None
        try:
            value = json.loads(rows[0].get("contents") or "null")
        except ValueError:
            return {"contents": rows[0].get("contents", "")}
        return value if isinstance(value, dict) else {"contents": value}

    def config_text(self, project_id: str | None, tool: str, path: str) -> str | None:
        """Raw contents of a config entry, or None when absent *or disabled* (404/204)."""
        prefix = "/data" if project_id is None else f"/data/projects/{_q(project_id)}"
        url = f"{prefix}/config/{tool}" + (f"/{path}" if path else "")
        resp = self._request("GET", url, params={"contents": "true", "accept-not-found": "true"},
                             allow=(200, 204, 404))
        if resp.status_code in (204, 404):
            return None
        return resp.text

    # -- anonymization scripts ---------------------------------------------------------------
    def script_configs(self, project_id: str) -> tuple[ScriptConfig, ScriptConfig]:
        """Site and project anonymization-script rows with their exact state (§3).

        404 ⇒ never set (``exists=False``); a row with ``status == "disabled"`` ⇒ present but off.
        """
        site = self._script_row("/data/config/anon/script")
        project = self._script_row(
            f"/data/projects/{_q(project_id)}/config/anon/projects/{_q(project_id)}")
        return site, project

    def anonymization_scripts(self, project_id: str) -> tuple[str | None, str | None]:
        """``(site script if enabled, project script if enabled)``; apply site first."""
        site, project = self.script_configs(project_id)
        return site.active_script, project.active_script

    def _script_row(self, path: str) -> ScriptConfig:
        resp = self._request("GET", path, params={"format": "json"}, allow=(200, 204, 404))
        if resp.status_code in (204, 404):
            return ScriptConfig(exists=False)
        rows = self._result(resp, "Reading the anonymization script")
        if not rows:
            return ScriptConfig(exists=False)
        row = rows[0]
        return ScriptConfig(exists=True, enabled=row.get("status", "enabled") != "disabled",
                            contents=row.get("contents", ""), version=row.get("version", ""),
                            id=row.get("id", ""))

    # -- subjects and sessions ---------------------------------------------------------------
    def subjects(self, project_id: str) -> list[Subject]:
        rows = self._result(self._request(
            "GET", f"/data/projects/{_q(project_id)}/subjects",
            params={"format": "json", "columns": "ID,label,group,insert_date,project"}),
            f"Listing subjects of {project_id}")
        subjects = [Subject(id=r.get("ID", ""), label=r.get("label", ""),
                            project=r.get("project", project_id), group=r.get("group", ""),
                            insert_date=r.get("insert_date", "")) for r in rows]
        return sorted(subjects, key=lambda s: s.label.lower())

    def create_subject(self, project_id: str, label: str, group: str | None = None) -> Subject:
        """Create (or find, if it exists) a subject: 201 new, 200 existing, 403 not allowed."""
        if not _LABEL_OK.match(label):
            raise ValueError(f"Subject label {label!r} may only contain letters, digits, '-' and '_'.")
        params = {"event_reason": "XNAT Desktop Uploader"}
        if group:
            params["group"] = group
        resp = self._request("PUT", f"/data/projects/{_q(project_id)}/subjects/{_q(label)}",
                             params=params, allow=(200, 201))
        return Subject(id=resp.text.strip(), label=label, project=project_id, group=group or "")

    def experiments(self, project_id: str) -> list[Experiment]:
        rows = self._result(self._request(
            "GET", f"/data/projects/{_q(project_id)}/experiments",
            params={"format": "json", "columns": "ID,label,xsiType,subject_label,UID,date"}),
            f"Listing sessions of {project_id}")
        return [Experiment(id=r.get("ID", ""), label=r.get("label", ""),
                           subject_label=r.get("subject_label", ""), xsi_type=r.get("xsiType", ""),
                           uid=r.get("UID", ""), date=r.get("date", ""), uri=r.get("URI", ""))
                for r in rows]

    def prearchive_entries(self, project_id: str) -> list[PrearchiveEntry]:
        rows = self._result(self._request(
            "GET", f"/data/prearchive/projects/{_q(project_id)}", params={"format": "json"}),
            f"Listing the prearchive of {project_id}")
        return [PrearchiveEntry(project=r.get("project", project_id), timestamp=r.get("timestamp", ""),
                                folder=r.get("folderName", ""), name=r.get("name", ""),
                                subject=r.get("subject", ""), status=r.get("status", ""),
                                tag=r.get("tag", ""), uploaded=r.get("uploaded", ""),
                                lastmod=r.get("lastmod", ""))
                for r in rows]

    def session_labels(self, project_id: str) -> set[str]:
        """Every session label in use: archive experiments plus prearchive entries."""
        labels = {e.label for e in self.experiments(project_id)}
        try:
            labels |= {p.name for p in self.prearchive_entries(project_id)}
        except XnatPermissionError:
            pass  # prearchive invisible to this user; archive labels are still a good guard
        return labels

    def find_session(self, project_id: str, subject: str, session_label: str) -> str | None:
        """Where a session with this label is now: archive URI, prearchive URI, or None.

        Used to reconcile after an "outcome unknown" failure and for crash-safe resume.
        """
        archived = self._archived_experiment(project_id, subject, session_label)
        if archived is not None:
            return (f"/data/archive/projects/{project_id}/subjects/{subject}"
                    f"/experiments/{session_label}")
        entry = self._prearchive_entry(project_id, subject, session_label)
        return entry.uri if entry is not None else None

    def receiving_entry(self, project_id: str, subject: str,
                        session_label: str) -> PrearchiveEntry | None:
        """The newest prearchive row for this session (None when there is none or it cannot
        be seen): what an unclear upload answer is settled against."""
        return self._prearchive_entry(project_id, subject, session_label)

    def prearchive_entry(self, prearchive_uri: str) -> PrearchiveEntry | None:
        """The prearchive row behind a ``/data/prearchive/projects/P/TS/FOLDER`` URI, or None."""
        parts = prearchive_uri.rstrip("/").split("/")
        if len(parts) != 7 or parts[1:4] != ["data", "prearchive", "projects"]:
            raise ValueError(f"Not a prearchive session URI: {prearchive_uri!r}")
        project, timestamp, folder = parts[4:7]
        for entry in self.prearchive_entries(project):
            if entry.timestamp == timestamp and entry.folder == folder:
                return entry
        return None

    def _archived_experiment(self, project_id: str, subject: str, label: str) -> dict[str, Any] | None:
        resp = self._request(
            "GET", f"/data/projects/{_q(project_id)}/subjects/{_q(subject)}/experiments/{_q(label)}",
            params={"format": "json"}, allow=(200, 404))
        if resp.status_code == 404:
            return None
        data = self._json(resp, "Reading the session")
        items = data.get("items") if isinstance(data, dict) else None
        return items[0] if items else None

    def _prearchive_entry(self, project_id: str, subject: str, label: str) -> PrearchiveEntry | None:
        try:
            entries = self.prearchive_entries(project_id)
        except (XnatPermissionError, XnatNotFoundError):
            return None
        matches = [e for e in entries if e.name == label and (not e.subject or not subject
                                                              or e.subject.lower() == subject.lower())]
        return max(matches, key=lambda e: e.timestamp) if matches else None

    # -- upload ------------------------------------------------------------------------------
    def import_zip(self, project_id: str, subject: str, session_label: str, body: Iterable[bytes], *,
                   overwrite: str | None = "none", visit: str | None = None,
                   subtype: str | None = None, progress: Callable[[int], None] | None = None,
                   cancel: Callable[[], bool] | None = None,
                   content_length: int | None = None) -> str:
        """Stream a zip of DICOM files into the project's prearchive; return the session URI.

        The body is sent as it is produced (chunked, or with Content-Length when
        ``content_length`` is given); ``progress(bytes_sent)`` is called after each chunk and
        ``cancel()`` is polled before each. The session is left ``RECEIVING`` with
        ``prevent_auto_commit`` so nothing is archived until ``commit``. ``overwrite=None`` omits
        the parameter (note: XNAT treats *any* value, even ``"none"``, as "merging allowed").
        """
        for name, value in (("project", project_id), ("subject", subject), ("session", session_label)):
            if not value:
                raise ValueError(f"The {name} must not be empty.")
        for name, value in (("Subject label", subject), ("Session label", session_label)):
            if not _LABEL_OK.match(value):
                # XNAT would archive under a "cleaned" label, so later look-ups would miss it.
                raise ValueError(f"{name} {value!r} may only contain letters, digits, '-' and '_'.")
        params = {"import-handler": "DICOM-zip", "PROJECT_ID": project_id, "SUBJECT_ID": subject,
                  "EXPT_LABEL": session_label, "rename": "true", "prevent_anon": "true",
                  "prevent_auto_commit": "true", "SOURCE": "uploader"}
        if overwrite is not None:
            params["overwrite"] = overwrite
        if visit:
            params["VISIT"] = visit
        if subtype:
            params["SUBTYPE"] = subtype
        self.ensure_session()
        if self._csrf:
            params["XNAT_CSRF"] = self._csrf
        cancelled = threading.Event()

        def metered() -> Iterator[bytes]:
            sent = 0
            for chunk in body:
                if cancel is not None and cancel():
                    cancelled.set()
                    raise _Cancelled()
                if not chunk:
                    continue
                yield bytes(chunk)
                sent += len(chunk)
                if progress is not None:
                    progress(sent)
            if cancel is not None and cancel():
                cancelled.set()
                raise _Cancelled()

        data: Any = metered() if content_length is None else _SizedStream(metered(), content_length)
        try:
            resp = self._session.post(self._url("/data/services/import"), params=params, data=data,
                                      headers={"Content-Type": "application/zip"},
                                      timeout=(min(self.timeout, 30.0), self.upload_timeout),
                                      allow_redirects=False, verify=self._verify)
        except _Cancelled:
            raise XnatCancelled("The upload was cancelled.") from None
        except requests.exceptions.SSLError as exc:
            raise self._ssl_error(exc) from None
        except (requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError) as exc:
            if cancelled.is_set():
                raise XnatCancelled("The upload was cancelled.") from None
            raise XnatConnectionError(
                "The connection to XNAT was lost during the upload; part of the session may be "
                "on the server. Retrying is safe: files already received are replaced, not "
                "duplicated.", server_message=_short(exc), url=self.base_url,
                outcome_unknown=True) from None
        if self._is_auth_failure(resp):
            self._relogin()
            raise XnatSessionExpired("The XNAT session expired as the upload started; the client "
                                     "logged in again, so the upload can be retried.",
                                     status=resp.status_code, url=resp.url)
        if resp.status_code == 400 and "concurrent file sends" in resp.text.lower():
            raise XnatConcurrentSendError(
                "XNAT is still storing an earlier copy of these files (a request the connection "
                "gave up on); they are sent again once it has finished.", status=400,
                server_message=server_message(resp.text), url=resp.url, outcome_unknown=True)
        self._check(resp, "Uploading", outcome_unknown=True)
        uris = [line.strip() for line in resp.text.splitlines() if line.strip()]
        if not uris:
            raise XnatUploadError("XNAT accepted the upload but stored nothing (the archive was "
                                  "empty, or every file was rejected by a server filter or script).",
                                  status=resp.status_code, url=resp.url)
        if len(uris) > 1:
            raise XnatUploadError("The upload contained more than one study; XNAT created "
                                  f"{len(uris)} sessions ({', '.join(uris)}). Upload one study at "
                                  "a time.", status=resp.status_code, url=resp.url)
        self._last_ok = time.monotonic()
        uri = uris[0]
        expected = (f"/data/prearchive/projects/{project_id}/", f"/data/archive/projects/{project_id}/")
        if not uri.startswith(expected):
            raise XnatUploadError(f"XNAT filed the upload somewhere else than project {project_id} "
                                  f"({uri}); check that the project exists and that you may "
                                  f"upload to it.", status=resp.status_code, url=resp.url)
        return uri

    def commit(self, prearchive_uri: str, *, tracer: str | None = None,
               modalities: Iterable[str] = ()) -> CommitResult:
        """``POST <uri>?action=commit``: 301 + body = archived at that URI; 200 = left in the
        prearchive (the project keeps uploads there). ``tracer`` sets the PET tracer field."""
        if not prearchive_uri.startswith("/data/prearchive/projects/"):
            raise ValueError(f"Not a prearchive session URI: {prearchive_uri!r}")
        fields: dict[str, str] = {}
        if tracer:
            kind = "xnat:petmrSessionData" if "MR" in set(modalities) else "xnat:petSessionData"
            fields[f"{kind}/tracer/name"] = tracer
        resp = self._request("POST", prearchive_uri, params={"action": "commit", "SOURCE": "uploader"},
                             json_body=fields, allow=(200, 301), read_timeout=self.upload_timeout,
                             action="Committing the session")
        text = resp.text.strip()
        if resp.status_code == 301:
            uri = text or resp.headers.get("Location", "")
            if not uri.startswith("/data/archive/"):
                raise XnatUploadError(f"XNAT reported the session archived but gave no archive "
                                      f"address ({text[:200]!r}).", status=301, url=resp.url)
            return CommitResult(archived=True, uri=uri)
        return CommitResult(archived=False, uri=text or prearchive_uri)

    def delete_prearchive(self, prearchive_uri: str) -> None:
        """Remove a prearchive session (cleanup after a failed upload)."""
        self._request("DELETE", prearchive_uri, allow=(200, 204), action="Deleting the session")

    # -- verification ------------------------------------------------------------------------
    def verify_session(self, project_id: str, subject: str, session_label: str,
                       expected: Mapping[str, int], *, expected_bytes: Mapping[str, int] | None = None,
                       allow_extra_files: bool = False,
                       expected_by_uid: Mapping[str, int] | None = None,
                       prearchive_uri: str | None = None) -> Verification:
        """Compare per-scan file counts (and byte totals, when given) with what the server holds.

        ``expected_by_uid`` (Series Instance UID → file count), when given, is the key used:
        XNAT renames scans whose series numbers repeat (``1-MR1``) and splits PET/MR sessions,
        so the scan ID we guessed is not a reliable key; the scan's ``UID`` field is (the
        experiment's ``scans/scan`` items in the archive, ``xnat:scan/@UID`` in the prearchive
        session document).

        Looks in the archive first, then the prearchive, then for the two sessions XNAT makes of
        a PET/MR session when the site or project separates them (``<label>_MR`` and
        ``<label>_PET``, archived or not): every series is then looked for across both. Byte
        totals are only meaningful when the server stores files unmodified (``prevent_anon``
        and no header rewriting); leave ``expected_bytes`` out otherwise. ``allow_extra_files``
        accepts more files than sent (merging into an existing session).

        ``prearchive_uri``, when the commit left the upload in the prearchive, is the session
        checked: a merge into a project that keeps uploads in the prearchive waits there next
        to the archived session of the same label, which does not hold the new scans yet.
        """
        entry = self.prearchive_entry(prearchive_uri) if prearchive_uri else None
        experiment = None if entry is not None else self._archived_experiment(
            project_id, subject, session_label)
        if experiment is not None:
            uri = f"/data/archive/projects/{project_id}/subjects/{subject}/experiments/{session_label}"
            found, found_bytes, scan_uids = self._archived_counts(experiment)
        else:
            entry = entry or self._prearchive_entry(project_id, subject, session_label)
            if entry is None:
                split = self._split_sessions(project_id, subject, session_label)
                if not split:
                    return Verification(False, [f"Session {session_label} of subject {subject} "
                                                f"is neither in the archive nor in the prearchive "
                                                f"of {project_id}."])
                return self._verify_split(split, expected, allow_extra_files, expected_by_uid)
            uri = entry.uri
            if entry.status == "RECEIVING":
                return Verification(False, [f"Session {session_label} has not been committed yet; "
                                            f"XNAT lists its files only after the commit."], uri=uri)
            found, found_bytes, scan_uids = self._prearchive_counts(uri)
        if expected_by_uid is not None:
            return _verify_by_uid(expected_by_uid, found, scan_uids, allow_extra_files, uri)
        details = []
        for sid, count in expected.items():
            got = found.get(sid, 0)
            if got < count or (got > count and not allow_extra_files):
                details.append(f"scan {sid}: {count} file(s) sent, {got} on the server")
            if expected_bytes and sid in expected_bytes and got == count \
                    and found_bytes.get(sid, 0) != expected_bytes[sid] and not allow_extra_files:
                details.append(f"scan {sid}: {expected_bytes[sid]} bytes sent, "
                               f"{found_bytes.get(sid, 0)} on the server")
        return Verification(ok=not details, details=details, found=found,
                            found_bytes=found_bytes, uri=uri)

    def _archived_counts(self, experiment: Mapping[str, Any]
                         ) -> tuple[dict[str, int], dict[str, int], dict[str, str]]:
        """Per-scan DICOM file counts and bytes of an archived session, and scan ID → UID."""
        eid = experiment["data_fields"]["ID"]
        found: dict[str, int] = {}
        found_bytes: dict[str, int] = {}
        scans = self._result(self._request("GET", f"/data/experiments/{_q(eid)}/scans",
                                           params={"format": "json"}), "Listing scans")
        for scan in scans:
            found.setdefault(scan.get("ID", ""), 0)
            found_bytes.setdefault(scan.get("ID", ""), 0)
        if scans:
            rows = self._result(self._request(
                "GET", f"/data/experiments/{_q(eid)}/scans/ALL/files", params={"format": "json"}),
                "Listing files")
            for row in rows:
                match = _SCAN_IN_URI.search(row.get("URI", ""))
                if match and row.get("collection", "DICOM") == "DICOM":
                    sid = match.group(1)
                    found[sid] = found.get(sid, 0) + 1
                    found_bytes[sid] = found_bytes.get(sid, 0) + int(row.get("Size") or 0)
        return found, found_bytes, _scan_uids(experiment)

    def _prearchive_counts(self, uri: str) -> tuple[dict[str, int], dict[str, int], dict[str, str]]:
        """The same for a built prearchive session: scan IDs and UIDs from its session document
        (``PrearcSessionResource`` answers ``format=xml`` with it), files per scan."""
        document = self._request("GET", uri, params={"format": "xml"},
                                 action="Reading the prearchive session").text
        scan_uids = _prearchive_scan_uids(document)
        found: dict[str, int] = {}
        found_bytes: dict[str, int] = {}
        for sid in scan_uids:
            rows = self._result(self._request(
                "GET", f"{uri}/scans/{_q(sid)}/resources/DICOM/files", params={"format": "json"}),
                "Listing files")
            found[sid] = len(rows)
            found_bytes[sid] = sum(int(r.get("Size") or 0) for r in rows)
        return found, found_bytes, scan_uids

    def _split_sessions(self, project_id: str, subject: str, label: str) -> list[str]:
        """The archive and (built) prearchive URIs of the sessions XNAT made of a separated
        PET/MR session: ``PrearcDatabase.getUniqueSessionLabel`` names them ``<label>_MR`` and
        ``<label>_PET`` ("PETMR" in the label becomes "MR"/"PET"), with 1, 2, ... appended when
        that label was taken. Newest first (highest suffix, latest prearchive timestamp), so
        the session of this upload is preferred over an earlier one's."""
        names = re.compile("|".join(f"(?:{re.escape(_split_label(label, kind))}(\\d*))"
                                    for kind in ("MR", "PET")) + "$")
        found: list[tuple[int, str, str]] = []
        for experiment in self.experiments(project_id):
            match = names.match(experiment.label)
            if match and experiment.subject_label.lower() == subject.lower():
                suffix = next((g for g in match.groups() if g is not None), "")
                found.append((int(suffix or 0), "1", f"/data/archive/projects/{project_id}/subjects/"
                              f"{experiment.subject_label}/experiments/{experiment.label}"))
        try:
            entries = self.prearchive_entries(project_id)
        except (XnatPermissionError, XnatNotFoundError):
            entries = []
        for entry in entries:
            match = names.match(entry.name)
            if match and entry.status != "RECEIVING" and (
                    not entry.subject or entry.subject.lower() == subject.lower()):
                found.append((1 << 30, entry.timestamp, entry.uri))
        return [uri for _, _, uri in sorted(found, reverse=True)]

    def _verify_split(self, uris: list[str], expected: Mapping[str, int], allow_extra: bool,
                      expected_by_uid: Mapping[str, int] | None) -> Verification:
        """Check every series across the sessions of a separated PET/MR session; a series (or,
        without UIDs, a scan ID, which the separation keeps) counts in the newest session that
        holds it."""
        found: dict[str, int] = {}
        found_bytes: dict[str, int] = {}
        scan_uids: dict[str, str] = {}
        seen: set[str] = set()
        wanted = set(expected_by_uid if expected_by_uid is not None else expected)
        holding: list[str] = []  # the sessions that hold what was sent (an earlier one may not)
        for uri in uris:
            if uri.startswith("/data/archive/"):
                parts = uri.split("/")
                experiment = self._archived_experiment(parts[4], parts[6], parts[8])
                if experiment is None:
                    continue
                counts, sizes, uids = self._archived_counts(experiment)
            else:
                counts, sizes, uids = self._prearchive_counts(uri)
            name = uri.rstrip("/").rsplit("/", 1)[-1]
            for sid, count in counts.items():
                key = uids.get(sid, "") if expected_by_uid is not None else sid
                if not key or key in seen:
                    continue
                seen.add(key)
                if key in wanted and uri not in holding:
                    holding.append(uri)
                found[f"{name}/{sid}"] = count
                found_bytes[f"{name}/{sid}"] = sizes.get(sid, 0)
                scan_uids[f"{name}/{sid}"] = uids.get(sid, "")
        if expected_by_uid is None:
            expected_by_uid = {sid: n for sid, n in expected.items()}
            scan_uids = {key: key.rsplit("/", 1)[-1] for key in found}
        holding = holding or uris[:1]
        result = _verify_by_uid(expected_by_uid, found, scan_uids, allow_extra, holding[0])
        result.sessions = holding
        return result

    # -- HTTP plumbing -----------------------------------------------------------------------
    def ensure_session(self) -> None:
        """Log in if needed and make sure the session is alive right now.

        A session that answered within the last minute is taken as alive (XNAT's idle timeout
        is at least 15 minutes): with many small upload requests, a keep-alive before each one
        would double the round trips.
        """
        if not self._logged_in:
            self.login()
        elif time.monotonic() - self._last_ok > 60.0:
            self.keepalive()

    def _url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def _timeouts(self, read: float | None = None) -> tuple[float, float]:
        return (min(self.timeout, 30.0), read if read is not None else self.timeout)

    @staticmethod
    def _is_login_redirect(resp: requests.Response) -> bool:
        return resp.is_redirect and "login" in (resp.headers.get("Location") or "").lower()

    def _is_auth_failure(self, resp: requests.Response) -> bool:
        if resp.status_code == 401 or self._is_login_redirect(resp):
            return True
        content_type = resp.headers.get("Content-Type", "")
        return (resp.status_code == 200 and "text/html" in content_type
                and "login" in resp.text[:4000].lower() and "<form" in resp.text[:4000].lower())

    def _relogin(self) -> None:
        with self._lock:
            self._logged_in = False
            self.login()

    def _request(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                 json_body: Any = None, allow: tuple[int, ...] = (200,),
                 read_timeout: float | None = None, action: str | None = None) -> requests.Response:
        """One call with re-login on expiry and retries for idempotent methods.

        Raises the typed error for any status outside ``allow``.
        """
        if not self._logged_in:
            self.login()
        idempotent = method in ("GET", "HEAD")
        relogged = False
        attempt = 0
        action = action or f"{method} {path}"
        while True:
            query = dict(params or {})
            if method in ("POST", "PUT", "DELETE") and self._csrf:
                query["XNAT_CSRF"] = self._csrf
            try:
                resp = self._session.request(
                    method, self._url(path), params=query,
                    data=json.dumps(json_body) if json_body is not None else None,
                    headers={"Content-Type": "application/json"} if json_body is not None else None,
                    timeout=self._timeouts(read_timeout), allow_redirects=False,
                    verify=self._verify)
            except requests.exceptions.SSLError as exc:
                raise self._ssl_error(exc) from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                if idempotent and attempt < self.retries:
                    log.info("%s: %s; retrying (%d/%d)", method, type(exc).__name__, attempt + 1,
                             self.retries)
                    self._sleep(attempt)
                    attempt += 1
                    continue
                raise XnatConnectionError(
                    f"{action} failed: the connection to XNAT was lost or timed out."
                    + ("" if idempotent else " The server may or may not have carried it out."),
                    server_message=_short(exc), url=self._url(path),
                    outcome_unknown=not idempotent) from None
            if self._is_auth_failure(resp) and resp.status_code not in allow:
                if not relogged:
                    log.info("XNAT session expired (HTTP %d); logging in again", resp.status_code)
                    self._relogin()
                    relogged = True
                    continue
                raise XnatAuthError("XNAT keeps refusing this session; log in again.",
                                    status=resp.status_code, url=resp.url)
            if (idempotent and resp.status_code in _RETRY_STATUSES and resp.status_code not in allow
                    and attempt < self.retries):
                log.info("%s answered HTTP %d; retrying (%d/%d)", method, resp.status_code,
                         attempt + 1, self.retries)
                self._sleep(attempt, resp.headers.get("Retry-After"))
                attempt += 1
                continue
            if resp.status_code not in allow:
                self._check(resp, action, outcome_unknown=not idempotent, force=True)
            self._last_ok = time.monotonic()
            return resp

    def _sleep(self, attempt: int, retry_after: str | None = None) -> None:
        delay = min(self.backoff_cap, self.backoff * (2 ** attempt))
        if retry_after and retry_after.isdigit():
            delay = min(self.backoff_cap, max(delay, float(retry_after)))
        time.sleep(delay)

    def _check(self, resp: requests.Response, action: str, *, outcome_unknown: bool = False,
               force: bool = False) -> None:
        status = resp.status_code
        if not force and 200 <= status < 300:
            return
        message = server_message(resp.text)
        kwargs: dict[str, Any] = {"status": status, "server_message": message, "url": resp.url}
        if status == 401:
            raise XnatAuthError(f"{action} failed: XNAT no longer accepts this login.", **kwargs)
        if status == 403:
            raise XnatPermissionError(f"{action} failed: your XNAT account is not allowed to do "
                                      f"this (ask a project owner for member access).", **kwargs)
        if status == 404:
            raise XnatNotFoundError(f"{action} failed: XNAT could not find it (it may not exist or "
                                    f"may not be visible to you).", **kwargs)
        if status == 409:
            raise XnatConflictError(f"{action} failed: it conflicts with data already in XNAT.",
                                    **kwargs)
        if status == 413:
            raise XnatUploadError(f"{action} failed: the upload is larger than the server (or its "
                                  f"proxy) accepts.", **kwargs)
        if status in (502, 503, 504):
            raise XnatConnectionError(
                f"{action} failed: the XNAT server or its proxy did not answer in time (HTTP "
                f"{status})." + (" It may still have completed the work." if outcome_unknown else ""),
                outcome_unknown=outcome_unknown and status != 503, **kwargs)
        if status >= 500:
            raise XnatServerError(f"{action} failed: XNAT reported an internal error.", **kwargs)
        if 300 <= status < 400:
            target = resp.headers.get("Location", "")
            raise XnatServerError(
                f"{action} failed: the server sent the request on to {target or 'another address'}"
                f" (HTTP {status}), which this app does not follow with your credentials; check "
                f"the server address.", **kwargs)
        raise XnatError(f"{action} failed: XNAT refused the request (HTTP {status}).", **kwargs)

    def _json(self, resp: requests.Response, action: str) -> Any:
        text = resp.text.lstrip()
        if text.startswith("<"):
            if "login" in text[:4000].lower():
                raise XnatAuthError(f"{action} failed: XNAT answered with its login page.",
                                    status=resp.status_code, url=resp.url)
            raise XnatServerError(f"{action} failed: XNAT answered with a web page instead of data.",
                                  status=resp.status_code, server_message=server_message(text),
                                  url=resp.url)
        try:
            return resp.json()
        except ValueError:
            raise XnatServerError(f"{action} failed: XNAT's answer was not valid JSON.",
                                  status=resp.status_code, url=resp.url) from None

    def _result(self, resp: requests.Response, action: str) -> list[dict[str, str]]:
        if resp.status_code == 204 or not resp.content:
            return []
        data = self._json(resp, action)
        try:
            rows = data["ResultSet"]["Result"]
        except (KeyError, TypeError):
            raise XnatServerError(f"{action} failed: unexpected answer shape from XNAT.",
                                  status=resp.status_code, url=resp.url) from None
        return [{str(k): "" if v is None else str(v) for k, v in row.items()} for row in rows]

    def _ssl_error(self, exc: Exception) -> XnatConnectionError:
        return XnatConnectionError(
            f"The certificate of {self.base_url} could not be verified. If this server uses a "
            f"private certificate authority, give its CA bundle; only if you trust the network, "
            f"allow insecure connections for this server.", server_message=_short(exc),
            url=self.base_url)


def _scan_uids(experiment: Mapping[str, Any]) -> dict[str, str]:
    """Scan ID → Series Instance UID from an experiment's JSON item (``scans/scan`` children)."""
    out: dict[str, str] = {}
    for child in experiment.get("children") or []:
        if child.get("field") == "scans/scan":
            for item in child.get("items") or []:
                fields = item.get("data_fields") or {}
                out[str(fields.get("ID", ""))] = str(fields.get("UID", ""))
    return out


def _prearchive_scan_uids(document: str) -> dict[str, str]:
    """Scan ID → Series Instance UID from a prearchive session document
    (``xnat:scans/xnat:scan`` with ``ID`` and ``UID`` attributes)."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        raise XnatUploadError("XNAT answered the prearchive session document with something "
                              "that is not XML; the session cannot be verified.") from None
    return {scan.get("ID", ""): scan.get("UID", "")
            for scan in root.iter(f"{{{_XNAT_NS}}}scan") if scan.get("ID")}


def _split_label(label: str, kind: str) -> str:
    """``PrearcDatabase.getUniqueSessionLabel``'s stem for the ``MR`` or ``PET`` half."""
    if "PETMR" in label:
        return label.replace("PETMR", kind.upper())
    if "petmr" in label:
        return label.replace("petmr", kind.lower())
    return f"{label}_{kind}"


def _verify_by_uid(expected: Mapping[str, int], found: Mapping[str, int],
                   scan_uids: Mapping[str, str], allow_extra: bool, uri: str) -> Verification:
    by_uid: dict[str, int] = {}
    names: dict[str, str] = {}
    for sid, count in found.items():
        uid = scan_uids.get(sid, "")
        by_uid[uid] = by_uid.get(uid, 0) + count
        names[uid] = f"{names[uid]}+{sid}" if uid in names else sid
    details = []
    for uid, count in expected.items():
        got = by_uid.get(uid, 0)
        if got < count or (got > count and not allow_extra):
            where = f"scan {names[uid]}" if uid in names else "no scan on the server"
            details.append(f"series {uid} ({where}): {count} file(s) sent, {got} on the server")
    return Verification(ok=not details, details=details, found=dict(found), uri=uri)


def _q(segment: str) -> str:
    return quote(segment, safe="")


def _short(exc: BaseException) -> str:
    return str(exc)[:300]


__all__ = ["XnatClient", "XnatSessionExpired", "USER_AGENT", "normalise_base_url"]
