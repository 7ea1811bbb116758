"""``XnatEmulator``: start/stop the server, seed state, set knobs, inspect what arrived."""

from __future__ import annotations

import ssl
import threading
from pathlib import Path

from tests.xnat_emulator.faults import Faults
from tests.xnat_emulator.model import ROLES, Experiment, PrearcSession, Project
from tests.xnat_emulator.server import EmulatorHTTPServer
from tests.xnat_emulator.store import Store


class XnatEmulator:
    """A protocol-faithful XNAT on 127.0.0.1 backed by ``data_dir`` (see the package docstring)."""

    def __init__(self, data_dir: Path | str, *, port: int = 0, context_path: str = "",
                 version: str = "1.8.10", tls_cert: Path | str | None = None,
                 tls_key: Path | str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.store = Store(self.data_dir)
        self.store.version = version
        self.faults = Faults()
        self._server = EmulatorHTTPServer(("127.0.0.1", port), self.store, self.faults, context_path)
        scheme = "http"
        if tls_cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls_cert), str(tls_key) if tls_key else None)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            scheme = "https"
        self.port = self._server.server_address[1]
        self.context_path = self._server.context_path
        self.url = f"{scheme}://127.0.0.1:{self.port}{self.context_path}"
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.auto_commit_seconds: float | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "XnatEmulator":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"xnat-emulator-{self.port}", daemon=True)
        self._thread.start()
        threading.Thread(target=self._rebuilder, name="xnat-emulator-rebuilder", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "XnatEmulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _rebuilder(self) -> None:
        while not self._stop.wait(0.2):
            if self.auto_commit_seconds is not None:
                self.store.auto_commit(self.auto_commit_seconds)

    # -- seeding -----------------------------------------------------------------------------
    def seed_default(self) -> None:
        """``admin``/``admin`` (site admin, owner of DEMO), ``member``/``member`` (member of DEMO),
        ``collab``/``collab`` (collaborator on DEMO), ``outsider``/``outsider`` (no projects)."""
        self.add_user("admin", "admin", admin=True)
        self.add_user("member", "member")
        self.add_user("collab", "collab")
        self.add_user("outsider", "outsider")
        self.add_project("DEMO", "Demo project", owner="admin")
        self.set_role("DEMO", "member", "member")
        self.set_role("DEMO", "collab", "collaborator")

    def add_user(self, username: str, password: str, *, admin: bool = False) -> None:
        self.store.add_user(username, password, admin)

    def issue_token(self, username: str, lifetime: float = 2 * 86400) -> tuple[str, str]:
        """A fresh alias token for ``username``: ``(alias, secret)``."""
        token = self.store.issue_token(username, lifetime)
        return token.alias, token.secret

    def add_project(self, project_id: str, name: str | None = None, *, owner: str | None = None,
                    prearchive_code: int = 0, aliases: tuple[str, ...] = (),
                    secondary_id: str | None = None) -> Project:
        return self.store.add_project(project_id, name, owner=owner, prearchive_code=prearchive_code,
                                      aliases=aliases, secondary_id=secondary_id)

    def set_role(self, project_id: str, username: str, role: str | None) -> None:
        if role is not None and role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        with self.store.lock:
            roles = self.store.state.projects[project_id].roles
            if role is None:
                roles.pop(username, None)
            else:
                roles[username] = role
            self.store.save()

    def set_prearchive_code(self, project_id: str, code: int) -> None:
        with self.store.lock:
            self.store.state.projects[project_id].prearchive_code = code
            self.store.save()

    def set_site_script(self, contents: str, enabled: bool = True) -> None:
        self.store.set_config(None, "anon", "script", contents, enabled)

    def set_project_script(self, project_id: str, contents: str, enabled: bool = True) -> None:
        self.store.set_config(project_id, "anon", f"/projects/{project_id}", contents, enabled)

    def set_script_enabled(self, project_id: str | None, enabled: bool) -> None:
        path = "script" if project_id is None else f"/projects/{project_id}"
        self.store.set_config_status(project_id, "anon", path, enabled)

    def set_config(self, project_id: str | None, tool: str, path: str, contents: str,
                   enabled: bool = True) -> None:
        """Any config-service entry, e.g. ``("applet", "require-date", "true")``."""
        self.store.set_config(project_id, tool, path, contents, enabled)

    def set_separate_pet_mr(self, project_id: str | None, value: str = "separate") -> None:
        """XNAT's PET/MR handling (``separatePETMR/config``: ``separate``, ``pet``, ``petmr``);
        ``project_id=None`` sets the site-wide value. ``separate`` splits a PET/MR session into
        ``<label>_MR`` and ``<label>_PET`` when it is built."""
        self.store.set_config(project_id, "separatePETMR", "config", value)

    def set_applet(self, project_id: str | None, key: str, value: str) -> None:
        """Applet settings the uploader reads: allow-create-subject, require-date, allow-bulk-upload,
        default-subject-labeling-scheme, default-session-labeling-scheme."""
        self.store.set_config(project_id, "applet", key, value)

    def set_tracers(self, project_id: str | None, tracers: list[str]) -> None:
        self.store.set_config(project_id, "tracers", "tracers", "\n".join(tracers))

    def add_subject(self, project_id: str, label: str, group: str = "") -> str:
        project = self.store.state.projects[project_id]
        subject, _ = self.store.get_or_create_subject(project, label, "admin", group)
        return subject.id

    def set_version(self, version: str) -> None:
        self.store.version = version

    # -- server knobs ------------------------------------------------------------------------
    @property
    def session_timeout(self) -> float:
        return self._server.session_timeout

    @session_timeout.setter
    def session_timeout(self, seconds: float) -> None:
        self._server.session_timeout = seconds

    @property
    def csrf_enabled(self) -> bool:
        return self._server.csrf_enabled

    @csrf_enabled.setter
    def csrf_enabled(self, value: bool) -> None:
        self._server.csrf_enabled = value

    @property
    def default_importer(self) -> str:
        return self._server.default_importer

    @default_importer.setter
    def default_importer(self, value: str) -> None:
        self._server.default_importer = value

    @property
    def max_sessions_per_user(self) -> int | None:
        """XNAT's ``concurrentMaxSessions`` (default 1000); beyond it new logins fail."""
        return self._server.max_sessions_per_user

    @max_sessions_per_user.setter
    def max_sessions_per_user(self, value: int | None) -> None:
        self._server.max_sessions_per_user = value

    @property
    def max_failed_logins(self) -> int | None:
        """Lockout threshold (XNAT default 20); None disables the lockout."""
        return self._server.max_failed_logins

    @max_failed_logins.setter
    def max_failed_logins(self, value: int | None) -> None:
        self._server.max_failed_logins = value

    def expire_sessions(self) -> None:
        """Invalidate every HTTP session now (as if the idle timeout had passed)."""
        with self._server.sessions_lock:
            self._server.sessions.clear()

    @property
    def request_log(self) -> list[tuple[str, str, int]]:
        """``(method, path, status)`` of every request so far (status 0 = connection dropped)."""
        return list(self._server.request_log)

    # -- inspection --------------------------------------------------------------------------
    def prearchive_entries(self, project_id: str | None = None) -> list[PrearcSession]:
        with self.store.lock:
            return [s for s in self.store.state.prearchive
                    if project_id is None or s.project == project_id]

    def experiments(self, project_id: str) -> list[Experiment]:
        with self.store.lock:
            return list(self.store.state.projects[project_id].experiments)

    def experiment(self, project_id: str, label: str) -> Experiment | None:
        with self.store.lock:
            return self.store.experiment(self.store.state.projects[project_id], label)

    def archived_files(self, project_id: str, subject: str, session: str) -> list[Path]:
        """Every stored file of an archived session (empty when it is not archived under that
        subject)."""
        experiment = self.experiment(project_id, session)
        if experiment is None or experiment.subject_label.lower() != subject.lower():
            return []
        root = self.store.archive_dir(project_id, experiment.label) / "SCANS"
        return sorted(p for p in root.rglob("*") if p.is_file())

    def prearchive_files(self, session: PrearcSession) -> list[Path]:
        root = self.store.prearc_dir(session) / "SCANS"
        return sorted(p for p in root.rglob("*") if p.is_file())
