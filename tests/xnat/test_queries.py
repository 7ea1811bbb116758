"""Projects, roles, settings, anonymization scripts, subjects and labels against the emulator."""

from __future__ import annotations

import json

import pytest
import requests

from desktop_client.xnat import XnatNotFoundError, XnatPermissionError
from tests.xnat.helpers import client_for
from tests.xnat_emulator import XnatEmulator


def test_upload_projects_and_roles(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.add_project("ALPHA", "Alpha study", owner="member", secondary_id="A")
    xnat_emulator.add_project("HIDDEN", "Hidden", owner="admin")
    member = client_for(xnat_emulator, "member")
    projects = member.upload_projects()
    assert [(p.id, p.role, p.name) for p in projects] == [("ALPHA", "owner", "Alpha study"),
                                                           ("DEMO", "member", "Demo project")]
    # Collaborators see the project but cannot upload into it.
    collab = client_for(xnat_emulator, "collab")
    assert collab.upload_projects() == []
    readable = collab.projects()
    assert [(p.id, p.role, p.can_upload) for p in readable] == [("DEMO", "collaborator", False)]
    # Site admins get everything; implicit access has no role.
    admin = client_for(xnat_emulator)
    assert {p.id: p.role for p in admin.upload_projects()} == {"ALPHA": None, "DEMO": "owner",
                                                               "HIDDEN": "owner"}
    assert client_for(xnat_emulator, "outsider").upload_projects() == []


def test_permissions_handler_quirks(xnat_emulator: XnatEmulator) -> None:
    auth = ("admin", "admin")
    url = xnat_emulator.url + "/data/projects"
    rows = requests.get(url, auth=auth, params={"permissions": "edit", "dataType": "xnat:subjectData",
                                                "format": "json"}).json()["ResultSet"]
    assert rows["Result"] == [{"id": "DEMO", "secondary_id": "DEMO"}] and "totalRecords" not in rows
    assert requests.get(url, auth=auth, params={"permissions": "edit"}).status_code == 500
    assert requests.get(url, auth=auth, params={"permissions": "bogus",
                                                "dataType": "xnat:subjectData"}).status_code == 500
    full = requests.get(url, auth=auth, params={"format": "json"}).json()["ResultSet"]
    assert full["totalRecords"] == "1" and full["Result"][0]["URI"] == "/data/projects/DEMO"


def test_project_details_and_unknown_project(xnat_emulator: XnatEmulator) -> None:
    client = client_for(xnat_emulator)
    assert client.project("DEMO").name == "Demo project"
    with pytest.raises(XnatNotFoundError):
        client.project("NOPE")
    with pytest.raises(XnatNotFoundError):
        client_for(xnat_emulator, "outsider").subjects("DEMO")


def test_project_settings_defaults(xnat_emulator: XnatEmulator) -> None:
    settings = client_for(xnat_emulator).project_settings("DEMO")
    assert settings.destination == "prearchive" and settings.prearchive_code == 0
    assert settings.allow_create_subject and settings.allow_bulk_upload
    assert not settings.require_date and not settings.overwrite
    assert (settings.default_subject_scheme, settings.default_session_scheme) == ("manual", "auto")
    assert settings.pet_tracers == () and settings.site_series_import_filter is None
    assert settings.project_series_import_filter is None


def test_project_settings_configured(xnat_emulator: XnatEmulator) -> None:
    emu = xnat_emulator
    emu.set_prearchive_code("DEMO", 5)
    emu.set_applet(None, "allow-create-subject", "false")
    emu.set_applet(None, "require-date", "true")
    emu.set_applet("DEMO", "require-date", "")  # empty project value falls back to site
    emu.set_applet("DEMO", "allow-bulk-upload", "false")
    emu.set_applet("DEMO", "default-subject-labeling-scheme", "auto")
    emu.set_applet("DEMO", "default-session-labeling-scheme", "dicom_accession")
    emu.set_tracers(None, ["FDG", "PIB"])
    emu.set_tracers("DEMO", ["FDG", "AV45", "FBB"])
    emu.set_config(None, "seriesImportFilter", "config",
                   json.dumps({"mode": "blacklist", "list": "^LOCALIZER$"}))
    emu.set_config("DEMO", "seriesImportFilter", "config",
                   json.dumps({"mode": "blacklist", "list": "^SCOUT$"}))
    settings = client_for(emu).project_settings("DEMO")
    assert settings.destination == "archive" and settings.overwrite
    assert not settings.allow_create_subject and settings.require_date
    assert not settings.allow_bulk_upload
    assert settings.default_subject_scheme == "auto"
    assert settings.default_session_scheme == "dicom_accession"
    assert settings.pet_tracers == ("FDG", "AV45", "FBB")
    assert json.loads(settings.site_series_import_filter or "") == {"mode": "blacklist",
                                                                   "list": "^LOCALIZER$"}
    assert settings.project_series_import_filter == {"mode": "blacklist", "list": "^SCOUT$"}
    emu.set_prearchive_code("DEMO", 4)
    settings = client_for(emu).project_settings("DEMO")
    assert settings.destination == "archive" and not settings.overwrite


SITE = 'version "6.1"\n(0010,0010) := "anon"\n'
PROJECT = 'version "6.1"\n(0008,1030) := project\n'


def test_scripts_absent_enabled_disabled(xnat_emulator: XnatEmulator) -> None:
    emu = xnat_emulator
    client = client_for(emu)
    assert client.anonymization_scripts("DEMO") == (None, None)
    site, project = client.script_configs("DEMO")
    assert not site.exists and not project.exists
    emu.set_site_script(SITE)
    emu.set_project_script("DEMO", PROJECT)
    assert client.anonymization_scripts("DEMO") == (SITE, PROJECT)
    emu.set_script_enabled(None, False)
    site, project = client.script_configs("DEMO")
    assert site.exists and not site.enabled and site.contents == SITE
    assert client.anonymization_scripts("DEMO") == (None, PROJECT)
    emu.set_script_enabled("DEMO", False)
    assert client.anonymization_scripts("DEMO") == (None, None)


def test_script_endpoint_status_codes(xnat_emulator: XnatEmulator) -> None:
    emu, auth = xnat_emulator, ("admin", "admin")
    base = emu.url
    get = lambda path, **p: requests.get(base + path, auth=auth, params=p)  # noqa: E731
    assert get("/data/config/anon/script", format="json").status_code == 404
    assert get("/data/config/anon/script", format="json", **{"accept-not-found": "true"}).status_code == 204
    assert get("/xapi/anonymize/projects/DEMO").status_code == 204
    assert get("/xapi/anonymize/projects/NOPE").status_code == 404
    emu.set_site_script(SITE, enabled=False)
    row = get("/data/config/anon/script", format="json").json()["ResultSet"]["Result"][0]
    assert row["status"] == "disabled" and row["contents"] == SITE and row["path"] == "script"
    assert all(isinstance(v, str) for v in row.values())
    assert get("/data/config/anon/script", contents="true").status_code == 404  # disabled → 404
    assert get("/xapi/anonymize/site/enabled").json() is False
    assert get("/xapi/siteConfig/enableSitewideAnonymizationScript").json() is False
    emu.set_project_script("DEMO", PROJECT)
    row = get("/data/projects/DEMO/config/anon/projects/DEMO", format="json").json()["ResultSet"]["Result"][0]
    assert row["path"] == "/projects/DEMO" and row["project"] == "DEMO"
    assert get("/data/projects/DEMO/config/anon/projects/DEMO", contents="true").text == PROJECT


def test_subjects_create_and_list(xnat_emulator: XnatEmulator) -> None:
    client = client_for(xnat_emulator, "member")
    first = client.create_subject("DEMO", "SUBJ01", group="control")
    again = client.create_subject("DEMO", "SUBJ01")
    assert first.id == again.id and first.id.startswith("XNAT_S")
    client.create_subject("DEMO", "A_subject")
    assert [s.label for s in client.subjects("DEMO")] == ["A_subject", "SUBJ01"]
    assert client.subjects("DEMO")[1].group == "control"
    with pytest.raises(XnatPermissionError):
        client_for(xnat_emulator, "collab").create_subject("DEMO", "X1")
    with pytest.raises(ValueError):
        client.create_subject("DEMO", "bad label!")


def test_permission_error_carries_server_message(xnat_emulator: XnatEmulator) -> None:
    with pytest.raises(XnatPermissionError) as info:
        client_for(xnat_emulator, "collab").create_subject("DEMO", "X1")
    assert info.value.status == 403 and "collab" in info.value.server_message
