"""The shipped default site script (issue 14 §1): DICOM PS3.15 Basic Profile as DicomEdit allows."""

from __future__ import annotations

import stat
from pathlib import Path

import pydicom
import pytest

from desktop_client.dicomedit import apply_chain, compile_script
from desktop_client.dicomedit.functions import hash_uid
from desktop_client.scripts import (DEFAULT, FILE, OFF, ScriptChoiceError, ScriptSlots,
                                    copy_default_site_script, default_site_script,
                                    text_removal_script)


def _anonymized(path: Path) -> tuple[pydicom.Dataset, pydicom.Dataset]:
    original = pydicom.dcmread(path)
    ds = pydicom.dcmread(path)
    outcome = apply_chain([compile_script(default_site_script())], ds, {}, execute_pixels=False)
    assert outcome.ok, outcome.error
    return original, ds


def _values(ds: pydicom.Dataset) -> set[str]:
    """Every text value of the object, at any depth (what a leak would be)."""
    out: set[str] = set()
    for elem in ds.iterall():
        if elem.VR in ("PN", "LO", "SH", "LT", "ST", "UT", "DA", "CS", "UC") and elem.value:
            out.add(str(elem.value))
    return out


def test_every_demo_object_loses_its_identity(demo_dir: Path) -> None:
    for path in sorted(demo_dir.rglob("*.dcm")):
        original, ds = _anonymized(path)
        identity = {str(original.PatientName), original.PatientID, original.PatientBirthDate,
                    original.AccessionNumber, str(original.get("InstitutionName", "")),
                    str(original.get("ReferringPhysicianName", ""))} - {""}
        values = _values(ds)
        for value in identity:
            assert not any(value in v for v in values), (path.name, value)
        assert str(ds.PatientName) == "" and ds.PatientID == "" and ds.PatientBirthDate == ""
        assert ds.AccessionNumber == "" and "InstitutionName" not in ds
        assert "OperatorsName" not in ds and "StationName" not in ds
        assert ds.PatientIdentityRemoved == "YES"
        codes = [item.CodeValue for item in ds.DeidentificationMethodCodeSequence]
        assert codes == ["113100", "113104"]
        assert not any(elem.tag.is_private for elem in ds.iterall())
        # UIDs replaced consistently (the same everywhere, so references still resolve).
        assert ds.StudyInstanceUID == hash_uid(original.StudyInstanceUID)
        assert ds.SeriesInstanceUID == hash_uid(original.SeriesInstanceUID)
        assert ds.SOPInstanceUID == hash_uid(original.SOPInstanceUID)
        assert ds.SOPClassUID == original.SOPClassUID and ds.Modality == original.Modality
        # Kept for the archive: the scan's description (XNAT's scan type) and its number.
        assert ds.get("SeriesDescription") == original.get("SeriesDescription")


def _items(ds: pydicom.Dataset):  # type: ignore[no-untyped-def]
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value:
                yield item
                yield from _items(item)


def test_references_between_objects_still_resolve(demo_dir: Path) -> None:
    """The RT structure set names CT slices by SOP Instance UID: after the script it names the
    CT slices' new UIDs."""
    ct_uids = set()
    referenced = set()
    for path in sorted(demo_dir.rglob("*.dcm")):
        original, ds = _anonymized(path)
        if original.Modality == "CT":
            ct_uids.add(ds.SOPInstanceUID)
        if original.Modality == "RTSTRUCT":  # contour images: items that reference a CT image
            referenced = {item.ReferencedSOPInstanceUID for item in _items(ds)
                          if item.get("ReferencedSOPClassUID") == "1.2.840.10008.5.1.4.1.1.2"}
    assert referenced and referenced <= ct_uids


def test_structured_report_text_is_cleaned_and_the_structure_kept(demo_dir: Path) -> None:
    (sr,) = [p for p in demo_dir.rglob("*.dcm") if pydicom.dcmread(p).Modality == "SR"]
    original, ds = _anonymized(sr)
    texts = [e.value for e in ds.iterall() if e.keyword == "TextValue"]
    assert texts and set(texts) == {"[text removed]"}
    assert len(list(ds.iterall())) > 20 and "ContentSequence" in ds


def test_slots_resolve_to_the_chain_a_transfer_records(tmp_path: Path) -> None:
    assert [s.name for s in ScriptSlots().chain()] == ["site: default (DICOM PS3.15 Basic Profile)"]
    assert ScriptSlots(OFF).chain() == [] and not ScriptSlots(OFF).anonymizes
    project = tmp_path / "project.das"
    project.write_text('version "6.3"\n(0008,1030) := "STUDY"\n', encoding="utf-8")
    chain = ScriptSlots(DEFAULT, "", (str(project),)).chain()
    assert [s.name for s in chain] == ["site: default (DICOM PS3.15 Basic Profile)", "project: project.das"]
    broken = tmp_path / "broken.das"
    broken.write_text("(0010,0010) := \n", encoding="utf-8")
    with pytest.raises(ScriptChoiceError, match="broken.das has an error"):
        ScriptSlots(FILE, str(broken)).chain()
    with pytest.raises(ScriptChoiceError, match="no site script file"):
        ScriptSlots(FILE).chain()
    with pytest.raises(ScriptChoiceError, match="cannot read"):
        ScriptSlots(FILE, str(tmp_path / "missing.das")).chain()


def test_an_edited_copy_is_private_and_never_overwritten(tmp_path: Path) -> None:
    first = copy_default_site_script(tmp_path / "scripts")
    first.write_text("// mine\n", encoding="utf-8")
    second = copy_default_site_script(tmp_path / "scripts")
    assert first != second and first.read_text(encoding="utf-8") == "// mine\n"
    assert second.read_text(encoding="utf-8") == default_site_script()
    assert stat.S_IMODE(second.stat().st_mode) == 0o600


def test_text_removal_rule_touches_only_the_chosen_series(demo_dir: Path) -> None:
    (sr,) = [p for p in demo_dir.rglob("*.dcm") if pydicom.dcmread(p).Modality == "SR"]
    ds = pydicom.dcmread(sr)
    other = pydicom.dcmread(sr)
    rule = compile_script(text_removal_script([ds.SeriesInstanceUID]))
    assert rule.apply(ds, {}).ok
    assert {e.value for e in ds.iterall() if e.keyword == "TextValue"} == {"[text removed]"}
    assert not [e for e in ds.iterall() if e.keyword == "PersonName" and e.value != "ANONYMOUS"]
    unrelated = compile_script(text_removal_script(["1.2.3.4"]))
    before = [e.value for e in other.iterall() if e.keyword == "TextValue"]
    assert unrelated.apply(other, {}).ok
    assert [e.value for e in other.iterall() if e.keyword == "TextValue"] == before
