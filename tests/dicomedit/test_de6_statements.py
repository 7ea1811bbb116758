"""DE6 statement semantics, tag paths, null rules and run-time errors (§4–§8, §13.2)."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from desktop_client.dicomedit import compile_script

from tests.dicomedit.helpers import conforms, ct, de6, run


def nested() -> Dataset:
    """(0010,0010) at top level, one level down and two levels down."""
    ds = Dataset()
    ds.PatientName = "top"
    inner = Dataset()
    inner.PatientName = "level1"
    deeper = Dataset()
    deeper.PatientName = "level2"
    inner.ReferencedImageSequence = Sequence([deeper])
    other = Dataset()
    other.PatientName = "level1b"
    ds.ReferencedStudySequence = Sequence([inner, other])
    return ds


def names(ds: Dataset) -> list[str]:
    out = []
    if "PatientName" in ds:
        out.append(str(ds.PatientName))
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value:
                out.extend(names(item))
    return out


# ---- assignment -----------------------------------------------------------------------------


@conforms("de6.assign")
def test_assignment_creates_and_overwrites() -> None:
    outcome, ds = run(de6('(0010,0010) := "Anon"', '(0010,1000) := "other"', "(0010,0020) := 666",
                          "(0018,9087) := 3.333333"))
    assert outcome.ok
    assert ds.PatientName == "Anon" and ds.OtherPatientIDs == "other"
    assert ds.PatientID == "666"
    assert ds[0x00189087].VR == "FD"
    outcome, _ = run(de6("(0018,9087) := 3.333333", "echo (0018,9087)"))
    assert outcome.messages == ["3.333333"]


@conforms("de6.assign")
def test_null_value_assigns_nothing() -> None:
    outcome, ds = run(de6('(0010,1000) := (0010,2160)', '(0010,0010) := match[(0010,0010), "Z(.)", 1]',
                          "(0010,1001) := normalizeString[(0010,2160)]", "(0010,1002) := unsetvar"))
    assert outcome.ok
    for kw in ("OtherPatientIDs", "OtherPatientNames"):
        assert kw not in ds
    assert 0x00101002 not in ds
    assert ds.PatientName == "Doe^John"


@conforms("de6.order", "err.plural-path")
def test_assignment_to_plural_path_is_a_runtime_error_after_earlier_edits() -> None:
    outcome, ds = run(de6('(0010,0010) := "first"', '(0010,00X0) := "x"', '(0010,0020) := "never"'))
    assert outcome.status == "error"
    assert "Assigning to a tagpath that maps to multiple attributes in not supported" in outcome.error
    assert ds.PatientName == "first"  # edits before the error remain
    assert ds.PatientID == "PID-1"


@conforms("err.plural-path")
@pytest.mark.parametrize("target", ["*/(0010,0010)", "(0008,1140)/(0008,1155)",
                                    "(0008,1140)[%]/(0008,1155)", "+/(0010,0010)"])
def test_plural_targets_fail(target: str) -> None:
    outcome, _ = run(de6(f'{target} := "x"'))
    assert outcome.status == "error"
    assert "maps to multiple attributes" in outcome.error


@conforms("err.position")
def test_plural_path_as_value_fails() -> None:
    outcome, _ = run(de6("(0010,0010) := */(0008,1155)"))
    assert outcome.status == "error"
    assert outcome.error.startswith("line 2, column 1: Path matching multiple tags not allowed as term: ")


@conforms("de6.assign")
def test_void_assignment_fails() -> None:
    outcome, _ = run(de6('(0010,0010) := removeTags["(0010,0020)"]'))
    assert outcome.status == "error" and "Assigned value is VOID." in outcome.error


@conforms("path.sequences")
def test_writing_into_sequences_creates_items() -> None:
    outcome, ds = run(de6('(0008,1140)[3]/(0008,1155) := "9.9"', '(0008,1115)[0]/(0008,1155) := "8"'))
    assert outcome.ok
    assert len(ds.ReferencedImageSequence) == 4
    assert ds.ReferencedImageSequence[3].ReferencedSOPInstanceUID == "9.9"
    assert "ReferencedSOPInstanceUID" not in ds.ReferencedImageSequence[2]
    assert ds.ReferencedSeriesSequence[0].ReferencedSOPInstanceUID == "8"


@conforms("value.numeric")
def test_numeric_vrs() -> None:
    outcome, ds = run(de6("(0028,0010) := 1234567", "(0018,9087) := \"30.0\"", "echo (0018,9087)"))
    assert outcome.ok and ds.Rows == 54919
    assert outcome.messages == ["30"]
    outcome, _ = run(de6('(0028,0010) := "fubar"'))
    assert outcome.status == "error" and "fubar" in outcome.error
    outcome, _ = run(de6('(0018,9087) := "fubar"'))
    assert outcome.status == "error"


@conforms("value.sq")
def test_string_into_sequence_tag_creates_empty_sequence() -> None:
    outcome, ds = run(de6('(0008,1115) := "x"'))
    assert outcome.ok and ds.ReferencedSeriesSequence == Sequence([])


@conforms("de6.assign-if-exists", "path.wildcards")
def test_assign_if_exists_with_every_wildcard_kind() -> None:
    cases = {
        "*/(0010,0010)": ["X", "X", "X", "X"],
        "+/(0010,0010)": ["top", "X", "X", "X"],
        "./(0010,0010)": ["top", "X", "level2", "X"],
        "(0008,1110)/(0010,0010)": ["top", "X", "level2", "X"],
        "(0008,1110)[%]/(0010,0010)": ["top", "X", "level2", "X"],
        "(0008,1110)[1]/(0010,0010)": ["top", "level1", "level2", "X"],
        "(0010,001X)": ["X", "level1", "level2", "level1b"],
        "(0010,00#0)": ["X", "level1", "level2", "level1b"],
        "(0010,00@0)": ["top", "level1", "level2", "level1b"],
        "(001@,0010)": ["X", "level1", "level2", "level1b"],
        "(0010,0011)": ["top", "level1", "level2", "level1b"],
    }
    for path, expected in cases.items():
        outcome, ds = run(de6(f'{path} ?= "X"'), nested())
        assert outcome.ok, (path, outcome.error)
        assert names(ds) == expected, path
    outcome, ds = run(de6('(0010,0011) ?= "X"'), nested())
    assert 0x00100011 not in ds


@conforms("de6.delete", "path.wildcards")
def test_delete_with_every_wildcard_kind() -> None:
    cases = {
        "*/(0010,0010)": [],
        "+/(0010,0010)": ["top"],
        "./(0010,0010)": ["top", "level2"],
        "(0008,1110)/(0010,0010)": ["top", "level2"],
        "(0008,1110)[0]/(0010,0010)": ["top", "level2", "level1b"],
        "(0010,0010)": ["level1", "level2", "level1b"],
    }
    for path, expected in cases.items():
        outcome, ds = run(de6(f"-{path}"), nested())
        assert outcome.ok
        assert names(ds) == expected, path


@conforms("de6.delete")
def test_delete_item_keeps_an_empty_item() -> None:
    outcome, ds = run(de6("-(0008,1140)[0]"))
    assert outcome.ok
    assert len(ds.ReferencedImageSequence) == 2
    assert len(ds.ReferencedImageSequence[0]) == 0
    assert ds.ReferencedImageSequence[1].ReferencedSOPInstanceUID == "0.0.0"


@conforms("de6.delete")
def test_delete_whole_sequence_and_nested_code_value() -> None:
    outcome, ds = run(de6("-*/(0008,0100)"))
    assert outcome.ok
    assert "CodeValue" not in ds.ReferencedImageSequence[1].PurposeOfReferenceCodeSequence[0]
    outcome, ds = run(de6("-(0008,1140)"))
    assert "ReferencedImageSequence" not in ds


@conforms("de6.delete", "path.wildcards")
def test_group_wildcard_deletes() -> None:
    ds = ct()
    ds.add_new(0x50000010, "US", 3)
    ds.add_new(0x50020010, "US", 3)
    ds.add_new(0x50FE0010, "US", 3)
    ds.StudyDescription = "d"
    ds.add_new(0x0008103F, "SQ", Sequence([]))
    outcome, _ = run(de6("-(50X@,XXXX)", "-(0008,103x)"), ds)
    assert outcome.ok
    assert not any(t >> 16 in (0x5000, 0x5002, 0x50FE) for t in ds.keys())
    assert "StudyDescription" not in ds and 0x0008103F not in ds


# ---- private tags ---------------------------------------------------------------------------


@conforms("path.private")
def test_private_read_write_and_creator_reservation() -> None:
    outcome, ds = run(de6("echo (0019,{SIEMENS MR HEADER}08)", '(0019,{SIEMENS MR HEADER}20) := "new"',
                          '(0019,{ACME}01) := "acme"'))
    assert outcome.messages == ["private one"]
    assert ds[0x00191020].value == "new"
    assert ds[0x00190011].value == "ACME" and ds[0x00191101].value == "acme"


@conforms("path.private-read-reserves")
def test_reading_with_absent_creator_reserves_a_slot() -> None:
    ds = Dataset()
    ds.add_new(0x00211010, "LO", "Simple PT")
    outcome, ds = run(de6("echo (0021,{PT Test Creator ID}10)"), ds)
    assert outcome.messages == ["Simple PT"]
    assert ds[0x00210010].value == "PT Test Creator ID"


@conforms("path.private")
def test_condition_on_absent_private_creator_is_false_without_creating_data() -> None:
    outcome, ds = run(de6('(2001,{NONEXISTENT PVT CREATOR ID}0c) = "x" ? echo "yes" : echo "no"'))
    assert outcome.messages == ["no"]
    assert 0x2001100C not in ds


@conforms("path.private", "path.sequences")
def test_private_sequence_written_when_absent() -> None:
    outcome, ds = run(de6('(0021,{PVT ID}01)[1]/(0010,0010) := "inner"'), Dataset())
    assert outcome.ok
    assert ds[0x00210010].value == "PVT ID"
    assert ds[0x00211001].value[1].PatientName == "inner"


@conforms("path.private", "de6.delete")
def test_private_delete_keeps_creators_and_duplicate_creators_are_all_hit() -> None:
    ds = ct()
    ds.add_new(0x00190011, "LO", "SIEMENS MR HEADER")
    ds.add_new(0x00191110, "LO", "duplicate block")
    outcome, ds = run(de6("-(0019,{SIEMENS MR HEADER}10)"), ds)
    assert outcome.ok
    assert 0x00191010 not in ds and 0x00191110 not in ds
    assert 0x00191008 in ds
    assert 0x00190010 in ds and 0x00190011 in ds
    outcome, ds = run(de6("-(0029,{OTHER}XX)"))
    assert 0x00291010 not in ds and 0x00290010 in ds


@conforms("path.private")
def test_private_delete_of_absent_creator_is_a_noop() -> None:
    before = ct()
    outcome, ds = run(de6("-(0019,{NOBODY}10)"))
    assert outcome.ok and ds == before


@conforms("de6.remove-all-private")
def test_remove_all_private_tags_everywhere() -> None:
    ds = ct()
    ds.ReferencedImageSequence[0].add_new(0x00090010, "LO", "X")
    ds.ReferencedImageSequence[0].add_new(0x00091001, "LO", "y")
    outcome, ds = run(de6("removeAllPrivateTags"), ds)
    assert outcome.ok
    assert not [t for t in ds.keys() if t >> 16 & 1]
    assert not [t for t in ds.ReferencedImageSequence[0].keys() if t >> 16 & 1]
    assert ds.PatientName == "Doe^John"


@conforms("path.private")
def test_noop_script_never_renumbers_private_blocks() -> None:
    before = ct()
    outcome, ds = run(de6('(0010,0010) := "x"'))
    assert [t for t in ds.keys() if t >> 16 & 1] == [t for t in before.keys() if t >> 16 & 1]


# ---- conditions, control --------------------------------------------------------------------


@conforms("op.equals", "op.regex", "de6.conditional")
@pytest.mark.parametrize("cond, present, empty, absent", [
    ('(0010,1000) = ""', False, True, False),
    ('(0010,1000) != ""', True, False, True),
    ('(0010,1000) ~ ".*"', True, True, False),
    ('(0010,1000) !~ ".+"', False, True, True),
    ('(0010,1000) = "v"', True, False, False),
    ('(0010,1000) != "v"', False, True, True),
])
def test_conditions_and_null(cond: str, present: bool, empty: bool, absent: bool) -> None:
    for value, expected in (("v", present), ("", empty), (None, absent)):
        ds = Dataset()
        if value is not None:
            ds.OtherPatientIDs = value
        outcome, _ = run(de6(f'{cond} ? echo "T" : echo "F"'), ds)
        assert outcome.messages == ["T" if expected else "F"], (cond, value)


@conforms("op.regex", "value.strings")
def test_regex_is_whole_string_and_java_escapes() -> None:
    outcome, _ = run(de6('(0008,0020) ~ "20\\\\d\\\\d.*" ? echo "yes"', '(0008,0020) ~ "2023" ? echo "partial"'))
    assert outcome.messages == ["yes"]


@conforms("op.regex-tag")
def test_regex_from_an_absent_tag_never_matches() -> None:
    """A right-hand side tag path is the regex; absent (null) it matches nothing, no error."""
    script = compile_script(de6('(0008,1030) ~ (0008,103E) ? (0010,0010) := "hit" : (0010,0010) := "miss"',
                                '(0008,1030) !~ (0008,103E) ? (0010,0020) := "hit" : (0010,0020) := "miss"'))
    for study, series, expected in (("abc", "a.c", ("hit", "miss")), ("abc", "x.*", ("miss", "hit")),
                                    (None, "a.c", ("miss", "hit")), ("abc", None, ("miss", "hit")),
                                    (None, None, ("miss", "hit"))):
        ds = ct()
        if study is not None:
            ds.StudyDescription = study
        if series is not None:
            ds.SeriesDescription = series
        outcome = script.apply(ds, execute_pixels=False)
        assert outcome.ok, outcome.error
        assert (str(ds.PatientName), ds.PatientID) == expected, (study, series)


@conforms("de6.if", "op.function-condition")
def test_if_elseif_else_and_nesting() -> None:
    script = compile_script(de6(
        'if ((0008,0060) = "MR") { echo "mr" }',
        'elseif ((0008,0060) = "CT") {',
        '  if (isPresent[(0010,0010)]) { echo "ct+name" } else { echo "ct" }',
        '}',
        'else { echo "other" }'))
    ds = ct()
    assert script.apply(ds).messages == ["ct+name"]
    ds.Modality = "US"
    assert script.apply(ds).messages == ["other"]
    ds.Modality = "MR"
    assert script.apply(ds).messages == ["mr"]


@conforms("de6.order")
def test_statements_see_earlier_edits_and_last_write_wins() -> None:
    outcome, ds = run(de6('(0008,103E) := "Series Four"', '(0008,103E) := "Some other series"',
                          '(0010,0010) := "A"', "(0010,0020) := (0010,0010)"))
    assert ds.SeriesDescription == "Some other series"
    assert ds.PatientID == "A"


@conforms("de6.echo")
def test_echo_rules() -> None:
    outcome, _ = run(de6("echo (0010,2160)", "echo 3.50", 'echo {"a", (0010,0010)}', "echo true[]"))
    assert outcome.messages == ["null", "3.50", "[a, 00100010]", "true"]
    outcome, _ = run(de6("echo"))
    assert outcome.status == "error"


@conforms("de6.version", "err.position")
def test_version_checked_when_executed() -> None:
    outcome, ds = run('(0010,0010) := "before"\nversion "6.9"\n(0010,0020) := "after"\n', dialect="DE6")
    assert outcome.status == "error"
    assert outcome.error.startswith("line 2, column 1: Unsupported version: 6.9. Supported versions are [6.0,")
    assert ds.PatientName == "before" and ds.PatientID == "PID-1"
    for ok in ("6.0", "6.3", "6.7"):
        assert run(f'version "{ok}"\n')[0].ok


@conforms("fn.unknown")
def test_unknown_function_fails_only_when_reached() -> None:
    outcome, _ = run(de6('(0010,0010) = "nobody" ? nosuchfn["a"]'))
    assert outcome.ok
    outcome, _ = run(de6('nosuchfn["a"]'))
    assert outcome.status == "error"
    assert outcome.error.startswith("line 2, column 1: Error evaluating nosuchfn")


# ---- variables ------------------------------------------------------------------------------


@conforms("var.external", "var.metadata", "de6.describe", "de6.export", "de6.init")
def test_variable_discovery_and_metadata() -> None:
    script = compile_script(de6(
        'describe subject "Subject label"', "describe project hidden", 'export session "xnat:/label"',
        "(0010,0010) := subject", "(0010,0020) := project", 'session := "S_01"',
        "(0020,0010) := session", "tmp := lowercase[modalityLabel]", "describe tmp hidden"))
    by_name = {v.name: v for v in script.variables}
    assert list(by_name) == ["subject", "project", "session", "modalityLabel", "tmp"]
    assert by_name["subject"].description == "Subject label" and by_name["subject"].external
    assert by_name["project"].hidden and by_name["project"].external
    assert by_name["session"].export_field == "xnat:/label"
    assert not by_name["session"].external and by_name["session"].initial_value == "S_01"
    assert by_name["modalityLabel"].external
    assert not by_name["tmp"].external and by_name["tmp"].hidden


@conforms("de6.describe", "var.case")
def test_reinitialising_drops_description_and_names_are_case_sensitive() -> None:
    script = compile_script(de6('describe v "Prompt"', 'v := "a"', "echo V"))
    by_name = {v.name: v for v in script.variables}
    assert by_name["v"].description is None
    assert by_name["V"].external


@conforms("var.external", "var.persist")
def test_supplied_values_only_reach_external_variables_and_persist() -> None:
    script = compile_script(de6('session := "fixed"', "(0010,0010) := subject", "(0010,0020) := session",
                                "(0010,1000) := seen", "seen := (0010,0010)"))
    ds = ct()
    outcome = script.apply(ds, {"subject": "S1", "session": "ignored"})
    assert ds.PatientName == "S1" and ds.PatientID == "fixed"
    assert "OtherPatientIDs" not in ds
    ds2 = ct()
    script.apply(ds2, {"subject": "S2"})
    assert ds2.OtherPatientIDs == "S1"  # variables persist across objects (§1.3)
    assert outcome.variables["session"] == "fixed"


LIST_SCRIPT = '''version "6.6"

// values a host would inject
newId := "SUBJ-7"
shiftDays := -1

removeMe := {
    (0010,21B0),   // AdditionalPatientHistory
    (0008,1080)    // AdmittingDiagnosesDescription
}
 toHash := {
    (0008,0018),
    (0020,000D)
}
toShift := {
    (0008,0020),
    (0010,0030)
}
phi := collectValues[ removeMe, {(0010,0010), (0008,0050)}]
(0010,0010) := newId
(0010,0020) := newId
(0008,0090) ?= ""
(0012,0062) := "YES"
removeTags[ removeMe]
hashUIDList[ toHash]
shiftDateTimeListByIncrement[ toShift, shiftDays, "days"]
keep := {
    (0019, {SIEMENS MR HEADER}08)   //  kept
}
retainPrivateTags[ keep]
blankValues[ phi]
'''


@conforms("de6.init", "fn.removeTags")
def test_list_driven_site_script() -> None:
    ds = ct()
    ds.AdditionalPatientHistory = "history"
    ds.StudyComments = "Doe^John"  # PHI copied into a free-text field
    ds.ReferringPhysicianName = "Ref^Doc"
    outcome, ds = run(LIST_SCRIPT, ds)
    assert outcome.ok, outcome.error
    assert "AdditionalPatientHistory" not in ds
    assert ds.PatientName == "SUBJ-7" and ds.PatientID == "SUBJ-7"
    assert ds.ReferringPhysicianName == "" and ds.PatientIdentityRemoved == "YES"
    assert ds.SOPInstanceUID == "2.25.262228503153619312954819897114011402300"
    assert ds.StudyDate == "20230518" and ds.PatientBirthDate == "19691231"
    assert sorted(t for t in ds.keys() if t >> 16 & 1) == [0x00190010, 0x00191008]
    assert ds.StudyComments == "" and ds.AccessionNumber == ""


def test_writing_through_a_non_sequence_is_an_error_not_data_loss() -> None:
    outcome, ds = run(de6('(0010,0010)[0]/(0008,0100) := "x"'))
    assert outcome.status == "error" and "is not a sequence" in outcome.error
    assert ds.PatientName == "Doe^John"
