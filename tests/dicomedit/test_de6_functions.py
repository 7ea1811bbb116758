"""Every DE6 built-in function (§9), hashUID vectors (§10) and date shifting (§11)."""

from __future__ import annotations

import re

import pytest
from pydicom import config
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from desktop_client.core.geometry import Fill, PixelEdit, Rect
from desktop_client.dicomedit import ScriptSyntaxError, compile_script, hash_uid
from desktop_client.dicomedit.datetimes import shift

from tests.dicomedit.helpers import conforms, ct, de6, run

HASH_VECTORS = {
    "1.2.3.444.555": "2.25.151084009948217556417582685022853404996",
    "1.2.3.444.555.666": "2.25.112080059686574174424340996853252886096",
    "0.0.0": "2.25.179381058945121467305106941903336095433",
    "1.2": "2.25.171578026969864389535347314560684512280",
    "1.2.3.4.5": "2.25.281097975800109040096884226991818420711",
    "1.2.3.4.5.6": "2.25.262228503153619312954819897114011402300",
    "99.99999.999": "2.25.231023445675908772609000485091754869630",
    "": "2.25.290070988920337595058960832122557831312",
    "foo": "2.25.15861325218270012641172980964540570562",
}


def echo(*lines: str, ds: Dataset | None = None, **kwargs) -> list[str]:
    outcome, _ = run(de6(*lines), ds, **kwargs)
    assert outcome.ok, outcome.error
    return outcome.messages


def error_of(*lines: str, ds: Dataset | None = None, **kwargs) -> str:
    outcome, _ = run(de6(*lines), ds, **kwargs)
    assert outcome.status == "error"
    return outcome.error or ""


# ---- UIDs -----------------------------------------------------------------------------------


@conforms("fn.hashUID")
@pytest.mark.parametrize("value, expected", sorted(HASH_VECTORS.items()))
def test_hash_uid_vectors(value: str, expected: str) -> None:
    assert hash_uid(value) == expected


@conforms("fn.hashUID")
def test_hash_uid_in_scripts() -> None:
    assert echo("echo hashUID[(0020,000D)]", 'echo hashUID["1.2"]') == [
        HASH_VECTORS["1.2.3.444.555"], HASH_VECTORS["1.2"]]
    outcome, ds = run(de6("(0010,0010) := hashUID[(0010,2160)]"))
    assert ds.PatientName == "Doe^John"
    assert "hashUID" in error_of("echo hashUID[]")


@conforms("fn.hashUIDList")
def test_hash_uid_list_in_place_including_nested_and_multivalued() -> None:
    ds = ct()
    ds.add_new(0x00081150, "UI", ["1.2", "1.2.3.4.5"])  # multi-valued, made-up but legal
    outcome, ds = run(de6('hashUIDList[(0020,000D), "*/(0008,1155)", {(0008,1150)}]'), ds)
    assert outcome.ok
    assert ds.StudyInstanceUID == HASH_VECTORS["1.2.3.444.555"]
    assert ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID == HASH_VECTORS["1.2.3.4.5"]
    assert ds.ReferencedImageSequence[1].ReferencedSOPInstanceUID == HASH_VECTORS["0.0.0"]
    assert list(ds[0x00081150].value) == [HASH_VECTORS["1.2"], HASH_VECTORS["1.2.3.4.5"]]
    assert ds.SeriesInstanceUID == "1.2.3.444.555.666"


@conforms("fn.hashUIDList")
def test_hash_uid_list_never_touches_creators() -> None:
    outcome, ds = run(de6("hashUIDList[(0019,{SIEMENS MR HEADER}XX)]"))
    assert ds[0x00190010].value == "SIEMENS MR HEADER"
    assert ds[0x00191008].value == hash_uid("private one")


@conforms("fn.newUID")
def test_new_uid() -> None:
    a, b = echo("echo newUID[]", "echo newUID[]")
    assert a != b and re.fullmatch(r"2\.25\.\d+", a) and len(a) <= 64


@conforms("fn.mapUID", "var.persist")
def test_map_uid_keys_by_path_text_and_persists() -> None:
    script = compile_script(de6('(0020,000D) := mapUID[(0020,000D), "1.2.3"]',
                                'v := (0020,000E)', '(0020,000E) := mapUID[v, "1.2.3"]'))
    first, second = ct(), ct()
    second.StudyInstanceUID = "9.9.9"
    second.SeriesInstanceUID = "8.8.8"
    script.apply(first)
    script.apply(second)
    assert first.StudyInstanceUID == second.StudyInstanceUID  # quirk 1: keyed by path text
    assert first.StudyInstanceUID.startswith("1.2.3.")
    assert first.SeriesInstanceUID != second.SeriesInstanceUID  # keyed by value via a variable
    third = ct()
    script.apply(third)
    assert third.SeriesInstanceUID == first.SeriesInstanceUID
    assert "Invalid UID root" in error_of('echo mapUID["a", "1.2.3.4.5.6.7.8.9.10.11.12.13.14"]')


@conforms("fn.mapReferencedUIDs", "var.persist")
def test_map_referenced_uids_is_stable_across_objects() -> None:
    script = compile_script(de6('mapReferencedUIDs["1.2.840.99", "*/(0008,1155)", "not a path"]'))
    a, b = ct(), ct()
    assert script.apply(a).ok and script.apply(b).ok
    ra = [i.ReferencedSOPInstanceUID for i in a.ReferencedImageSequence]
    rb = [i.ReferencedSOPInstanceUID for i in b.ReferencedImageSequence]
    assert ra == rb and ra[0] != ra[1] and all(u.startswith("1.2.840.99.") for u in ra)
    assert "mapReferencedUIDs" in error_of('mapReferencedUIDs["1.2"]')


# ---- strings --------------------------------------------------------------------------------


@conforms("fn.concatenate", "fn.format", "fn.lowercase", "fn.uppercase", "fn.substring", "fn.replace", "fn.match", "fn.ismatch", "fn.normalizeString", "fn.true", "fn.false")
def test_string_functions() -> None:
    assert echo(
        'echo concatenate["a", (0008,0060), 5]', "echo concatenate[]",
        'echo format["{0}_v{1}_{2}", (0010,0020), 3, {"x", "y"}]',
        'echo format["{0}-{1}", (0010,2160)]',
        "echo lowercase[(0010,0010)]", 'echo uppercase["abc"]',
        "echo substring[(0010,0010), 0, 3]",
        'echo replace[(0010,0010), "o", "0"]', 'echo replace["a-a", "a", (0008,1010)]',
        'echo match[(0010,0010), "D(o)(e)", 2]', 'echo ismatch[(0010,0010), "Doe.*"]',
        'echo ismatch[(0010,0010), "Doe"]',
        'echo normalizeString["Søme"]', 'echo normalizeString["Søme", "?"]',
        'echo true[]', 'echo false["ignored"]',
    ) == ["aCT5", "", "PID-1_v3_x", "null-{1}", "doe^john", "ABC", "Doe", "D0e^J0hn",
          "00081010-00081010", "e", "true", "false", "S_me", "S?me", "true", "false"]


@conforms("fn.format")
def test_message_format_quoting() -> None:
    assert echo('echo format["O\'\'Brien {0}", "x"]', 'echo format["O\'Brien {0}", "x"]') == [
        "O'Brien x", "OBrien {0}"]
    assert "format" in error_of('echo format["{}", "x"]')


@conforms("fn.lowercase", "fn.concatenate", "fn.substring", "fn.match", "fn.ismatch", "fn.lookup")
@pytest.mark.parametrize("line, fragment", [
    ("echo lowercase[(0010,2160)]", "Error evaluating lowercase"),
    ('echo lowercase["a", "b"]', "Error evaluating lowercase"),
    ("echo concatenate[(0010,2160)]", "NullPointerException"),
    ("echo substring[(0010,0010), 0, 99]", "begin 0, end 99"),
    ('echo match[(0010,0010), "x"]', "Error evaluating match"),
    ('echo match[(0010,0010), "(", 1]', "Invalid regular expression"),
    ('echo match[(0010,0010), "D", 3]', "No group 3"),
    ('echo ismatch[(0010,2160), "x"]', "Error evaluating ismatch"),
    ('echo lookup["pn"]', "lookup illegal arguments"),
])
def test_string_function_errors(line: str, fragment: str) -> None:
    assert fragment in error_of(line)


@conforms("fn.lookup")
def test_lookup_table() -> None:
    table = ("// comment\n\npn/Doe^John = MappedPatientName1\n  id / PID-1=mapped id \n")
    assert echo('echo lookup["pn", (0010,0010)]', 'echo lookup["id", " PID-1"]',
                'echo lookup["pn", "nobody"]', lookup_table=table) == [
        "MappedPatientName1", "mapped id", "null"]
    outcome, ds = run(de6('(0010,0010) := lookup["pn", "absent"]'), lookup_table={"pn/x": "y"})
    assert ds.PatientName == "Doe^John"


@conforms("fn.getURL")
def test_get_url_through_injected_getter_only() -> None:
    seen = []

    def getter(url: str) -> str:
        seen.append(url)
        return "foo\nbar\r\n"
    assert echo('echo getURL["http://127.0.0.1/x?id=1"]', http_get=getter) == ["foobar"]
    assert seen == ["http://127.0.0.1/x?id=1"]
    assert "disabled" in error_of('echo getURL["http://127.0.0.1/"]')
    assert "Empty response from external webservice" in error_of(
        'echo getURL["http://127.0.0.1/"]', http_get=lambda url: "")


# ---- tag functions --------------------------------------------------------------------------


@conforms("fn.removeTags")
def test_remove_tags() -> None:
    outcome, ds = run(de6('removeTags[(0010,0010), "(0010,0020)", {"*/(0008,1155)"}]'))
    assert outcome.ok
    assert "PatientName" not in ds and "PatientID" not in ds
    assert all("ReferencedSOPInstanceUID" not in i for i in ds.ReferencedImageSequence)
    assert "is not a valid tagPath." in error_of('removeTags["garbage"]')


@conforms("fn.retainPrivateTags")
def test_retain_private_tags() -> None:
    ds = ct()
    inner = Dataset()
    inner.add_new(0x00090010, "LO", "GONE")
    inner.add_new(0x00091001, "LO", "x")
    ds.ReferencedImageSequence[0].update(inner)
    outcome, ds = run(de6('retainPrivateTags[(0019,{SIEMENS MR HEADER}08)]'), ds)
    assert outcome.ok, outcome.error
    private = sorted(t for t in ds.keys() if t >> 16 & 1)
    assert private == [0x00190010, 0x00191008]
    assert not [t for t in ds.ReferencedImageSequence[0].keys() if t >> 16 & 1]
    assert ds.PatientName == "Doe^John"
    assert "is not a valid tagPath." in error_of("retainPrivateTags[5]")
    assert "public" in error_of("retainPrivateTags[(0010,0010)]")


@conforms("fn.retainPrivateTags")
def test_retain_private_sequence_keeps_its_content() -> None:
    ds = ct()
    item = Dataset()
    item.PatientName = "kept"
    ds.add_new(0x00191020, "SQ", Sequence([item]))
    outcome, ds = run(de6('retainPrivateTags["(0019,{SIEMENS MR HEADER}20)"]'), ds)
    assert outcome.ok
    assert sorted(t for t in ds.keys() if t >> 16 & 1) == [0x00190010, 0x00191020]
    assert ds[0x00191020].value[0].PatientName == "kept"


@conforms("fn.set", "fn.delete")
def test_set_and_delete_direct_notation() -> None:
    outcome, ds = run(de6('set[" ( 0032 , 1024 ) [ 10 ] / ( 0008 , 1032 ) ", "v"]',
                          'set["(0009,1010)", "orphan"]', 'delete["(0029,1010)"]'))
    assert outcome.ok, outcome.error
    assert len(ds[0x00321024].value) == 11
    assert ds[0x00321024].value[10][0x00081032].VR == "SQ"
    assert ds[0x00091010].value == "orphan" and 0x00090010 not in ds
    assert 0x00291010 not in ds
    assert "Failed to parse" in error_of('set["(0032,1024)(0008,1032)", "v"]')
    assert "Failed to parse" in error_of('set["(0032,1024)[022A]/(0008,1032)", "v"]')


@conforms("fn.collectValues", "fn.blankValues")
def test_collect_and_blank_values() -> None:
    ds = ct()
    ds.OtherPatientNames = "Doe^John"
    ds.ReferencedImageSequence[0].PatientName = "Doe^John"
    outcome, ds = run(de6("v := collectValues[(0010,0010), (0010,0020), \"literal\"]", "echo v",
                          "blankValues[v]"), ds)
    assert outcome.messages == ["[Doe^John, PID-1, literal]"]
    assert ds.PatientName == "" and ds.OtherPatientNames == "" and ds.PatientID == ""
    assert ds.ReferencedImageSequence[0].PatientName == ""
    outcome, ds = run(de6("blankValues[(0008,0060), 4]"))
    assert ds.Modality == "" and ds.Rows is None


@conforms("fn.isPresent")
def test_is_present() -> None:
    assert echo("echo isPresent[(0010,0010), (0008,1140)[1]]", "echo isPresent[(0008,1140)[5]]",
                "echo isPresent[]", "echo isPresent[(0019,{NOBODY}10)]") == [
        "true", "false", "true", "false"]
    assert "Argument is not a tagPath" in error_of('echo isPresent["x"]')
    assert "Argument is not a singular tagPath" in error_of("echo isPresent[*/(0010,0010)]")


@conforms("fn.reject", "xnat.reject")
def test_reject() -> None:
    outcome, ds = run(de6('(0010,0010) := "x"', "reject[]", '(0010,0020) := "y"'))
    assert outcome.status == "rejected" and ds.PatientName == "x" and ds.PatientID == "PID-1"
    outcome, _ = run(de6("reject[false[]]"))
    assert outcome.ok
    outcome, ds = run(de6("reject[]", '(0010,0020) := "y"'), ignore_rejections=True)
    assert outcome.ok and ds.PatientID == "y"
    outcome, _ = run(de6('(0008,0060) = "CT" ? reject["true"]'))
    assert outcome.status == "rejected"


# ---- alterPixels ----------------------------------------------------------------------------


@conforms("fn.alterPixels")
def test_alter_pixels_builds_pixel_edits_in_order() -> None:
    outcome, _ = run(de6('alterPixels["rectangle", "l=0, t=0, r=2, b=1", "solid", "v=100"]',
                         'alterPixels[" Rectangle ", "left=3,top=1,right=1,bottom=3", "SOLID", '
                         '"r=255, g=0, b=10"]',
                         'alterPixels["rectangle", "l=0,t=0,r=1,b=1", "solid", "garbage"]'))
    assert outcome.ok
    assert outcome.pixel_edits == [
        PixelEdit(Rect(0, 0, 2, 1), Fill.grey(100)),
        PixelEdit(Rect(3, 1, 5, 3), Fill.colour(255, 0, 10)),
        PixelEdit(Rect(0, 0, 1, 1), Fill()),
    ]


@conforms("err.alter-pixels-literal")
@pytest.mark.parametrize("call", [
    'alterPixels["rectangle", "l=0, t=0, r=2", "solid", "v=0"]',
    'alterPixels["circle", "l=0, t=0, r=2, b=2", "solid", "v=0"]',
    'alterPixels["rectangle", "l=0, t=0, r=2, b=2", "solid"]',
    'alterPixels["rectangle", "l=0, t=0, r=2, b=2", "solid", "v=999"]',
])
def test_bad_literal_alter_pixels_is_a_compile_error(call: str) -> None:
    with pytest.raises(ScriptSyntaxError) as info:
        compile_script(de6(call))
    assert info.value.line == 2


@conforms("fn.alterPixels")
def test_alter_pixels_with_computed_arguments_fails_at_run_time() -> None:
    assert "rectangle" in error_of('s := "circle"', 'alterPixels[s, "l=0,t=0,r=1,b=1", "solid", "v=0"]')


# ---- dates ----------------------------------------------------------------------------------


@conforms("fn.shiftDateTimeByIncrement")
@pytest.mark.parametrize("value, seconds, expected", [
    ("20230519133022.123", -300 * 86400, "20220723133022.123"),
    ("2023", -300 * 86400, "2022"),
    ("202305", -300 * 86400, "202207"),
    ("2023051913", -46813, "2023051900"),
    ("202205191324", 30, "202205191325"),
    ("202205+1000", 0, "202205+1000"),
    ("20240115131415.123", 600, "20240115132415.123"),
])
def test_shift_vectors(value: str, seconds: int, expected: str) -> None:
    assert shift(value, seconds) == expected


@conforms("err.date-shift")
@pytest.mark.parametrize("bad", ["1", "20", "Doe^John", "20220519123344."])
def test_unparseable_dates(bad: str) -> None:
    assert f"Failed to parse DICOM time string '{bad}'" in error_of(
        f'echo shiftDateTimeByIncrement["{bad}", 1]')


@conforms("fn.shiftDateByIncrement", "fn.shiftDateTimeByIncrement", "fn.shiftDateTimeListByIncrement", "fn.shiftDateTimeSequenceByIncrement")
def test_shift_functions() -> None:
    ds = ct()
    ds.AcquisitionDateTime = "20230519133022"
    ds.ReferencedImageSequence[0].StudyDate = "20230101"
    ds.StudyTime = "1330"
    assert echo("echo shiftDateByIncrement[(0008,0020), -1]",
                'echo shiftDateByIncrement["20230519", 2, "Years"]',
                "echo shiftDateTimeByIncrement[(0008,002A), 30]",
                'echo shiftDateTimeByIncrement[(0008,0020), 1, "days"]', ds=ds) == [
        "20230518", "20250518", "20230519133052", "20230520"]
    assert "shiftDateByIncrement" in error_of("echo shiftDateByIncrement[(0008,002A), 1]", ds=ds)
    assert "shiftDateByIncrement" in error_of("echo shiftDateByIncrement[(0008,0021), 1]", ds=ds)
    outcome, ds = run(de6('shiftDateTimeListByIncrement[{(0008,0030), "*/(0008,0020)"}, 1, "days"]'),
                      ds)
    assert outcome.ok, outcome.error
    assert ds.StudyTime == "1330"  # a TM "1330" is parsed as the year 1330 (quirk 12)
    assert ds.StudyDate == "20230520"
    assert ds.ReferencedImageSequence[0].StudyDate == "20230102"
    outcome, ds = run(de6('shiftDateTimeSequenceByIncrement[-86400, "(0008,0020)", "bad path"]'))
    assert ds.StudyDate == "20230518"
    assert "list" in error_of('shiftDateTimeListByIncrement["(0008,0020)", 1, "days"]')


@conforms("fn.scalePatientAgeAndDobFromStudyDate")
def test_scale_patient_age_and_dob() -> None:
    ds = ct()
    ds.PatientAge = "100Y"
    ds.PatientBirthDate = "19230315"
    ds.StudyDate = "20230315"
    inner = Dataset()
    inner.PatientAge = "100Y"
    ds.ReferencedStudySequence = Sequence([inner])
    outcome, ds = run(de6("scalePatientAgeAndDobFromStudyDate[]"), ds)
    assert outcome.ok
    assert ds.PatientAge == "089Y" and inner.PatientAge == "089Y"
    assert ds.PatientBirthDate == "19340316"
    young = ct()
    young.PatientAge = "045Y"
    outcome, young = run(de6("scalePatientAgeAndDobFromStudyDate[]"), young)
    assert young.PatientAge == "045Y" and young.PatientBirthDate == "19700101"
    bad = ct()
    bad[0x00101010] = DataElement(0x00101010, "AS", "old", validation_mode=config.IGNORE)
    assert "Error parsing age" in error_of("scalePatientAgeAndDobFromStudyDate[]", ds=bad)


@conforms("fn.custom")
def test_custom_function_registry() -> None:
    def shout(ctx, args):
        return ctx.deref(args[0]).upper() + "!"
    assert echo("echo acme_shout[(0010,0010)]", functions={"acme_shout": shout}) == ["DOE^JOHN!"]


def _private_doc() -> Dataset:
    ds = Dataset()
    for tag, value in ((0x00090010, "p1"), (0x00091000, "p1_0"), (0x00091001, "p1_1"),
                       (0x00290011, "sm1"), (0x00291111, "sm1_0"), (0x002911F1, "sm1_1")):
        ds.add_new(tag, "LO", value)
    return ds


@conforms("fn.retainPrivateTags")
@pytest.mark.parametrize("arg", ['"(0029,{sm1}XX)"', "(0029,{sm1}XX)"])
def test_retain_private_block_reference_case(arg: str) -> None:
    outcome, ds = run(de6(f"retainPrivateTags[ {arg}]"), _private_doc())
    assert outcome.ok
    assert sorted(ds.keys()) == [0x00290011, 0x00291111, 0x002911F1]


@conforms("fn.retainPrivateTags")
@pytest.mark.parametrize("creator, kept", [("p1c", [0x00110010, 0x0011103F]), ("FICTION", [])])
def test_retain_private_tags_in_public_sequence_reference_case(creator: str, kept: list[int]) -> None:
    ds = Dataset()
    ds.PatientName = "t1"
    items = []
    for i in range(2):
        item = Dataset()
        item.PatientName = f"t2_{i}_t1"
        item.add_new(0x00110010, "LO", "p1c")
        item.add_new(0x00111033, "UN", b"p1t1")
        item.add_new(0x0011103F, "UN", b"p1t2")
        items.append(item)
    ds.add_new(0x00420010, "SQ", Sequence(items))
    outcome, ds = run(de6(f"retainPrivateTags[ (0042,0010)/(0011,{{{creator}}}3F)]"), ds)
    assert outcome.ok, outcome.error
    assert ds.PatientName == "t1"
    for item in ds[0x00420010].value:
        assert str(item.PatientName).startswith("t2_")
        assert sorted(t for t in item.keys() if t >> 16 & 1) == kept


@conforms("fn.blankValues")
def test_blank_values_reference_cases() -> None:
    ds = Dataset()
    ds.PatientName = "PatientName"
    ds.AccessionNumber = "AccessionNumber"
    ds.add_new(0x00089201, "LO", "PatientName")
    ds.add_new(0x00089203, "LO", "AccessionNumber")
    ds.add_new(0x00300104, "LO", "Accession")
    item = Dataset()
    item.add_new(0x00360002, "LO", "AccessionNumber")
    ds.add_new(0x00420010, "SQ", Sequence([item]))
    ds.add_new(0x00490010, "LO", "Ascii test")
    ds.add_new(0x00491010, "LO", "PatientName")
    outcome, ds = run(de6("blankValues[(0008,920X)]"), ds)
    assert outcome.ok, outcome.error
    assert ds.PatientName == "" and ds.AccessionNumber == ""
    assert ds[0x00089201].value == "" and ds[0x00089203].value == ""
    assert item[0x00360002].value == "" and ds[0x00300104].value == "Accession"
    assert ds[0x00491010].value == "PatientName"  # private data is not blanked
    ds2 = Dataset()
    ds2.add_new(0x00189020, "LO", "SomeValue")
    outcome, ds2 = run(de6("tag_to_remove := (0018,9020)", "blankValues[tag_to_remove]"), ds2)
    assert ds2[0x00189020].value == ""
