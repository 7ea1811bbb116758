"""XNAT's series import filter: read where XNAT keeps it, applied locally as XNAT applies it,
and the series it would drop shown as exclusions with the reason (issue 17 §3)."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pydicom
import pytest
import requests

from desktop_client.plan.review import ReviewModel, series_filter_exclusions
from desktop_client.scanning import scan_paths
from desktop_client.xnat.series_filter import (
    SeriesFilterError, header_values, parse_filter, parse_tag,
)
from tests.dicomfactory import encode, image
from tests.xnat.helpers import body, client_for, study
from tests.xnat_emulator import XnatEmulator

SD, MODALITY, IMAGE_TYPE = 0x0008103E, 0x00080060, 0x00080008


def verdict(config: dict, values: dict) -> str | None:
    item = parse_filter(json.dumps(config), "project filter")
    assert item is not None
    return item.rejection(values)


def test_blacklist_finds_anywhere_case_insensitively() -> None:
    config = {"mode": "blacklist", "list": "localizer\n# a comment\n\n^scout$"}
    assert verdict(config, {SD: "t1 LOCALIZER axial"}) is not None
    assert "blacklisted pattern 'localizer'" in verdict(config, {SD: "Localizer"})
    assert verdict(config, {SD: "SCOUT"}) is not None
    assert verdict(config, {SD: "scout 2"}) is None
    assert verdict(config, {SD: None}) is None  # absent: matches nothing but !EXISTS


def test_whitelist_needs_one_match_and_sections_name_attributes() -> None:
    config = {"mode": "whitelist", "list": "T1\n[Modality]\nPT\n[(0008,0008)]\nEXISTS"}
    assert verdict(config, {SD: "MPRAGE t1", MODALITY: "MR", IMAGE_TYPE: None}) is None
    assert verdict(config, {SD: "dwi", MODALITY: "PT", IMAGE_TYPE: None}) is None
    assert verdict(config, {SD: "dwi", MODALITY: "MR", IMAGE_TYPE: ""}) is None  # present, empty
    reason = verdict(config, {SD: "dwi", MODALITY: "MR", IMAGE_TYPE: None})
    assert reason is not None and "none of its whitelisted patterns" in reason


def test_not_exists_and_enabled_and_modality_map() -> None:
    config = {"mode": "blacklist", "list": "[ImageType]\n!EXISTS"}
    assert "ImageType absent" in verdict(config, {IMAGE_TYPE: None})
    assert verdict(config, {IMAGE_TYPE: "ORIGINAL\\PRIMARY"}) is None
    assert parse_filter(json.dumps({**config, "enabled": "false"}), "f") is None
    mapping = parse_filter(json.dumps({"mode": "modalityMap", "list": "PT: true"}), "f")
    assert mapping is not None and not mapping.drops and mapping.rejection({}) is None
    assert parse_filter("", "f") is None


def test_bad_filters_are_errors_not_guesses() -> None:
    with pytest.raises(SeriesFilterError, match="invalid pattern"):
        parse_filter(json.dumps({"mode": "blacklist", "list": "(unclosed"}), "f")
    with pytest.raises(SeriesFilterError, match="unknown DICOM attribute"):
        parse_filter(json.dumps({"mode": "blacklist", "list": "[NoSuchThing]\nx"}), "f")
    with pytest.raises(SeriesFilterError, match="not valid JSON"):
        parse_filter("{", "f")
    assert parse_tag("0008103E") == parse_tag("(0008,103e)") == parse_tag("SeriesDescription") == SD


def test_header_values_read_like_xnat() -> None:
    ds = pydicom.Dataset()
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.SeriesDescription = ""
    assert header_values(ds, [IMAGE_TYPE, SD, MODALITY]) == {
        IMAGE_TYPE: "ORIGINAL\\PRIMARY", SD: "", MODALITY: None}


def test_client_reads_the_stored_site_filter_not_the_listing(xnat_emulator: XnatEmulator) -> None:
    site = {"mode": "blacklist", "list": "series 1$", "enabled": True}
    xnat_emulator.set_config(None, "seriesImportFilter", "config", json.dumps(site))
    # What the official client asks returns XNAT's listing table, not the filter's contents.
    listing = requests.get(xnat_emulator.url + "/data/config/seriesImportFilter",
                           params={"contents": "true", "format": "json"}, auth=("admin", "admin"))
    assert listing.status_code == 200
    assert listing.json()["ResultSet"]["Result"][0]["path"] == "config"
    settings = client_for(xnat_emulator).project_settings("DEMO")
    assert json.loads(settings.site_series_import_filter or "") == site
    [parsed] = settings.series_import_filters()
    assert parsed.scope == "site series import filter" and parsed.mode == "blacklist"


def _write(tmp_path: Path, entries: list[tuple[str, bytes]]) -> Path:
    root = tmp_path / "src"
    for name, data in entries:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def test_local_verdict_matches_what_the_server_drops(tmp_path: Path,
                                                    xnat_emulator: XnatEmulator) -> None:
    """Site and project filter both apply; the prediction equals the server's behaviour."""
    xnat_emulator.set_config(None, "seriesImportFilter", "config",
                             json.dumps({"mode": "blacklist", "list": "series 2$"}))
    xnat_emulator.set_config("DEMO", "seriesImportFilter", "config", json.dumps(
        {"mode": "whitelist", "list": "[Modality]\n^MR$\n[SeriesDescription]\nSERIES 3"}))
    mr = study({1: 2, 2: 2, 3: 1})
    uid = str(pydicom.dcmread(io.BytesIO(mr[0][1])).StudyInstanceUID)
    entries = mr + [(f"s4/i{i}.dcm", encode(image(study_uid=uid, series_uid="1.2.3.4",
                                                   series_number=4, instance_number=i,
                                                   modality="CT"))) for i in (1, 2)]
    root = _write(tmp_path, entries)
    [session] = scan_paths([root], use_cache=False).sessions
    filters = client_for(xnat_emulator).project_settings("DEMO").series_import_filters()
    dropped = series_filter_exclusions([session], filters)
    numbers = {session.scans[u].series_number: reason for u, reason in dropped.items()}
    assert sorted(numbers) == [2, 4]
    assert numbers[2].startswith("XNAT's site series import filter drops it")
    assert "project DEMO" in numbers[4] and "whitelisted" in numbers[4]
    # The server agrees: only series 1 and 3 arrive.
    client = client_for(xnat_emulator)
    uri = client.import_zip("DEMO", "S1", "E1", body(entries))
    client.commit(uri)
    kept = Counter(p.parent.parent.name for p in xnat_emulator.prearchive_files(
        xnat_emulator.prearchive_entries("DEMO")[0]))
    assert sorted(kept) == ["1", "3"], kept
    # Review starts with those scans excluded, with the reason; the others go as they are.
    review = ReviewModel([session]).apply_series_import_filter(filters)
    excluded = {session.scans[u].series_number: c.exclude_reason
                for u, c in review.choices.items() if c.excluded}
    assert excluded == numbers
    assert review.summary().excluded == 2 and review.summary().as_is == 2



def test_cli_leaves_out_what_the_server_would_drop(xnat_emulator: XnatEmulator, tmp_path: Path,
                                                  capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI excludes the filtered series with the filter's reason; the upload then verifies
    (instead of failing verification after XNAT silently dropped them)."""
    from desktop_client.cli.main import main
    from tests.dicomfactory import write_study

    monkeypatch.setenv("XNAT_DESKTOP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XNAT_PASSWORD", "admin")
    xnat_emulator.set_prearchive_code("DEMO", 4)
    xnat_emulator.set_config("DEMO", "seriesImportFilter", "config",
                             json.dumps({"mode": "blacklist", "list": "^series 2$"}))
    src = write_study(tmp_path / "src", series=2, files=2)
    code = main(["upload", str(src), "--to", xnat_emulator.url, "--user", "admin",
                 "--project", "DEMO", "--subject-scheme", "patient-id", "--workers", "1",
                 "--json"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    transfer = lines[-1]["transfers"][0]
    assert code == 0, transfer
    assert transfer["verification"]["ok"]
    excluded = {scan["description"]: scan for scan in transfer["scans"]}
    assert excluded["Series 2"]["state"] == "excluded"
    assert excluded["Series 2"]["error"] == ("XNAT's series import filter of project DEMO drops it: "
                                             "SeriesDescription 'Series 2' matches blacklisted "
                                             "pattern '^series 2$'")
    [experiment] = xnat_emulator.experiments("DEMO")
    assert [s.series_description for s in experiment.scans] == ["Series 1"]
