"""Pytest plugin: the ``xnat_emulator`` fixture (function scope), a started XNAT on loopback.

Enabled suite-wide by ``pytest_plugins = ["tests.xnat_emulator.pytest_plugin"]`` in
``tests/conftest.py``. Each test gets a fresh server on a free 127.0.0.1 port with its own data
directory (under pytest's ``tmp_path``), stopped afterwards.

Seeded state
    users ``admin``/``admin`` (site admin, owner of ``DEMO``), ``member``/``member`` (member of
    ``DEMO``), ``collab``/``collab`` (collaborator on ``DEMO``: can read, cannot upload),
    ``outsider``/``outsider`` (no projects). ``DEMO`` has prearchive code 0 (uploads stay in the
    prearchive until committed; commit leaves them there) — call
    ``set_prearchive_code("DEMO", 4)`` for auto-archive. No anonymization scripts.

Attributes
    ``url`` (``http://127.0.0.1:PORT``, plus the context path if one was given), ``data_dir``,
    ``port``, ``store`` (raw state, for unusual assertions), ``faults`` (see below).

Setup helpers
    ``add_user(name, password, admin=False)``, ``issue_token(user) -> (alias, secret)``,
    ``add_project(id, name=None, owner=None, prearchive_code=0, aliases=())``,
    ``set_role(project, user, "owner"|"member"|"collaborator"|None)``,
    ``set_prearchive_code(project, 0|4|5)``, ``set_site_script(text, enabled=True)``,
    ``set_project_script(project, text, enabled=True)``, ``set_script_enabled(project|None, bool)``,
    ``set_applet(project|None, key, value)`` (``allow-create-subject``, ``require-date``,
    ``allow-bulk-upload``, ``default-subject-labeling-scheme``, ``default-session-labeling-scheme``),
    ``set_tracers(project|None, [..])``, ``set_config(project|None, tool, path, contents)``,
    ``add_subject(project, label)``, ``set_version("1.9.1")``.

Server knobs
    ``session_timeout`` (seconds, idle; default 900), ``expire_sessions()``, ``csrf_enabled``,
    ``default_importer``, ``max_sessions_per_user`` (1000), ``max_failed_logins`` (20),
    ``auto_commit_seconds`` (None = off; else idle RECEIVING sessions without
    ``prevent_auto_commit`` are built and, for codes 4/5, archived).

Fault knobs (``xnat_emulator.faults``)
    ``fail_nth_request(n, status=500, path=None, method=None)`` — n-th matching request from now
    answers ``status`` unprocessed; ``drop_connection_after(nbytes, path="/services/import",
    times=1)`` — socket closed after that many body bytes (entries already received stay in the
    prearchive); ``gateway_timeout_after_body(path="/services/import", times=1, method="POST")`` —
    the request is fully processed, then answered 504 (use ``path="action=commit"``-style paths
    such as ``"/data/prearchive"`` for commits); ``slow(seconds, path=None)``; ``body_limit`` (413);
    ``archive_delay`` (seconds a commit spends ``ARCHIVING``) with ``proxy_timeout`` (a commit
    slower than this is answered 504 while archiving finishes in the background);
    ``import_file_delay`` (seconds the importer spends per stored file); ``swallow_limit`` (bytes
    Tomcat reads after an early error answer before closing, e.g. 2 MB); ``refuse_chunked`` (411
    for chunked bodies); ``redirect_all(target, status=301, keep_path=True)`` (a front end
    redirecting every request: http→https, a moved site, an SSO page); an import whose objects
    another running import holds answers 400 "Concurrent file sends…"; ``clear()``.
    For a proxy read timeout on any request: ``tests.timeout_proxy.TimeoutProxy``.
    Session expiry: ``session_timeout`` / ``expire_sessions()`` above.

Test data
    ``tests.dicomfactory.study_entries({series_number: n_files}, modality="MR", ...)`` gives
    ``[(entry name, bytes)]`` of synthetic DICOM; ``desktop_client.xnat.zip_stream(entries)``
    turns entries into an XNAT-readable zip body.

Inspection
    ``archived_files(project, subject, session) -> list[Path]``, ``experiment(project, label)``,
    ``experiments(project)``, ``prearchive_entries(project=None)`` (records with ``status``,
    ``name``, ``subject``, ``tag``, ``uri``, ``scans``), ``prearchive_files(entry)``,
    ``request_log`` (``(method, path, status)``; status 0 = dropped), ``stop()``.

The same server runs by hand: ``python -m tests.xnat_emulator --data DIR --port N`` (``--seed``,
``--context /xnat``, ``--version 1.9.1``, ``--auto-commit SECONDS``, ``--tls-cert/--tls-key``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.xnat_emulator.emulator import XnatEmulator


@pytest.fixture
def xnat_emulator(tmp_path: Path) -> Iterator[XnatEmulator]:
    emulator = XnatEmulator(tmp_path / "xnat-emulator")
    emulator.seed_default()
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
