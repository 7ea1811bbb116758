"""DicomEdit 4 (§17), makeSessionLabel (§17.4) and XNAT's site-then-project order (§14)."""

from __future__ import annotations

import pytest

from desktop_client.dicomedit import ScriptSyntaxError, apply_chain, compile_script, hash_uid
from desktop_client.dicomedit.de4 import session_label

from tests.dicomedit.helpers import conforms, ct, run


def de4(*lines: str, **kwargs):
    return run("\n".join(lines) + "\n", **kwargs)


@conforms("de4.dialect")
def test_dialect_is_de4_without_version_line() -> None:
    script = compile_script('(0010,0010) := "x"\n')
    assert script.dialect == "DE4"


@conforms("de4.order")
def test_earliest_applicable_statement_wins() -> None:
    script = compile_script('(0020,0011) = "4" : (0008,103e) := "Series Four"\n'
                            '(0008,103e) := "Some other series"\n')
    ds = ct()
    assert script.apply(ds).ok and ds.SeriesDescription == "Series Four"
    ds = ct()
    ds.SeriesNumber = 5
    script.apply(ds)
    assert ds.SeriesDescription == "Some other series"


@conforms("de4.order")
def test_everything_is_evaluated_against_the_original_object() -> None:
    outcome, ds = de4('(0010,0010) := "changed"', "(0010,0020) := (0010,0010)",
                      '(0010,0010) = "changed" : (0010,1000) := "seen change"')
    assert ds.PatientName == "changed" and ds.PatientID == "Doe^John"
    assert "OtherPatientIDs" not in ds


@conforms("de4.patterns")
def test_patterns_and_private_numeric_tags() -> None:
    ds = ct()
    ds.add_new(0x50000010, "US", 1)
    ds.add_new(0x60003000, "OW", b"\0\0")
    outcome, ds = de4("-(50XX,XXXX)", "-(60XX,3000)", "-(XXX#,XXXX)", ds=ds)
    assert outcome.ok
    assert not [t for t in ds.keys() if t >> 16 & 1 or t >> 16 in (0x5000, 0x6000)]
    outcome, ds = de4('(0010,001X) := "P"', '(0009,1001) := "private"')
    assert ds.PatientName == "P" and ds.PatientID == "PID-1"
    assert ds[0x00091001].VR == "LO" and ds[0x00091001].value == "private"


@conforms("de4.strings", "de4.constraint")
def test_strings_translate_escapes_and_conditions_handle_null() -> None:
    outcome, _ = de4('echo "a\\tb\\"c\\\\"', "(0010,2160) = (0010,2161) : echo \"both null\"",
                     '(0010,2160) ~ ".*" : echo "never"', 'echo')
    assert outcome.messages == ['a\tb"c\\', "both null", ""]


@conforms("de4.constraint")
def test_several_conditions_are_anded() -> None:
    outcome, _ = de4('(0008,0060) = "CT" : (0010,0020) ~ "PID.*" : echo "both"',
                     '(0008,0060) = "CT" : (0010,0020) = "x" : echo "one"')
    assert outcome.messages == ["both"]


@conforms("de4.functions", "de4.variables")
def test_functions_and_implicit_format() -> None:
    outcome, _ = de4('echo "{0}^{1}_{2}" (0010,0010), (0020,0011), undefinedvar',
                     'echo format["{0}-{1}", (0008,0060), lowercase[(0008,0060)]]',
                     'echo urlEncode["lots of $%^@! characters"]',
                     'echo match[(0010,0010), "D(o)e", 1]', 'echo replace[(0010,0020), "PID", (0008,1010)]',
                     'echo substring[(0010,0010), 4, 8]', 'echo hashUID[(0020,000D)]',
                     'echo uppercase["x"]')
    assert outcome.ok, outcome.error
    assert outcome.messages == ["Doe^John^4_null", "CT-ct", "lots+of+%24%25%5E%40%21+characters",
                                "o", "MEDPC-1", "John", hash_uid("1.2.3.444.555"), "X"]


@conforms("fn.getURL")
def test_get_url_trims() -> None:
    outcome, _ = de4('echo getURL["http://127.0.0.1/x"]', http_get=lambda url: "foobar \n\t")
    assert outcome.messages == ["foobar"]


@conforms("de4.new-uid", "de4.variables")
def test_new_uid_and_variables() -> None:
    script = compile_script('(0020,000D) := new UID\nlabel := "fixed"\nLABEL2 := (0010,0020)\n'
                            '(0010,0010) := Label\n(0010,1000) := label2\n')
    ds = ct()
    assert script.apply(ds).ok
    assert ds.StudyInstanceUID.startswith("2.25.") and ds.StudyInstanceUID != "1.2.3.444.555"
    assert ds.PatientName == "fixed" and ds.OtherPatientIDs == "PID-1"


@conforms("de4.syntax")
@pytest.mark.parametrize("bad", [
    "(0010, 0010) := \"x\"",
    "(0010,0010) := nosuch[\"x\"]",
    "(0010,0010) := match[(0010,0010), \"x\", (0010,0020)]",
    "v := \"a\"\nv := \"b\"",
    "(0010,0010) != \"x\" : echo \"a\"",
    "(0010,0010) := \"\\u0041\"",
    "(0010,0010) := \"a\" (0010,0020) := \"b\"",
    "(0010,0010) := f[]",
])
def test_de4_syntax_errors(bad: str) -> None:
    with pytest.raises(ScriptSyntaxError):
        compile_script(bad + "\n", dialect="DE4")


@conforms("de4.variables", "var.case")
def test_de4_variables_are_case_insensitive_and_described() -> None:
    script = compile_script('describe Visit "Visit number"\ndescribe hid hidden\nexport visit "xnat:/v"\n'
                            "(0008,1030) := VISIT\n(0010,0010) := hid\n")
    by_name = {v.name: v for v in script.variables}
    assert list(by_name) == ["Visit", "hid"]
    assert by_name["Visit"].description == "Visit number" and by_name["Visit"].external
    assert by_name["Visit"].export_field == "xnat:/v"
    assert by_name["hid"].hidden
    ds = ct()
    script.apply(ds, {"visit": "V3", "HID": "h"})
    assert ds.StudyDescription == "V3" and ds.PatientName == "h"


# ---- makeSessionLabel -----------------------------------------------------------------------


@conforms("de4.makeSessionLabel")
@pytest.mark.parametrize("pattern, existing, expected", [
    ("#", [], "0"), ("#", ["0"], "1"), ("##", [], "00"), ("##", ["00"], "01"),
    ("foo###bar", ["foo000bar", "foo001bar"], "foo002bar"), ("", [], ""), ("nohash", [], ""),
    ("a#b##", ["a0b##"], "a1b##"),
])
def test_session_label(pattern: str, existing: list[str], expected: str) -> None:
    assert session_label(pattern, existing) == expected


@conforms("de4.makeSessionLabel")
def test_session_label_counts_keys_and_values_of_a_mapping() -> None:
    assert session_label("S_#", {"S_0": "x", "id": "S_1"}) == "S_2"


@conforms("de4.makeSessionLabel", "de4.variables")
def test_seed_tutorial_project_script() -> None:
    script = compile_script('session := makeSessionLabel[format["{0}_v##_{1}", subject, '
                            'lowercase[modalityLabel]]]\n(0020,0010) := session\n',
                            existing_session_labels=["S1_v00_mr", "S1_v01_mr"])
    ds = ct()
    outcome = script.apply(ds, {"subject": "S1", "modalityLabel": "MR", "session": "given"})
    assert outcome.ok, outcome.error
    assert ds.StudyID == "S1_v02_mr"
    assert outcome.variables["session"] == "S1_v02_mr"
    assert [v.name for v in script.external_variables] == ["subject", "modalityLabel"]


# ---- XNAT order -----------------------------------------------------------------------------


SITE = 'version "6.6"\n(0008,0070) := "site"\n(0010,0010) := subject\n(0010,0020) := session\n' \
       "(0008,1030) := project\n"
PROJECT = 'version "6.6"\n(0008,0070) := "project"\n(0010,1000) := (0010,0010)\n'


@conforms("xnat.chain")
def test_site_then_project_project_wins() -> None:
    scripts = [compile_script(SITE), compile_script(PROJECT)]
    ds = ct()
    outcome = apply_chain(scripts, ds, {"project": "P1", "subject": "S1", "session": "E1"})
    assert outcome.ok
    assert ds.Manufacturer == "project"
    assert ds.OtherPatientIDs == "S1"  # the project script sees the site script's edits
    assert (ds.PatientName, ds.PatientID, ds.StudyDescription) == ("S1", "E1", "P1")


@conforms("xnat.chain", "xnat.reject")
def test_chain_stops_at_rejection_and_error() -> None:
    ds = ct()
    outcome = apply_chain([compile_script('version "6.6"\nreject[]\n'), compile_script(PROJECT)], ds)
    assert outcome.status == "rejected" and "Manufacturer" not in ds
    outcome = apply_chain([compile_script('version "6.6"\n(0010,0010) := lowercase[(0010,2160)]\n'),
                           compile_script(PROJECT)], ct())
    assert outcome.status == "error" and "lowercase" in outcome.error


@conforms("xnat.chain", "de4.dialect")
def test_mixed_dialect_chain() -> None:
    ds = ct()
    outcome = apply_chain([compile_script(SITE), compile_script('(0008,0070) := "de4 project"\n')], ds,
                          {"subject": "S"})
    assert outcome.ok and ds.Manufacturer == "de4 project" and ds.PatientName == "S"


@conforms("de4.variables")
def test_de4_reports_initialised_variables_it_never_reads() -> None:
    script = compile_script('session := makeSessionLabel["{0}_#"]\n', existing_session_labels=["{0}_0"])
    outcome = script.apply(ct())
    assert outcome.variables == {"session": "{0}_1"}


@conforms("xnat.record")
def test_record_of_anonymization() -> None:
    ds = ct()
    assert compile_script('version "6.6"\n', record_id="site-42").apply(ds).ok
    item = ds.DeidentificationMethodCodeSequence[0]
    assert (item.CodeValue, item.CodingSchemeDesignator, item.CodingSchemeVersion, item.CodeMeaning) == (
        "site-42", "XNAT", "1.0", "XNAT DicomEdit 6 Script")
    plain = ct()
    compile_script('version "6.6"\n').apply(plain)
    assert "DeidentificationMethodCodeSequence" not in plain


@conforms("de4.functions")
def test_de4_match_reference_vectors_and_null() -> None:
    outcome, ds = de4('echo match["s01_v00_mr1", ".*_(v[0-9]+)_.*", 1]',
                      'echo match["s01_v00_mr1", ".*_(v[0-9]+)_.*", 0]',
                      'echo match["s01+v00+mr1", ".*_(v[0-9]+)_.*", 1]',
                      'echo match[(0010,2160), ".*", 0]', '(0010,0010) := lowercase[(0010,2160)]')
    assert outcome.ok, outcome.error
    assert outcome.messages == ["v00", "s01_v00_mr1", "null", "null"]
    assert ds.PatientName == "Doe^John"


@conforms("de4.dialect")
def test_missing_version_line_gets_a_hint() -> None:
    with pytest.raises(ScriptSyntaxError) as info:
        compile_script("(0019,{ACME}10) := \"x\"\n")
    assert 'add version "6.6"' in info.value.message
