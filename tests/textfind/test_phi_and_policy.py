"""Likely-PHI classification, the allowlist, the coverage policy and the cache (no OCR here)."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass

import pytest
from pydicom.dataset import Dataset

from desktop_client.core.coverage import instances_to_search, prone_to_burned_in_text
from desktop_client.core.geometry import Rect
from desktop_client.textfind import Allowlist, HeaderValues, likely_phi
from desktop_client.textfind import cache
from desktop_client.textfind.phi import date_forms, technical


def _header() -> HeaderValues:
    ds = Dataset()
    ds.PatientName = "NORDMANN^OLA"
    ds.PatientID = "DEMO282598"
    ds.PatientBirthDate = "19511230"
    ds.AccessionNumber = "ACC9090065"
    ds.InstitutionName = "Example General Hospital"
    ds.OperatorsName = "KARLSEN^PER"
    return HeaderValues.from_dataset(ds)


@pytest.mark.parametrize("text", [
    "NORDMANN,OLA", "NORDMAN OIA",            # header name, with OCR misreads
    "ID:DEMO282598", "DEM0282598",            # ID (O read as 0)
    "DOB: 1951-12-30 M", "30.12.1951", "12/30/1951", "30-DEC-1951",  # birth date, every format
    "AcC:ACC9090065", "Example General Hospital", "Karlsen",
    "2021-03-01 15:53:35", "15:53",           # dates and times not in the header
    "MRN 12", "Patient: X",                   # labelled identifiers
    "ZZZ DOWNTIME MARY", "CCHS CLEVELAND CLINIC",  # free text not in the header
])
def test_likely_phi(text: str) -> None:
    assert likely_phi(text, _header())


@pytest.mark.parametrize("text", [
    "120kV 220mAs B30f", "Se: 1 Im: 1", "C5-1 ABD MI 1.1 TIS 0.4", "C5-1ABDMI1.1TIS 0.4",
    "TR 550 TE 12", "36Hz", "L12-5", "MI: 1.4", "H4.00 MHz", "20dB/DR60", "Sag Liver L-M", "16cm",
    "L", "R", "AXIAL T1 POST", "SIEMENS", "2021", "HGen",
])
def test_technical_overlay_is_not_phi(text: str) -> None:
    assert not likely_phi(text, _header())


def test_technical_words_but_header_value_is_phi() -> None:
    ds = Dataset()
    ds.PatientName = "GENERAL^ABD"
    assert technical("ABD GENERAL") and likely_phi("ABD GENERAL", HeaderValues.from_dataset(ds))


def test_date_forms() -> None:
    forms = date_forms("19511230")
    assert {"19511230", "30121951", "12301951", "30DEC1951", "301251"} <= forms
    assert date_forms("19511340") == set() and date_forms("") == set()


def test_allowlist_file(tmp_path) -> None:
    path = tmp_path / "allow.json"
    assert not Allowlist.load(path).allows("ACME Imaging")
    Allowlist.of(["ACME Imaging", "Demo"]).save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    allow = Allowlist.load(path)
    assert allow.allows("ACME  IMAGING") and allow.allows("demo") and not allow.allows("ACME Smith")
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        Allowlist.load(path)
    path.write_text(json.dumps({"allow": [1]}))
    with pytest.raises(ValueError, match="must be"):
        Allowlist.load(path)


@dataclass
class _Inst:
    sop_class_uid: str = "1.2.840.10008.5.1.4.1.1.2"  # CT
    modality: str = "CT"
    burned_in_annotation: str = ""
    frames: int = 1


def test_coverage_policy() -> None:
    ct = [_Inst() for _ in range(2000)]
    picks = instances_to_search(ct)
    assert [p.index for p in picks] == [1000] and all(p.frames == (0,) and not p.temporal for p in picks)
    ct[500].burned_in_annotation = "YES"
    assert 500 in [p.index for p in instances_to_search(ct)]
    us = [_Inst("1.2.840.10008.5.1.4.1.1.6.1", "US", "", 120) for _ in range(4)]
    picks = instances_to_search(us)
    assert [p.index for p in picks] == [0, 1, 2, 3]  # every instance of a prone kind
    assert picks[0].frames == (0, 60, 119) and picks[0].temporal
    assert instances_to_search(us, all_frames=True)[0].frames == tuple(range(120))
    assert prone_to_burned_in_text(_Inst("1.2.840.10008.5.1.4.1.1.7", "OT"))
    assert not prone_to_burned_in_text(_Inst())
    assert instances_to_search([]) == []


def test_cache_keeps_no_text_in_clear(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XNAT_DESKTOP_HOME", str(tmp_path))
    line = cache.CachedLine(Rect(1, 2, 30, 12), Rect(3, 4, 28, 10), None, "NORDMANN, OLA 1951-12-30", 0.97)
    name = cache.key("engine", "opts", "1.2.3.4", "abc123")
    cache.store(name, "1.2.3.4", "abc123", [line])
    files = list((tmp_path / "cache" / "textfind").iterdir())
    assert len(files) == 1
    raw = files[0].read_bytes()
    assert b"NORDMANN" not in raw and b"1951" not in raw and b"1.2.3.4" not in raw
    assert b"1.2.3.4" not in files[0].name.encode()
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "cache" / "textfind").stat().st_mode) == 0o700
    assert cache.load(name, "1.2.3.4", "abc123") == [line]
    # without the pixels (their hash) the text cannot be read back
    assert cache.load(name, "1.2.3.4", "other") != [line]
