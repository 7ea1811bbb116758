"""The emulator's HTTP face: XNAT's URL space, auth, quirks and failures over real sockets.

One ``ThreadingHTTPServer`` on 127.0.0.1 speaking HTTP/1.1 (keep-alive, chunked request bodies),
routing ``/data``, ``/REST`` (alias of ``/data``) and ``/xapi`` paths under an optional context
path. Behaviour follows ``xnat-rest-api.md`` §8 ("Minimum faithful surface for the emulator").
"""

from __future__ import annotations

import base64
import csv
import email.parser
import email.policy
import fnmatch
import html
import io
import json
import re
import secrets
import socket
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from tests.xnat_emulator.archives import (
    ArchiveFormatError, BodyIncomplete, iter_tar_entries, iter_zip_entries,
)
from tests.xnat_emulator.faults import Faults
from tests.xnat_emulator.model import ROLE_DISPLAY, Experiment, PrearcSession, Project, ScanRec, User
from tests.xnat_emulator.store import UNASSIGNED, ArchiveFailure, HttpError, Store, xsi_type

SCHEMA_DIR = Path(__file__).with_name("schemas")
BROWSER_UA = [re.compile(p) for p in (r".*MSIE.*", r".*Mozilla.*", r".*AppleWebKit.*", r".*Opera.*")]
UPLOAD_NAMES = {
    "application/zip": "upload.zip", "application/x-gtar": "upload.tar.gz",
    "application/x-tar": "upload.tar", "application/dicom": "upload.dcm",
    "application/octet-stream": "upload",
}
#: Data types listed by /data/search/elements: (singular, plural, category).
SEARCH_ELEMENTS = {
    "xnat:projectData": ("Project", "Projects", ""),
    "xnat:subjectData": ("Subject", "Subjects", ""),
    **{f"xnat:{kind}SessionData": (f"{label} Session", f"{label} Sessions", "Imaging")
       for kind, label in (("mr", "MR"), ("ct", "CT"), ("pet", "PET"), ("petmr", "PET/MR"),
                           ("us", "US"), ("otherDicom", "Other DICOM"))},
}
_ABSTRACT_EXPERIMENT_TYPES = {"xnat:experimentData", "xnat:subjectAssessorData",
                              "xnat:imageSessionData"}
SEARCH_FIELDS = {
    "xnat:projectData": [("ID", "ID", "string"), ("NAME", "Title", "string"),
                         ("SECONDARY_ID", "Running Title", "string"),
                         ("DESCRIPTION", "Description", "string")],
    "xnat:subjectData": [("SUBJECT_ID", "Subject", "string"), ("SUBJECT_LABEL", "Label", "string"),
                         ("PROJECT", "Project", "string"), ("INSERT_DATE", "Inserted", "date")],
    "session": [("SESSION_ID", "Session", "string"), ("LABEL", "Label", "string"),
                ("DATE", "Date", "date"), ("PROJECT", "Project", "string"),
                ("SUBJECT_ID", "Subject", "string"), ("MODALITY", "Modality", "string")],
}
PREARC_COLUMNS = ("project", "timestamp", "lastmod", "uploaded", "scan_date", "scan_time",
                  "subject", "folderName", "name", "tag", "status", "url", "autoarchive",
                  "prevent_anon", "prevent_auto_commit", "SOURCE", "VISIT", "PROTOCOL", "TIMEZONE")
FILE_COLUMNS = ("Name", "Size", "URI", "collection", "file_tags", "file_format", "file_content",
                "cat_ID", "digest")


@dataclass
class HttpSession:
    id: str
    username: str
    csrf: str
    last_access: float
    created: float = field(default_factory=time.time)


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)


class ConnectionDropped(Exception):
    """Raised inside the body reader when a drop fault fires: the socket is closed, no reply."""


class BodyReader(io.RawIOBase):
    """The request body as a stream: Content-Length or chunked, with an optional drop point."""

    def __init__(self, rfile: Any, length: int | None, chunked: bool, drop_after: int | None) -> None:
        self._rfile = rfile
        self._remaining = length if not chunked else None
        self._chunked = chunked
        self._chunk_left = 0
        self._done = (length == 0) if not chunked else False
        self._drop_after = drop_after
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        if self._done:
            return b""
        if n is None or n < 0:
            return b"".join(iter(lambda: self.read(1 << 16), b""))
        if self._drop_after is not None:
            n = max(1, min(n, self._drop_after - self.consumed))
            if self.consumed >= self._drop_after:
                raise ConnectionDropped()
        data = self._read_chunked(n) if self._chunked else self._read_plain(n)
        self.consumed += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _read_plain(self, n: int) -> bytes:
        assert self._remaining is not None
        want = min(n, self._remaining)
        data = self._rfile.read(want) if want else b""
        if want and not data:
            raise BodyIncomplete("client closed the connection mid-body")
        self._remaining -= len(data)
        if self._remaining == 0:
            self._done = True
        return data

    def _read_chunked(self, n: int) -> bytes:
        if self._chunk_left == 0:
            line = self._rfile.readline(1024)
            if not line:
                raise BodyIncomplete("client closed the connection mid-body")
            try:
                size = int(line.split(b";")[0].strip() or b"0", 16)
            except ValueError:
                raise BodyIncomplete("malformed chunked body") from None
            if size == 0:
                while self._rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                self._done = True
                return b""
            self._chunk_left = size
        data = self._rfile.read(min(n, self._chunk_left))
        if not data:
            raise BodyIncomplete("client closed the connection mid-body")
        self._chunk_left -= len(data)
        if self._chunk_left == 0:
            self._rfile.readline(16)
        return data

    def drain(self, limit: int | None = None) -> bool:
        """Read the rest of the body (at most ``limit`` bytes); True when it was all read."""
        taken = 0
        while limit is None or taken <= limit:
            try:
                piece = self.read(1 << 16)
            except (ConnectionDropped, BodyIncomplete):
                if limit is None:
                    raise
                return False
            if not piece:
                return True
            taken += len(piece)
        return False


def status_page(message: str) -> bytes:
    """Restlet's HTML status page; clients extract the message from ``<h3>``."""
    text = html.escape(message)
    return (f"<html><head><title>Status page</title></head><body><h3>{text}</h3><p>You can get "
            f"technical details <a href=\"http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html\">"
            f"here</a>.<br>Please continue your visit at our <a href=\"/\">home page</a>.</p>"
            f"</body></html>").encode()


def result_set(rows: list[dict[str, Any]], *, total: bool = True, title: str | None = None) -> Response:
    """``{"ResultSet":{"Result":[...]}}`` with every value a string (§2.1)."""
    result: dict[str, Any] = {"Result": [{k: "" if v is None else str(v) for k, v in row.items()}
                                         for row in rows]}
    if total:
        result["totalRecords"] = str(len(rows))
    if title:
        result["title"] = title
    return json_response({"ResultSet": result})


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(obj).encode(), "application/json")


def text_response(text: str, status: int = 200, content_type: str = "text/plain") -> Response:
    return Response(status, text.encode(), content_type)


def bool_text(value: bool) -> str:
    return "true" if value else "false"


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], store: Store, faults: Faults,
                 context_path: str) -> None:
        super().__init__(address, Handler)
        self.store = store
        self.faults = faults
        self.context_path = context_path.rstrip("/")
        self.sessions: dict[str, HttpSession] = {}
        self.sessions_lock = threading.Lock()
        self.session_timeout = 900.0
        self.csrf_enabled = True
        self.max_failed_logins: int | None = 20
        self.max_sessions_per_user: int | None = 1000
        self.default_importer = "DICOM-zip"
        self.request_log: list[tuple[str, str, int]] = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorHTTPServer

    def version_string(self) -> str:
        return "Apache-Coyote/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # quiet: tests read ``request_log`` instead

    # -- plumbing ----------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        self.method = method
        if self._front_end(method):
            return
        split = urlsplit(self.path)
        self.params = dict(parse_qsl(split.query, keep_blank_values=True))
        path = unquote(split.path)
        ctx = self.server.context_path
        if ctx and (path == ctx or path.startswith(ctx + "/")):
            path = path[len(ctx):] or "/"
        if path.startswith("/REST/") or path == "/REST":
            path = "/data" + path[5:]
        if path.startswith("/data/archive/"):
            path = "/data/" + path[len("/data/archive/"):]
        self.route_path = path
        self.new_session: HttpSession | None = None
        self.http_session: HttpSession | None = None
        length = self.headers.get("Content-Length")
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        drop = self.server.faults.take_drop(path) if method in ("POST", "PUT") else None
        self.body = BodyReader(self.rfile, int(length) if length else (None if chunked else 0),
                               chunked, drop)
        try:
            response = self._dispatch(method, path)
        except ConnectionDropped:
            self._drop()
            return
        except BodyIncomplete:
            self._drop()
            return
        limit = self.server.faults.swallow_limit
        if limit is not None and response.status >= 400:
            # Tomcat answers an error early and swallows at most maxSwallowSize of the rest.
            self.close_connection = not self.body.drain(limit)
        else:
            try:
                self.body.drain()
            except (ConnectionDropped, BodyIncomplete):
                self._drop()
                return
        response = self._in_format(response)
        gateway = self.server.faults.take_gateway(method, path)
        if gateway:
            response = Response(gateway, b"<html><head><title>504 Gateway Time-out</title></head>"
                                         b"<body><center><h1>504 Gateway Time-out</h1></center>"
                                         b"<hr><center>nginx</center></body></html>", "text/html")
        self._send(response)
        self.server.request_log.append((method, path, response.status))

    def _front_end(self, method: str) -> bool:
        """What a proxy in front of XNAT answers by itself (redirects, 411); True if it did."""
        faults = self.server.faults
        with faults.lock:
            redirect, refuse_chunked = faults.redirect, faults.refuse_chunked
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        if redirect is not None:
            target, status, keep_path = redirect
            location = target + self.path if keep_path else target
            response = Response(status, b"", "text/html", {"Location": location})
        elif refuse_chunked and chunked:
            response = Response(411, b"<html><head><title>411 Length Required</title></head><body>"
                                     b"<center><h1>411 Length Required</h1></center><hr><center>"
                                     b"nginx</center></body></html>", "text/html")
        else:
            return False
        self.close_connection = True  # the body (if any) is not read
        self.new_session = self.http_session = None
        # Logged before answering: a test may look the moment the client has its answer.
        self.server.request_log.append((method, urlsplit(self.path).path, response.status))
        self._send(response)
        return True

    def _in_format(self, response: Response) -> Response:
        """XFTTable listings in the ``format`` asked for: ``csv`` (header row, then values, as
        pyxnat reads them) or ``xml``; JSON otherwise."""
        wanted = (self.params.get("format") or "").lower()
        if wanted not in ("csv", "xml") or response.content_type != "application/json":
            return response
        try:
            rows = json.loads(response.body)["ResultSet"]["Result"]
        except (ValueError, KeyError, TypeError):
            return response
        columns: list[str] = []
        for row in rows:
            columns += [k for k in row if k not in columns]
        if wanted == "csv":
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(columns)
            for row in rows:
                writer.writerow([row.get(c, "") for c in columns])
            return Response(response.status, out.getvalue().encode(), "text/csv")
        head = "".join(f"<column>{html.escape(c)}</column>" for c in columns)
        body = "".join("<row>" + "".join(f"<cell>{html.escape(str(row.get(c, '')))}</cell>"
                                         for c in columns) + "</row>" for row in rows)
        xml = (f'<?xml version="1.0" encoding="UTF-8"?><ResultSet xmlns="http://nrg.wustl.edu/'
               f'xnat"><results><columns>{head}</columns><rows>{body}</rows></results></ResultSet>')
        return Response(response.status, xml.encode(), "text/xml")

    def _drop(self) -> None:
        self.server.request_log.append((self.method, self.route_path, 0))
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        sess = self.new_session or self.http_session
        if sess is not None:
            cookie_path = (self.server.context_path or "") + "/"
            if self.new_session is not None:
                self.send_header("Set-Cookie", f"JSESSIONID={sess.id}; Path={cookie_path}; HttpOnly")
            timeout_ms = int(self.server.session_timeout * 1000)
            self.send_header("Set-Cookie", f'SESSION_EXPIRATION_TIME="{int(time.time() * 1000)},'
                                           f'{timeout_ms}"; Path={cookie_path}')
        self.end_headers()
        if self.method != "HEAD":
            self.wfile.write(response.body)

    def error(self, status: int, message: str) -> Response:
        return Response(status, status_page(message), "text/html")

    # -- auth --------------------------------------------------------------------------------
    def _is_browser(self) -> bool:
        ua = self.headers.get("User-Agent") or ""
        if not ua or "XNATDesktopClient" in ua:
            return False
        return any(p.fullmatch(ua) for p in BROWSER_UA)

    def _cookie_session(self) -> HttpSession | None:
        raw = self.headers.get("Cookie") or ""
        for part in raw.split(";"):
            name, _, value = part.strip().partition("=")
            if name == "JSESSIONID":
                with self.server.sessions_lock:
                    sess = self.server.sessions.get(value)
                    if sess is None:
                        return None
                    if time.time() - sess.last_access > self.server.session_timeout:
                        del self.server.sessions[value]
                        return None
                    sess.last_access = time.time()
                    return sess
        return None

    def create_session(self, user: User) -> HttpSession:
        cap = self.server.max_sessions_per_user
        if cap is not None:
            with self.server.sessions_lock:
                live = [x for x in self.server.sessions.values() if x.username == user.username
                        and time.time() - x.last_access <= self.server.session_timeout]
            if len(live) >= cap:  # maxSessionsPreventsLogin(true): new logins fail
                raise HttpError(401, "Maximum sessions exceeded for this user")
        sess = HttpSession(id=secrets.token_hex(16).upper(), username=user.username,
                           csrf=str(uuid.uuid4()), last_access=time.time())
        with self.server.sessions_lock:
            self.server.sessions[sess.id] = sess
        self.new_session = sess
        return sess

    def _authenticate(self) -> User | Response | None:
        """Cookie first (Basic is not re-evaluated when it is valid), else Basic (§1.1)."""
        store = self.server.store
        sess = self._cookie_session()
        if sess is not None:
            user = store.state.users.get(sess.username)
            if user is not None:
                self.http_session = sess
                return user
        header = self.headers.get("Authorization") or ""
        if header.lower().startswith("basic "):
            try:
                name, _, secret = base64.b64decode(header[6:]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return self._unauthorized("Bad credentials")
            candidate = store.state.users.get(name)
            limit = self.server.max_failed_logins
            if candidate is not None and limit is not None and candidate.failed_logins >= limit:
                return self._unauthorized("Your account is locked after too many failed logins.")
            user = store.authenticate(name, secret)
            if user is None:
                if candidate is not None:
                    candidate.failed_logins += 1
                return self._unauthorized("Login attempt failed. Please try again.")
            user.failed_logins = 0
            try:
                self.http_session = self.create_session(user)
            except HttpError as exc:
                return self._unauthorized(exc.message)
            return user
        return None

    def _unauthorized(self, message: str = "Unauthorized") -> Response:
        if self._is_browser():
            location = (self.server.context_path or "") + "/app/template/Login.vm"
            return Response(302, b"", "text/html", {"Location": location})
        return Response(401, status_page(message), "text/html",
                        {"WWW-Authenticate": 'Basic realm="XNAT"'})

    def _csrf_ok(self, user_session: HttpSession | None) -> bool:
        if not self.server.csrf_enabled or self.method not in ("POST", "PUT", "DELETE"):
            return True
        if not self._is_browser() or not self.route_path.startswith("/data"):
            return True
        token = self.params.get("XNAT_CSRF")
        return user_session is not None and token == user_session.csrf

    # -- dispatch ----------------------------------------------------------------------------
    def _dispatch(self, method: str, path: str) -> Response:
        faults = self.server.faults
        delay = faults.delay_for(path)
        if delay:
            time.sleep(delay)
        failure = faults.take_failure(method, path)
        if failure:
            self.body.drain()
            reason = "Service Unavailable" if failure == 503 else "Internal Server Error"
            return self.error(failure, reason)
        if path == "/app/template/Login.vm":
            return text_response("<!DOCTYPE html><html><head><title>XNAT Login</title></head>"
                                 "<body><form id=\"login_form\"></form></body></html>",
                                 content_type="text/html")
        if path == "/data/services/auth" and method in ("PUT", "POST"):
            return self.services_auth()
        if not (path.startswith("/data") or path.startswith("/xapi")):
            return self.error(404, "Not Found")
        auth = self._authenticate()
        if isinstance(auth, Response):
            return auth
        if auth is None:
            return self._unauthorized()
        if not self._csrf_ok(self.http_session):
            return self.error(500, "Invalid CSRF token (XNAT_CSRF missing or wrong)")
        self.user = auth
        for route_method, pattern, func in ROUTES:
            if route_method != method and not (route_method == "GET|POST" and method in ("GET", "POST")):
                continue
            match = pattern.fullmatch(path)
            if match:
                try:
                    return func(self, **match.groupdict())
                except HttpError as exc:
                    return self.error(exc.status, exc.message)
        if any(p.fullmatch(path) for _, p, _ in ROUTES):
            return self.error(405, "Method Not Allowed")
        return self.error(404, f"Not Found: {path}")

    # -- auth endpoints ----------------------------------------------------------------------
    def services_auth(self) -> Response:
        form = dict(parse_qsl(self.body.read().decode("utf-8", "replace")))
        name = form.get("username") or form.get("j_username") or ""
        password = form.get("password") or form.get("j_password") or ""
        user = self.server.store.authenticate(name, password)
        if user is None:
            return self.error(401, "Authentication failed.")
        try:
            sess = self.create_session(user)
        except HttpError as exc:
            return self.error(401, exc.message)
        return text_response(sess.id)

    def jsession(self) -> Response:
        assert self.http_session is not None
        if self.method == "DELETE":
            with self.server.sessions_lock:
                self.server.sessions.pop(self.http_session.id, None)
            self.http_session = None
            self.new_session = None
            return Response(200)
        text = self.http_session.id
        if self.params.get("CSRF") == "true":
            text += f"; XNAT_CSRF={self.http_session.csrf}"
        return text_response(text)

    def auth_check(self) -> Response:
        text = f"User '{self.user.username}' is logged in"
        if self.params.get("CSRF") == "true" and self.http_session is not None:
            text += f"; XNAT_CSRF={self.http_session.csrf}"
        return text_response(text)

    def tokens(self, op: str, rest: str = "") -> Response:
        store = self.server.store
        parts = [p for p in (rest or "").split("/") if p]
        if op == "issue":
            if parts[:1] == ["user"]:
                if not self.user.admin:
                    return self.error(403, "Only administrators can issue tokens for other users")
                target = parts[1] if len(parts) > 1 else ""
            else:
                target = self.user.username
            token = store.issue_token(target)
            return json_response({
                "alias": token.alias, "secret": token.secret, "xdatUserId": target,
                "singleUse": token.single_use, "estimatedExpirationTime": token.expires,
                "validIPAddresses": [], "id": token.id, "enabled": True,
                "created": token.created, "timestamp": token.created, "disabled": 0})
        if op == "show":
            return json_response([{"alias": t.alias, "xdatUserId": t.username, "id": t.id}
                                  for t in store.state.tokens if t.username == self.user.username])
        if op == "validate":
            if len(parts) < 2:
                return self.error(401, "Alias and secret are required")
            user = store.authenticate(parts[0], parts[1])
            return json_response({"valid": user.username} if user else {})
        if op == "invalidate" and parts:
            for token in store.state.tokens:
                if token.alias == parts[0]:
                    token.valid = False
            store.save()
            return json_response({"result": "OK"})
        return self.error(404, f"Unknown token operation {op}")

    def build_info(self) -> Response:
        version = self.server.store.version
        return json_response({"version": version, "buildNumber": "emulator",
                              "commit": "emulator", "sha": "emulator"})

    def schemas(self) -> Response:
        """``/xapi/schemas``: the data-type schemas installed (SchemaApi), as a JSON list."""
        return json_response(sorted(p.stem for p in SCHEMA_DIR.glob("*.xsd")))

    def schema(self, name: str) -> Response:
        path = SCHEMA_DIR / f"{Path(name).name}.xsd"
        if not path.is_file():
            return self.error(404, f"No schema named {name}")
        return Response(200, path.read_bytes(), "application/xml")

    def search_elements(self) -> Response:
        """``/data/search/elements``: the searchable data types with their counts (xnatpy reads
        it while building its model)."""
        counts: dict[str, int] = {}
        for project in self.server.store.state.projects.values():
            counts["xnat:projectData"] = counts.get("xnat:projectData", 0) + 1
            counts["xnat:subjectData"] = counts.get("xnat:subjectData", 0) + len(project.subjects)
            for experiment in project.experiments:
                counts[experiment.xsi_type] = counts.get(experiment.xsi_type, 0) + 1
        rows = [{"ELEMENT_NAME": name, "PLURAL": plural, "SINGULAR": singular,
                 "CATEGORY": category, "SECURED": "true", "BROWSEABLE": "true",
                 "COUNT": counts.get(name, 0)}
                for name, (singular, plural, category) in SEARCH_ELEMENTS.items()]
        return result_set(rows)

    def search_fields(self, element: str) -> Response:
        if element not in SEARCH_ELEMENTS:
            return self.error(404, f"Unknown data type {element}")
        fields = SEARCH_FIELDS.get(element, SEARCH_FIELDS["session"])
        return result_set([{"FIELD_ID": fid, "HEADER": header, "SUMMARY": header, "TYPE": kind,
                            "REQUIRES_VALUE": "false", "DESC": header, "ELEMENT_NAME": element,
                            "SRC": "0"} for fid, header, kind in fields])

    def version_text(self) -> Response:
        return text_response(self.server.store.version)

    def site_config_value(self, key: str) -> Response:
        script = self.server.store.site_script()
        if key == "enableSitewideAnonymizationScript":
            return json_response(script is not None and script.status == "enabled")
        if key == "sitewideAnonymizationScript":
            return json_response(script.contents if script else "")
        if key == "uiDefaultCompressedUploaderImporter":
            return json_response(self.server.default_importer)
        return self.error(404, f"No site configuration property {key}")

    # -- projects ----------------------------------------------------------------------------
    def _project(self, p: str, *, write: bool = False) -> Project:
        store = self.server.store
        project = store.state.projects.get(p)
        if project is None:
            project = next((x for x in store.state.projects.values() if p in x.aliases), None)
        if project is None or not store.can_read(self.user, project):
            raise HttpError(404, f"Unable to find project {p}")
        if write and not store.can_edit(self.user, project):
            raise HttpError(403, f"User {self.user.username} has insufficient privileges for "
                                 f"project {project.id}")
        return project

    def projects(self) -> Response:
        store = self.server.store
        permissions = self.params.get("permissions")
        readable = [p for p in store.state.projects.values() if store.can_read(self.user, p)]
        if permissions is not None:
            if permissions not in ("read", "edit", "create", "delete", "active"):
                return self.error(500, f"Invalid permissions value {permissions}")
            if not self.params.get("dataType"):
                return self.error(500, "The dataType parameter is required")
            check = {"read": store.can_read, "active": store.can_read, "edit": store.can_edit,
                     "create": store.can_edit, "delete": store.can_delete}[permissions]
            rows = sorted(({"id": p.id, "secondary_id": p.secondary_id}
                           for p in store.state.projects.values() if check(self.user, p)),
                          key=lambda r: r["secondary_id"])
            return result_set(rows, total=False)
        return result_set([{"ID": p.id, "secondary_ID": p.secondary_id, "name": p.name,
                            "description": p.description, "pi_firstname": p.pi_firstname,
                            "pi_lastname": p.pi_lastname, "URI": f"/data/projects/{p.id}"}
                           for p in readable])

    def access_projects(self) -> Response:
        store = self.server.store
        rows = []
        for p in store.state.projects.values():
            role = p.roles.get(self.user.username)
            if role:
                rows.append({"ID": p.id, "secondary_ID": p.secondary_id, "name": p.name,
                             "description": p.description, "role": ROLE_DISPLAY[role],
                             "group_id": f"{p.id}_{role}", "URI": f"/data/projects/{p.id}"})
        return json_response(rows)

    def project(self, p: str) -> Response:
        project = self._project(p)
        fields = {"ID": project.id, "secondary_ID": project.secondary_id, "name": project.name,
                  "description": project.description}
        if self.params.get("format") != "json":
            return text_response(f"<html><body><h1>{html.escape(project.name)}</h1></body></html>",
                                 content_type="text/html")
        return json_response({"items": [{"meta": {"xsi:type": "xnat:projectData", "isHistory": False},
                                         "data_fields": fields, "children": []}]})

    def prearchive_code(self, p: str) -> Response:
        return text_response(str(self._project(p).prearchive_code))

    def subjects(self, p: str) -> Response:
        project = self._project(p)
        rows = [{"ID": s.id, "project": project.id, "label": s.label, "group": s.group,
                 "insert_date": s.insert_date, "insert_user": s.insert_user,
                 "URI": f"/data/subjects/{s.id}"} for s in project.subjects]
        columns = self.params.get("columns")
        if columns:
            keep = set(columns.split(",")) | {"ID", "URI"}
            rows = [{k: v for k, v in r.items() if k in keep} for r in rows]
        return result_set(rows)

    def subject(self, p: str, s: str) -> Response:
        store = self.server.store
        if self.method == "PUT":
            project = self._project(p)
            if not store.can_edit(self.user, project):
                return self.error(403, f"User {self.user.username} cannot create subjects in {p}")
            subject, created = store.get_or_create_subject(project, s, self.user.username,
                                                          self.params.get("group", ""))
            return text_response(subject.id, 201 if created else 200)
        project = self._project(p)
        subject = next((x for x in project.subjects if x.label == s or x.id == s), None)
        if subject is None:
            return self.error(404, f"Unable to find subject {s}")
        return json_response({"items": [{"meta": {"xsi:type": "xnat:subjectData", "isHistory": False}, "data_fields": {
            "ID": subject.id, "label": subject.label, "project": project.id,
            "group": subject.group}, "children": []}]})

    def subject_by_id(self, sid: str) -> Response:
        """``/data/subjects/{ID}`` (the URI in every subject listing row)."""
        store = self.server.store
        for project in store.state.projects.values():
            if store.can_read(self.user, project) and any(x.id == sid for x in project.subjects):
                return self.subject(project.id, sid)
        return self.error(404, f"Unable to find subject {sid}")

    def experiments(self, p: str | None = None, s: str | None = None) -> Response:
        """Experiments of a project, of one subject (label or ID), or (``/data/experiments``)
        of every readable project, filterable by any column (``project=P``, ``xsiType=...``)."""
        store = self.server.store
        if p is None:
            projects = [x for x in store.state.projects.values() if store.can_read(self.user, x)]
        else:
            projects = [self._project(p)]
        subject = None
        if s is not None:
            subject = next((x for x in projects[0].subjects
                            if s.lower() in (x.label.lower(), x.id.lower())), None)
            if subject is None:
                return self.error(404, f"Unable to find subject {s}")
        rows = [self._experiment_row(project, e) for project in projects
                for e in project.experiments
                if subject is None or e.subject_label.lower() == subject.label.lower()]
        wanted = self.params.get("xsiType", "")
        if wanted in _ABSTRACT_EXPERIMENT_TYPES:  # a base type lists every session type
            rows = [r for r in rows if r["xsiType"].endswith("SessionData")]
        elif wanted:
            rows = [r for r in rows if r["xsiType"].lower() == wanted.lower()]
        for column in (self.params.get("columns") or "").split(","):
            if "/" in column:  # "xnat:subjectassessordata/subject_id": the field of that type
                field_name = column.rsplit("/", 1)[1].lower()
                for row in rows:
                    row[column] = next((v for k, v in row.items() if k.lower() == field_name), "")
        return self._filtered(rows, default=("date", "xsiType", "insert_date", "project", "ID",
                                             "label", "URI", "subject_label"), skip=("xsiType",))

    def _experiment_row(self, project: Project, e: Experiment) -> dict[str, str]:
        subject = next((x for x in project.subjects if x.label == e.subject_label), None)
        return {"ID": e.id, "label": e.label, "xsiType": e.xsi_type, "subject_label": e.subject_label,
                "subject_ID": subject.id if subject is not None else "",
                "UID": e.uid, "date": e.date, "insert_date": e.insert_date, "project": project.id,
                "modality": e.modality, "URI": f"/data/experiments/{e.id}"}

    def _filtered(self, rows: list[dict[str, str]], default: tuple[str, ...],
                  skip: tuple[str, ...] = ()) -> Response:
        for key, value in self.params.items():
            if rows and key in rows[0] and key not in ("format", "columns", *skip):
                rows = [r for r in rows if fnmatch.fnmatchcase(r[key], value)]
        columns = self.params.get("columns")
        keep = set(columns.split(",")) if columns else set(default)
        keep |= {"ID", "URI"}
        return result_set([{k: v for k, v in r.items() if k in keep} for r in rows])

    # -- archive: experiments, scans, files --------------------------------------------------
    def _experiment(self, p: str | None = None, s: str | None = None, e: str = "",
                    eid: str | None = None) -> tuple[Project, Experiment]:
        store = self.server.store
        if eid is not None:
            found = store.experiment_by_id(eid)
            if found is None or not store.can_read(self.user, found[0]):
                raise HttpError(404, f"Unable to find experiment {eid}")
            return found
        assert p is not None
        project = self._project(p)
        experiment = store.experiment(project, e)
        if experiment is None or (s is not None and experiment.subject_label.lower() != s.lower()
                                  and not any(x.id == s for x in project.subjects
                                              if x.label == experiment.subject_label)):
            raise HttpError(404, f"Unable to find experiment {e}")
        return project, experiment

    def create_experiment(self, p: str, s: str, e: str) -> Response:
        """``PUT`` an image session: 201 + ID when new, 200 + ID when it exists (XNAT)."""
        store = self.server.store
        project = self._project(p, write=True)
        subject = next((x for x in project.subjects if s.lower() in (x.label.lower(), x.id.lower())),
                       None)
        if subject is None:
            subject, _ = store.get_or_create_subject(project, s, self.user.username)
        xsi = self.params.get("xsiType") or self.params.get("xsi:type") or "xnat:mrSessionData"
        if xsi not in SEARCH_ELEMENTS or not xsi.endswith("SessionData"):
            return self.error(400, f"Unknown or unsupported experiment type {xsi}")
        experiment, created = store.create_experiment(project, subject, e, xsi, self.user.username)
        return text_response(experiment.id, 201 if created else 200)

    def experiment(self, p: str | None = None, s: str | None = None, e: str = "",
                   eid: str | None = None) -> Response:
        project, exp = self._experiment(p, s, e, eid)
        if self.params.get("format") != "json":
            return text_response(f"<html><body><h1>{html.escape(exp.label)}</h1></body></html>",
                                 content_type="text/html")
        subject = next((x for x in project.subjects if x.label == exp.subject_label), None)
        scans = [_scan_item(exp, sc) for sc in exp.scans]
        fields = {"ID": exp.id, "label": exp.label, "project": project.id, "UID": exp.uid,
                  "date": _iso_date(exp.date), "modality": exp.modality,
                  "subject_ID": subject.id if subject else "", "visit_id": exp.visit,
                  "protocol": exp.protocol, **exp.fields}
        return json_response({"items": [{"meta": {"xsi:type": exp.xsi_type, "isHistory": False},
                                         "data_fields": fields,
                                         "children": [{"field": "scans/scan", "items": scans}]}]})

    def scans(self, p: str | None = None, s: str | None = None, e: str = "",
              eid: str | None = None) -> Response:
        _, exp = self._experiment(p, s, e, eid)
        return result_set([{"xnat_imagescandata_id": str(i + 1), "ID": sc.id, "type": sc.type,
                            "quality": "usable", "xsiType": _scan_type(exp.xsi_type), "note": "",
                            "series_description": sc.series_description,
                            "URI": f"/data/experiments/{exp.id}/scans/{sc.id}"}
                           for i, sc in enumerate(exp.scans)])

    def scan(self, scan: str, p: str | None = None, s: str | None = None, e: str = "",
             eid: str | None = None) -> Response:
        """One scan as XNAT's JSON item (data fields plus its ``file`` resources)."""
        _, exp = self._experiment(p, s, e, eid)
        return json_response({"items": [_scan_item(exp, self._scan(exp.scans, scan))]})

    def _scan(self, scans: list[ScanRec], scan_id: str) -> ScanRec:
        scan = next((x for x in scans if x.id == scan_id), None)
        if scan is None:
            raise HttpError(404, f"Unable to find scan {scan_id}")
        return scan

    def resources(self, scan: str, p: str | None = None, s: str | None = None, e: str = "",
                  eid: str | None = None) -> Response:
        _, exp = self._experiment(p, s, e, eid)
        sc = self._scan(exp.scans, scan)
        return result_set([_resource_row(exp.id, sc)])

    def files(self, scan: str, p: str | None = None, s: str | None = None, e: str = "",
              eid: str | None = None, res: str = "DICOM") -> Response:
        project, exp = self._experiment(p, s, e, eid)
        scans = exp.scans if scan == "ALL" else [self._scan(exp.scans, scan)]
        rows = []
        for sc in scans:
            if res not in ("DICOM", str(_resource_id(exp.id, sc.id))):
                raise HttpError(404, f"Unable to find resource {res}")
            base = f"/data/experiments/{exp.id}/scans/{sc.id}/resources/{_resource_id(exp.id, sc.id)}/files"
            rows += [_file_row(f, f"{base}/{quote(f.name)}", _resource_id(exp.id, sc.id))
                     for f in sc.files]
        return result_set(rows)

    def file_download(self, scan: str, res: str, name: str, p: str | None = None,
                      s: str | None = None, e: str = "", eid: str | None = None) -> Response:
        project, exp = self._experiment(p, s, e, eid)
        self._scan(exp.scans, scan)
        path = self.server.store.archive_dir(project.id, exp.label) / "SCANS" / scan / "DICOM" / name
        if not path.is_file():
            return self.error(404, f"Unable to find file {name}")
        return Response(200, path.read_bytes(), "application/dicom")

    # -- config service ----------------------------------------------------------------------
    def config(self, tool: str, path: str = "", p: str | None = None) -> Response:
        store = self.server.store
        project_id = None
        if p is not None:
            project_id = self._project(p).id
            if tool == "anon" and path == f"projects/{project_id}":
                path = f"/projects/{project_id}"  # ConfigResource.fixAnonPath
        if self.method == "PUT":
            if project_id is None and not self.user.admin:
                return self.error(403, "Only administrators can change site configuration")
            if project_id is not None and not store.can_delete(self.user, store.state.projects[project_id]):
                return self.error(403, "Only project owners can change project configuration")
            status = self.params.get("status")
            if status in ("enabled", "disabled") and not self.params.get("inbody"):
                store.set_config_status(project_id, tool, path, status == "enabled")
                return Response(200)
            contents = self.body.read().decode("utf-8")
            store.set_config(project_id, tool, path, contents, user=self.user.username)
            return Response(201)
        if not path:
            # ConfigResource with a tool and no path lists the tool's configurations (a table,
            # whatever ``contents`` says): the official client's site-filter request gets this.
            rows = [{"tool": tool, "path": key.split("/", 1)[1], "project": project_id or "",
                     "user": c.user, "create_date": c.create_date, "reason": c.reason,
                     "contents": c.contents, "unversioned": "false", "version": c.version,
                     "status": c.status, "id": c.id}
                    for key, c in store.configs_of(project_id, tool)]
            if not rows and self.params.get("accept-not-found") != "true":
                return self.error(404, "Couldn't find config for the specified parameters.")
            return result_set(rows) if rows else Response(204)
        config = store.get_config(project_id, tool, path)
        not_found_ok = self.params.get("accept-not-found") == "true"
        contents_only = self.params.get("contents") == "true"
        if config is None or (contents_only and config.status == "disabled"):
            if not_found_ok:
                return Response(204)
            return self.error(404, "Couldn't find config for the specified parameters.")
        if contents_only:
            return text_response(config.contents)
        return result_set([{"tool": tool, "path": path, "project": project_id or "",
                            "user": config.user, "create_date": config.create_date,
                            "reason": config.reason, "contents": config.contents,
                            "unversioned": "false", "version": config.version,
                            "status": config.status, "id": config.id}], total=False)

    def xapi_site_anon(self, enabled: str | None = None) -> Response:
        return self._anon_answer(self.server.store.site_script(), enabled)

    def xapi_project_anon(self, p: str, enabled: str | None = None) -> Response:
        store = self.server.store
        if p not in store.state.projects:
            return self.error(404, f"Unable to find project {p}")
        return self._anon_answer(store.project_script(p), enabled)

    def _anon_answer(self, config: Any, enabled: str | None) -> Response:
        if enabled == "enabled":
            return json_response(config is not None and config.status == "enabled")
        if enabled is not None:
            return self.error(404, "Not Found")
        if config is None:
            return Response(204)
        return text_response(config.contents)

    # -- import ------------------------------------------------------------------------------
    def import_(self) -> Response:
        store = self.server.store
        params = dict(self.params)
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        handler = params.get("import-handler")
        if not handler:
            handler = ("gradual-DICOM" if content_type == "application/dicom"
                       else self.server.default_importer)
        if handler not in ("DICOM-zip", "gradual-DICOM", "SI"):
            return self.error(404, f"Unknown importer implementation specified: {handler}")
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        limit = self.server.faults.body_limit
        length = int(self.headers.get("Content-Length") or 0)
        if limit is not None and length > limit:
            return Response(413, b"<html><body><h1>413 Request Entity Too Large</h1></body></html>",
                            "text/html")
        if content_type.startswith("multipart/form-data"):
            name, raw, form = self._multipart(content_type)
            params.update(form)
            stream: io.RawIOBase | io.BytesIO = io.BytesIO(raw)
        else:
            if params.get("inbody") == "true" and content_type.startswith("multipart/"):
                return self.error(400, "Multipart content cannot be sent in the body")
            name = UPLOAD_NAMES.get(content_type, "upload.unsupported")
            if chunked and content_type != "application/zip":
                return self.error(400, "FileUploadException: streamed uploads must be application/zip")
            stream = self.body
            if not length and not chunked:
                return self.error(400, "Unable to identify upload format.")
        if handler == "gradual-DICOM":
            entries: Iterator[tuple[str, bytes]] = iter([(name, stream.read())])
        else:
            lowered = name.lower()
            if lowered.endswith((".zip", ".zar")):
                entries = iter_zip_entries(stream)  # type: ignore[arg-type]
            elif lowered.endswith((".tar", ".xar")):
                entries = iter_tar_entries(stream, compressed=False)  # type: ignore[arg-type]
            elif lowered.endswith((".tgz", ".tar.gz")):
                entries = iter_tar_entries(stream, compressed=True)  # type: ignore[arg-type]
            else:
                return self.error(400, "Unsupported format UNKNOWN")
        dest = params.get("dest", "")
        if dest and not re.match(r"^(/data|/REST)?/(prearchive|archive)(/|$)", dest):
            return self.error(400, "Parameter dest format error")
        try:
            sessions = store.receive(self.user, params, entries, handler,
                                     file_delay=self.server.faults.import_file_delay)
        except ArchiveFormatError as exc:
            return self.error(400, str(exc))
        if handler == "SI" and len(sessions) > 1:
            return self.error(400, "Upload included files for multiple imaging sessions.")
        to_archive = bool(re.match(r"^(/data|/REST)?/archive(/|$)", dest)) or (
            params.get("AA", params.get("auto-archive", "")).lower() == "true")
        commit = bool(dest) or params.get("action") == "commit" or handler == "SI"
        uris: list[str] = []
        failures = 0
        for built in sessions:
            if not (commit or to_archive):
                uris.append(built.uri)
                continue
            store.build(built)
            # A split PET/MR study answers with both resulting sessions, one URI a line.
            for session in store.separate_pet_mr(built) or [built]:
                if not (to_archive or (handler == "SI" and store.wants_archive(session))):
                    uris.append(session.uri)
                    continue
                overwrite = params.get("overwrite")
                try:
                    uris.append(store.archive(self.user, session, allow_merge=overwrite is not None,
                                              override=overwrite in ("delete", "override"),
                                              overwrite_files=params.get("overwrite_files") == "true"))
                except ArchiveFailure as exc:
                    if handler == "SI":
                        return self.error(409, str(exc))
                    failures += 1
        if failures:
            if store.version.startswith("1.8"):
                return self.error(400, "unable to archive for the Prearchive session")
            return self.error(400, f"Failed to archive {failures} of {len(sessions)} session(s)")
        if params.get("format") == "txt":
            return text_response(uris[0] if uris else "")
        return text_response("".join(u + "\r\n" for u in uris), content_type="text/uri-list")

    def _multipart(self, content_type: str) -> tuple[str, bytes, dict[str, str]]:
        raw = self.body.read()
        header = f"Content-Type: {self.headers.get('Content-Type')}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + raw)
        form: dict[str, str] = {}
        files: list[tuple[str, bytes]] = []
        for part in message.iter_parts():
            payload = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            field_name = part.get_param("name", header="content-disposition")
            if field_name == "reference":
                raise HttpError(400, "The reference field is not supported by the importer")
            if filename:
                files.append((str(filename), payload))
            elif field_name:
                form[str(field_name)] = payload.decode("utf-8", "replace")
        if len(files) > 1:
            raise HttpError(400, "Importer is limited to one uploaded resource at a time.")
        if not files:
            raise HttpError(400, "Unable to identify upload format.")
        return files[0][0], files[0][1], form

    # -- prearchive --------------------------------------------------------------------------
    def _visible_prearc(self, project_id: str | None = None) -> list[PrearcSession]:
        store = self.server.store
        out = []
        for session in store.state.prearchive:
            if project_id is not None and session.project != project_id:
                continue
            project = store.state.projects.get(session.project)
            if session.project == UNASSIGNED:
                if self.user.admin:
                    out.append(session)
            elif project is not None and store.can_edit(self.user, project):
                out.append(session)
        return out

    def prearchive_list(self, p: str | None = None) -> Response:
        store = self.server.store
        if p is not None and p != UNASSIGNED:
            project = self._project(p)
            if not store.can_edit(self.user, project):
                return self.error(403, f"User {self.user.username} cannot see the prearchive of {p}")
        return result_set([_prearc_row(s) for s in self._visible_prearc(p)])

    def _prearc(self, p: str, ts: str, f: str) -> PrearcSession:
        session = self.server.store.find_prearc(p, ts, f)
        if session is None or session not in self._visible_prearc(p):
            raise HttpError(404, f"Unable to find prearchive session {p}/{ts}/{f}")
        return session

    def prearc_session(self, p: str, ts: str, f: str) -> Response:
        store = self.server.store
        session = self._prearc(p, ts, f)
        if self.method == "DELETE":
            store.delete_prearc(session)
            return Response(200)
        if self.method == "GET":
            if (self.params.get("format") or "").lower() == "xml":
                return _session_xml(self._built_xml(session))
            return result_set([_prearc_row(session)])
        action = self.params.get("action")
        if action == "build":
            store.build(session)
            return text_response(session.uri, content_type="text/uri-list")
        if action == "reset-status":
            session.status = "READY"
            store.save()
            return text_response(session.uri, content_type="text/uri-list")
        if action != "commit":
            return self.error(400, f"Unsupported action {action}")
        if session.status in ("BUILDING", "ARCHIVING", "MOVING", "DELETING"):
            return self.error(409, "session document locked")
        if session.project == UNASSIGNED:
            return self.error(400, "Cannot archive sessions in the Unassigned prearchive.")
        fields = self._body_fields()
        store.build(session)
        wants = (self.params.get("AA", self.params.get("auto-archive", "")).lower() == "true"
                 or store.wants_archive(session))
        parts = store.separate_pet_mr(session)
        if parts is not None:
            # The build found a PET/MR session to separate: XNAT hands it to the separate
            # operation (PrearchiveSeparatePetMrHandler), which archives each new session when
            # auto-archive applies. The commit itself answers with the URI it was given (inferred:
            # the separated sessions are not reported to the committing request).
            for part in parts:
                if wants:
                    try:
                        store.archive(self.user, part, allow_merge=True,
                                      override=store.state.projects[part.project].prearchive_code == 5,
                                      fields=fields)
                    except ArchiveFailure:
                        pass  # the row is left CONFLICT/ERROR, as on the server
            return text_response(session.uri, content_type="text/uri-list")
        if not wants:
            return text_response(session.uri, content_type="text/uri-list")
        project = store.state.projects[session.project]
        overwrite = self.params.get("overwrite")
        user = self.user

        def run_archive() -> str:
            return store.archive(user, session, allow_merge=True,
                                 override=project.prearchive_code == 5 or overwrite in ("delete", "override"),
                                 overwrite_files=self.params.get("overwrite_files") == "true",
                                 fields=fields)

        faults = self.server.faults
        if faults.archive_delay:
            with store.lock:
                session.status = "ARCHIVING"
                store.save()
            timeout = faults.proxy_timeout
            if timeout is not None and faults.archive_delay > timeout:
                def finish() -> None:
                    time.sleep(faults.archive_delay)
                    try:
                        run_archive()
                    except (ArchiveFailure, HttpError):
                        pass  # the row is left CONFLICT/ERROR, as on the server
                threading.Thread(target=finish, daemon=True).start()
                time.sleep(timeout)
                return Response(504, b"<html><head><title>504 Gateway Time-out</title></head><body>"
                                     b"<center><h1>504 Gateway Time-out</h1></center><hr><center>"
                                     b"nginx</center></body></html>", "text/html")
            time.sleep(faults.archive_delay)
        try:
            uri = run_archive()
        except ArchiveFailure as exc:
            return self.error(500, f"FAILED: Unable to archive {session.name}: {exc}")
        # 301 with the archive URI as body and, faithfully, no Location header (§4.6).
        return Response(301, uri.encode(), "text/plain")

    def _body_fields(self) -> dict[str, str]:
        raw = self.body.read()
        if not raw.strip():
            return {}
        content_type = (self.headers.get("Content-Type") or "").lower()
        if "json" in content_type or raw.lstrip().startswith(b"{"):
            try:
                data = json.loads(raw)
            except ValueError:
                raise HttpError(400, "Malformed JSON body") from None
            return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        return dict(parse_qsl(raw.decode("utf-8", "replace")))

    def _built_prearc(self, p: str, ts: str, f: str) -> PrearcSession:
        """Prearchive scan listings read the session XML, which exists only once it is built
        (``retrieveSessionBean``); a ``RECEIVING`` session has none (status code inferred)."""
        session = self._prearc(p, ts, f)
        if session.status == "RECEIVING":
            raise HttpError(404, f"The session document for {ts}/{f} has not been built yet")
        return session

    @staticmethod
    def _built_xml(session: PrearcSession) -> PrearcSession:
        """``PrearcSessionResource`` answers ``format=xml`` with the session document, which a
        ``RECEIVING`` session does not have yet."""
        if session.status == "RECEIVING":
            raise HttpError(404, "The named session exists, but its XNAT session document is not "
                                 "available. The session is likely invalid or incomplete.")
        return session

    def prearc_scans(self, p: str, ts: str, f: str) -> Response:
        session = self._built_prearc(p, ts, f)
        return result_set([{"ID": sc.id, "xsiType": _scan_type(_modality_type(sc.modality)),
                            "series_description": sc.series_description} for sc in session.scans])

    def prearc_resources(self, p: str, ts: str, f: str, scan: str) -> Response:
        sc = self._scan(self._built_prearc(p, ts, f).scans, scan)
        return result_set([{"label": "DICOM", "file_count": len(sc.files),
                            "file_size": sum(x.size for x in sc.files)}])

    def prearc_files(self, p: str, ts: str, f: str, scan: str, res: str = "DICOM") -> Response:
        session = self._built_prearc(p, ts, f)
        sc = self._scan(session.scans, scan)
        if res != "DICOM":
            raise HttpError(404, f"Unable to find resource {res}")
        base = f"{session.uri}/scans/{sc.id}/resources/DICOM/files"
        return result_set([{"Name": x.name, "Size": x.size, "URI": f"{base}/{quote(x.name)}"}
                           for x in sc.files])

    def prearc_file(self, p: str, ts: str, f: str, scan: str, res: str, name: str) -> Response:
        session = self._prearc(p, ts, f)
        path = self.server.store.prearc_dir(session) / "SCANS" / scan / "DICOM" / name
        if not path.is_file():
            return self.error(404, f"Unable to find file {name}")
        return Response(200, path.read_bytes(), "application/dicom")

    def services_archive(self) -> Response:
        store = self.server.store
        src = self.params.get("src", "")
        match = re.match(r"^(?:/data|/REST)?/prearchive/projects/([^/]+)/([^/]+)/([^/]+)/?$", src)
        if not match:
            return self.error(400, "Invalid src parameter")
        session = self._prearc(*match.groups())
        if session.project == UNASSIGNED:
            return self.error(400, "Cannot archive sessions in the Unassigned prearchive.")
        overwrite = self.params.get("overwrite")
        store.build(session)
        try:
            uri = store.archive(self.user, session, allow_merge=overwrite is not None,
                                override=overwrite in ("delete", "override"),
                                overwrite_files=self.params.get("overwrite_files") == "true")
        except ArchiveFailure as exc:
            return self.error(409, str(exc))
        if self.params.get("redirect") == "true":
            host = self.headers.get("Host") or "127.0.0.1"
            return Response(303, b"", "text/plain",
                            {"Location": f"http://{host}{self.server.context_path}{uri}"})
        return text_response(uri + "\r\n", content_type="text/uri-list")


def _modality_type(modality: str) -> str:
    return xsi_type([modality] if modality else [])


def _scan_type(session_type: str) -> str:
    return session_type.replace("SessionData", "ScanData")


def _iso_date(dicom_date: str) -> str:
    if len(dicom_date) == 8 and dicom_date.isdigit():
        return f"{dicom_date[:4]}-{dicom_date[4:6]}-{dicom_date[6:]}"
    return dicom_date


def _resource_id(experiment_id: str, scan_id: str) -> int:
    return zlib.crc32(f"{experiment_id}/{scan_id}".encode()) % 100000 + 1


def _scan_item(exp: Experiment, sc: ScanRec) -> dict[str, Any]:
    rid = _resource_id(exp.id, sc.id)
    resource = {"meta": {"xsi:type": "xnat:resourceCatalog", "isHistory": False},
                "data_fields": {"xnat_abstractresource_id": rid, "label": "DICOM",
                                "format": "DICOM", "content": "RAW",
                                "file_count": len(sc.files),
                                "file_size": sum(f.size for f in sc.files),
                                "URI": f"/data/experiments/{exp.id}/scans/{sc.id}/resources/{rid}"},
                "children": []}
    return {"meta": {"xsi:type": _scan_type(exp.xsi_type), "isHistory": False},
            "data_fields": {"ID": sc.id, "type": sc.type, "UID": sc.series_uid,
                            "series_description": sc.series_description, "modality": sc.modality,
                            "quality": "usable", "image_session_ID": exp.id,
                            "frames": len(sc.files), "project": ""},
            "children": [{"field": "file", "items": [resource]}]}


def _resource_row(experiment_id: str, scan: ScanRec) -> dict[str, str]:
    rid = _resource_id(experiment_id, scan.id)
    return {"xnat_abstractresource_id": str(rid), "label": "DICOM", "element_name": "xnat:resourceCatalog",
            "category": "scans", "cat_id": scan.id, "cat_desc": scan.series_description,
            "file_count": str(len(scan.files)), "file_size": str(sum(f.size for f in scan.files)),
            "tags": "", "content": "RAW", "format": "DICOM"}


def _file_row(rec: Any, uri: str, cat_id: Any) -> dict[str, str]:
    return {"Name": rec.name, "Size": str(rec.size), "URI": uri, "collection": "DICOM",
            "file_tags": "", "file_format": "DICOM", "file_content": "RAW", "cat_ID": str(cat_id),
            "digest": rec.digest}


_SESSION_ELEMENTS = {"xnat:mrSessionData": "MRSession", "xnat:petSessionData": "PETSession",
                     "xnat:petmrSessionData": "PETMRSession", "xnat:ctSessionData": "CTSession",
                     "xnat:otherDicomSessionData": "OtherDicomSession"}


def _session_xml(session: PrearcSession) -> Response:
    """The prearchive session document as the session builder writes it: the session element
    with ``project``/``label``, ``xnat:subject_ID``, and one ``xnat:scans/xnat:scan`` per scan
    with its ``ID``, ``UID`` (Series Instance UID) and DICOM catalog resource."""
    session_type = xsi_type(session.modality.split())
    element = _SESSION_ELEMENTS.get(session_type) or (
        session_type.split(":")[1][:2].upper() + "Session")  # xnat:usSessionData → USSession
    escape = html.escape
    scans = []
    for sc in session.scans:
        scan_type = _scan_type(_modality_type(sc.modality))
        scans.append(
            f'<xnat:scan ID="{escape(sc.id)}" UID="{escape(sc.series_uid)}" '
            f'type="{escape(sc.type)}" xsi:type="{scan_type}">'
            f"<xnat:series_description>{escape(sc.series_description)}"
            "</xnat:series_description>"
            f"<xnat:modality>{escape(sc.modality)}</xnat:modality>"
            f'<xnat:file xsi:type="xnat:resourceCatalog" label="DICOM" format="DICOM" '
            f'content="RAW" URI="{escape(f"SCANS/{sc.id}/DICOM/scan_{sc.id}_catalog.xml")}"/>'
            f"</xnat:scan>")
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>'
           f'<xnat:{element} xmlns:xnat="http://nrg.wustl.edu/xnat" '
           f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           f'project="{escape(session.project)}" label="{escape(session.name)}" '
           f'UID="{escape(session.tag)}">'
           f"<xnat:subject_ID>{escape(session.subject)}</xnat:subject_ID>"
           f"<xnat:scans>{''.join(scans)}</xnat:scans>"
           f"</xnat:{element}>")
    return Response(200, xml.encode(), "text/xml")


def _prearc_row(s: PrearcSession) -> dict[str, str]:
    values = {"project": s.project, "timestamp": s.timestamp, "lastmod": s.lastmod,
              "uploaded": s.uploaded, "scan_date": _iso_date(s.scan_date), "scan_time": s.scan_time,
              "subject": s.subject, "folderName": s.folder, "name": s.name, "tag": s.tag,
              "status": s.status, "url": s.uri[len("/data"):], "autoarchive": bool_text(s.autoarchive),
              "prevent_anon": bool_text(s.prevent_anon),
              "prevent_auto_commit": bool_text(s.prevent_auto_commit), "SOURCE": s.source,
              "VISIT": s.visit, "PROTOCOL": s.protocol, "TIMEZONE": s.timezone}
    return {k: values[k] for k in PREARC_COLUMNS}


def _route(method: str, pattern: str, func: Callable[..., Response]) -> tuple[str, re.Pattern[str], Callable[..., Response]]:
    seg = r"[^/]+"
    regex = re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m.group(1)}>{seg})", pattern)
    regex = regex.replace("(?P<path>[^/]+)", "(?P<path>.*)").replace("(?P<rest>[^/]+)", "(?P<rest>.*)")
    return method, re.compile(regex), func


_EXP = "/data/projects/{p}/subjects/{s}/experiments/{e}"
_EXPID = "/data/experiments/{eid}"
_PRE = "/data/prearchive/projects/{p}/{ts}/{f}"
ROUTES = [
    _route("GET|POST", "/data/JSESSION", Handler.jsession),
    _route("DELETE", "/data/JSESSION", Handler.jsession),
    _route("GET", "/data/auth", Handler.auth_check),
    _route("GET", "/data/services/tokens/{op}", Handler.tokens),
    _route("GET", "/data/services/tokens/{op}/{rest}", Handler.tokens),
    _route("GET", "/xapi/siteConfig/buildInfo", Handler.build_info),
    _route("GET", "/data/version", Handler.version_text),
    _route("GET", "/xapi/schemas", Handler.schemas),
    _route("GET", "/data/search/elements", Handler.search_elements),
    _route("GET", "/data/search/elements/{element}", Handler.search_fields),
    _route("GET", "/xapi/schemas/{name}", Handler.schema),
    _route("GET", "/xapi/siteConfig/{key}", Handler.site_config_value),
    _route("GET", "/data/projects", Handler.projects),
    _route("GET", "/xapi/access/projects", Handler.access_projects),
    _route("GET", "/data/projects/{p}", Handler.project),
    _route("GET", "/data/projects/{p}/prearchive_code", Handler.prearchive_code),
    _route("GET", "/data/projects/{p}/subjects", Handler.subjects),
    _route("GET", "/data/projects/{p}/subjects/{s}", Handler.subject),
    _route("PUT", "/data/projects/{p}/subjects/{s}", Handler.subject),
    _route("GET", "/data/projects/{p}/experiments", Handler.experiments),
    _route("GET", "/data/projects/{p}/subjects/{s}/experiments", Handler.experiments),
    _route("GET", "/data/experiments", Handler.experiments),
    _route("GET", "/data/subjects/{sid}", Handler.subject_by_id),
    _route("PUT", _EXP, Handler.create_experiment),
    _route("GET", "/data/prearchive/projects", Handler.prearchive_list),
    _route("GET", _EXP, Handler.experiment),
    _route("GET", _EXPID, Handler.experiment),
    _route("GET", _EXP + "/scans", Handler.scans),
    _route("GET", _EXPID + "/scans", Handler.scans),
    _route("GET", _EXP + "/scans/{scan}", Handler.scan),
    _route("GET", _EXPID + "/scans/{scan}", Handler.scan),
    _route("GET", _EXP + "/scans/{scan}/resources", Handler.resources),
    _route("GET", _EXPID + "/scans/{scan}/resources", Handler.resources),
    _route("GET", _EXP + "/scans/{scan}/resources/{res}/files", Handler.files),
    _route("GET", _EXPID + "/scans/{scan}/resources/{res}/files", Handler.files),
    _route("GET", _EXP + "/scans/{scan}/files", Handler.files),
    _route("GET", _EXPID + "/scans/{scan}/files", Handler.files),
    _route("GET", _EXP + "/scans/{scan}/resources/{res}/files/{name}", Handler.file_download),
    _route("GET", _EXPID + "/scans/{scan}/resources/{res}/files/{name}", Handler.file_download),
    _route("GET", "/data/config/{tool}", Handler.config),
    _route("GET", "/data/config/{tool}/{path}", Handler.config),
    _route("PUT", "/data/config/{tool}/{path}", Handler.config),
    _route("GET", "/data/projects/{p}/config/{tool}", Handler.config),
    _route("GET", "/data/projects/{p}/config/{tool}/{path}", Handler.config),
    _route("PUT", "/data/projects/{p}/config/{tool}/{path}", Handler.config),
    _route("GET", "/xapi/anonymize/site", Handler.xapi_site_anon),
    _route("GET", "/xapi/anonymize/site/{enabled}", Handler.xapi_site_anon),
    _route("GET", "/xapi/anonymize/projects/{p}", Handler.xapi_project_anon),
    _route("GET", "/xapi/anonymize/projects/{p}/{enabled}", Handler.xapi_project_anon),
    _route("POST", "/data/services/import", Handler.import_),
    _route("POST", "/data/services/archive", Handler.services_archive),
    _route("GET", "/data/prearchive", Handler.prearchive_list),
    _route("GET", "/data/prearchive/projects/{p}", Handler.prearchive_list),
    _route("GET", _PRE, Handler.prearc_session),
    _route("POST", _PRE, Handler.prearc_session),
    _route("DELETE", _PRE, Handler.prearc_session),
    _route("GET", _PRE + "/scans", Handler.prearc_scans),
    _route("GET", _PRE + "/scans/{scan}/resources", Handler.prearc_resources),
    _route("GET", _PRE + "/scans/{scan}/resources/{res}/files", Handler.prearc_files),
    _route("GET", _PRE + "/scans/{scan}/resources/{res}/files/{name}", Handler.prearc_file),
]
