"""XNAT REST client for the uploader (reference: ``xnat-rest-api.md``).

Public API::

    from desktop_client.xnat import XnatClient
    client = XnatClient(url, user, password_or_token_secret, verify=True, allow_insecure=False,
                        allow_http=False, timeout=30.0)   # http:// only for loopback unless allowed
    client.resolve_address() -> base URL; client.notices   # https first, redirects, SSO (no secret sent)
    client.login(); client.logout(); client.server_version()
    client.upload_projects() -> list[Project]            # owners/members (+ role)
    client.projects() -> list[Project]                    # readable, collaborators included
    client.project(pid) -> Project
    client.project_settings(pid) -> ProjectSettings       # destination, applet flags, tracers, filters
    client.anonymization_scripts(pid) -> (site | None, project | None)   # enabled scripts only
    client.script_configs(pid) -> (ScriptConfig, ScriptConfig)           # exists / enabled detail
    client.config_text(pid | None, tool, path) -> str | None
    client.subjects(pid); client.create_subject(pid, label, group=None)
    client.experiments(pid); client.prearchive_entries(pid); client.session_labels(pid)
    client.import_zip(pid, subject, label, body_iter, overwrite="none", visit=None, subtype=None,
                      progress=None, cancel=None, content_length=None) -> prearchive URI
    client.commit(uri, tracer=None, modalities=()) -> CommitResult(archived, uri)
    client.verify_session(pid, subject, label, {scan_id: n_files}) -> Verification
    client.find_session(pid, subject, label) -> URI | None
    client.delete_prearchive(uri); client.keepalive(); client.issue_alias_token()

    upload_session(client, ..., make_body, expected) -> UploadOutcome   # import→commit→verify
    reconcile_commit(client, pid, subject, label, prearchive_uri, error) -> CommitResult | None
    client.prearchive_entry(uri) -> PrearchiveEntry | None              # status of our entry
    zip_stream([(name, bytes), ...], level=0) -> Iterator[bytes]        # XNAT-readable zip body
    wait_until_settled(client, pid, subject, label)   # before re-sending after 504/lost/concurrent
    client.project_settings(pid).series_import_filters()   # parsed site + project filters
    series_filter.series_rejections(filters, {series uid: read}) -> {uid: reason}   # XNAT's rules
    requests_sizing.RequestSizer()                     # adaptive import request size

Errors are ``XnatError`` subclasses with ``user_message``, ``status``, ``server_message`` and
``outcome_unknown``.
"""

from desktop_client.xnat.address import (
    PLAIN_HTTP_WARNING, XnatInsecureTransportError, is_loopback_host, parse_address,
)
from desktop_client.xnat.client import USER_AGENT, XnatClient, XnatSessionExpired, normalise_base_url
from desktop_client.xnat.errors import (
    XnatAuthError, XnatCancelled, XnatConcurrentSendError, XnatConflictError,
    XnatConnectionError, XnatError,
    XnatNotFoundError, XnatPermissionError, XnatServerError, XnatUploadError, XnatVerificationError,
)
from desktop_client.xnat.models import (
    CommitResult, Experiment, PrearchiveEntry, Project, ProjectSettings, ScriptConfig, Subject,
    Verification,
)
from desktop_client.xnat.upload import (
    UploadOutcome, reconcile_commit, upload_session, wait_until_settled,
)
from desktop_client.xnat.zipstream import zip_stream

__all__ = [
    "PLAIN_HTTP_WARNING", "XnatInsecureTransportError", "is_loopback_host", "parse_address",
    "USER_AGENT", "CommitResult", "Experiment", "PrearchiveEntry", "Project", "ProjectSettings",
    "ScriptConfig", "Subject", "UploadOutcome", "Verification", "XnatAuthError", "XnatCancelled",
    "XnatClient", "XnatConcurrentSendError", "XnatConflictError", "XnatConnectionError", "XnatError", "XnatNotFoundError",
    "XnatPermissionError", "XnatServerError", "XnatSessionExpired", "XnatUploadError",
    "XnatVerificationError", "normalise_base_url", "reconcile_commit", "upload_session",
    "wait_until_settled", "zip_stream",
]
