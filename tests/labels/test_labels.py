"""Label generation, schemes, makeSessionLabel, date verification and the CSV round trip."""

from __future__ import annotations

import io
import random
import re
from dataclasses import replace
from pathlib import Path

import pytest

from desktop_client.labels import (
    LabelPool, LabelRow, SessionScheme, SubjectScheme, assign_session_labels,
    assign_subject_labels, date_prompt, default_session_label, export_csv, import_csv, shared_names,
    is_valid_label, label_problem, make_session_label, random_subject_label, sanitize_label,
    server_clean, session_modality, tracer_choices, unique_label, verify_study_day, visit_label,
)
from desktop_client.scanning.model import Scan, Session


def study(uid: str, name: str = "DOE^JOHN", pid: str = "P1", accession: str = "",
          modalities: tuple[str, ...] = ("MR",)) -> Session:
    session = Session(study_instance_uid=uid, patient_name=name, patient_id=pid,
                      accession_number=accession)
    for i, modality in enumerate(modalities, start=1):
        session.scans[f"{uid}.{i}"] = Scan(series_instance_uid=f"{uid}.{i}", series_number=i,
                                           modality=modality)
    return session


@pytest.mark.parametrize("mods,tracer,expected", [
    (["MR"], None, "MR"),
    (["MR", "MR", "CT"], None, "MR"),
    (["CT", "MR", "MR"], None, "MR"),
    (["OT", "OT", "OT", "CT"], None, "CT"),           # OT ignored when counting
    (["OT"], None, "OT"),
    (["PT", "CT", "CT"], "FDG", "FDG"),               # PET: the tracer
    (["PT", "CT"], None, "PT"),
    (["PT", "MR"], "18F-FDG", "18F-FDG"),
    (["SR", "PR"], None, "SR"),                       # no primary modality at all
    ([], None, "OT"),
    (["MR", "CT"], None, "MR"),                       # tie: first seen
    (["mr", "SEG", "MR"], None, "MR"),
])
def test_session_modality(mods: list[str], tracer: str | None, expected: str) -> None:
    assert session_modality(mods, tracer) == expected


def test_default_session_label_smallest_free_n() -> None:
    assert default_session_label("SUBJ01", ["MR"], []) == "SUBJ01_MR_1"
    assert default_session_label("SUBJ01", ["MR"], ["SUBJ01_MR_1", "SUBJ01_MR_3"]) == "SUBJ01_MR_2"
    assert default_session_label("John Doe", ["CT"], []) == "John_Doe_CT_1"
    assert default_session_label("S", ["PT", "CT"], ["s_fdg_1"], tracer="FDG") == "S_FDG_2"
    with pytest.raises(ValueError):
        default_session_label("", ["MR"], [])


def test_label_pool_tracks_queued_labels() -> None:
    pool = LabelPool(["A_MR_1"])      # from the server (archive + prearchive)
    assert pool.default_session_label("A", ["MR"]) == "A_MR_2"
    assert pool.default_session_label("A", ["MR"]) == "A_MR_3"   # queued locally → skipped
    pool.discard("A_MR_2")
    assert pool.default_session_label("A", ["MR"]) == "A_MR_2"


def test_unique_label_suffixes() -> None:
    assert unique_label("ACC1", []) == "ACC1"
    assert unique_label("ACC1", ["ACC1"]) == "ACC1_1"
    assert unique_label("ACC1", ["ACC1", "ACC1_1"]) == "ACC1_2"
    assert unique_label("V_3", ["V_3"]) == "V_4"           # trailing number incremented
    assert unique_label("V_3", ["V_3", "V_4"]) == "V_5"


def test_sanitize_and_validity() -> None:
    assert sanitize_label("DOE^JOHN  Q") == "DOE_JOHN_Q"
    assert sanitize_label(" Müller, Anna ") == "M_ller_Anna"
    assert sanitize_label("") == ""
    assert is_valid_label("AB-12_x") and not is_valid_label("a b") and not is_valid_label("")
    assert server_clean("A.B 1") == "A_B_1" and server_clean("ok-label") == "ok-label"
    assert label_problem("good_1") is None
    assert "letters, digits" in (label_problem("bad label!") or "")


def test_subject_schemes() -> None:
    studies = [study("1", "DOE^JOHN", "P1"), study("2", "DOE^JOHN", "P1"), study("3", "ROE^JANE", "P 2")]
    assert assign_subject_labels(studies, "manual") == {"1": "", "2": "", "3": ""}
    assert assign_subject_labels(studies, SubjectScheme.PATIENT_NAME) == {
        "1": "DOE_JOHN", "2": "DOE_JOHN", "3": "ROE_JANE"}
    assert assign_subject_labels(studies, "dicom_patient_id")["3"] == "P_2"
    auto = assign_subject_labels(studies, "auto", existing_subjects=["AA000"], rng=random.Random(1))
    assert auto["1"] == auto["2"] != auto["3"]              # one label per patient name
    assert all(re.fullmatch(r"[A-Z]{2}\d{3}", v) for v in auto.values())
    with pytest.raises(ValueError):
        SubjectScheme.parse("nonsense")


def test_random_subject_label_avoids_taken() -> None:
    rng = random.Random(7)
    first = random_subject_label([], random.Random(7))
    assert random_subject_label([first], rng) != first


def test_session_schemes_with_collisions_and_fallback() -> None:
    studies = [study("1", accession="ACC9", pid="P1"), study("2", accession="ACC9", pid="P1"),
               study("3", accession="", pid="P3", modalities=("PT", "CT"))]
    subjects = {"1": "S1", "2": "S1", "3": "S3"}
    assert assign_session_labels(studies, "accession", subjects, ["ACC9"], tracers={"3": "FDG"}) == {
        "1": "ACC9_1", "2": "ACC9_2", "3": "S3_FDG_1"}       # empty accession → auto
    assert assign_session_labels(studies, SessionScheme.PATIENT_ID, subjects) == {
        "1": "P1", "2": "P1_1", "3": "P3"}
    pool = LabelPool(["S1_MR_1"])
    assert assign_session_labels(studies, "auto", subjects, pool) == {
        "1": "S1_MR_2", "2": "S1_MR_3", "3": "S3_PT_1"}
    assert "S1_MR_3" in pool
    assert assign_session_labels(studies, "manual", subjects) == {"1": "", "2": "", "3": ""}
    assert assign_session_labels([study("4")], "auto", {}) == {"4": ""}


def test_make_session_label_reference_examples() -> None:
    assert make_session_label("#", []) == "0"
    assert make_session_label("#", ["0"]) == "1"
    assert make_session_label("##", []) == "00"
    assert make_session_label("##", ["00"]) == "01"
    assert make_session_label("foo###bar", ["foo000bar", "foo001bar"]) == "foo002bar"
    assert make_session_label("", []) == "" and make_session_label("nohash", []) == ""
    assert make_session_label("a#b#", ["a0b#"]) == "a1b#"     # only the first run counts
    assert visit_label("S1", "MR", ["S1_v00_mr", "S1_v01_mr"]) == "S1_v02_mr"


def test_existing_session_labels_from_server(xnat_emulator) -> None:  # type: ignore[no-untyped-def]
    from desktop_client.labels import existing_session_labels
    from tests.xnat.helpers import body, client_for, study as make
    client = client_for(xnat_emulator)
    client.import_zip("DEMO", "S1", "S1_v00_mr", body(make({1: 1})))
    labels = existing_session_labels(client, "DEMO", queued=["S1_v01_mr"])
    assert labels == {"S1_v00_mr", "S1_v01_mr"}
    assert visit_label("S1", "MR", labels) == "S1_v02_mr"


def test_date_verification() -> None:
    assert date_prompt("20240507") == "2024-05-"
    assert verify_study_day("20240507", "07") and verify_study_day("20240507", "7")
    assert not verify_study_day("20240507", "8") and not verify_study_day("20240507", "")
    assert not verify_study_day("", "07") and not verify_study_day("20241345", "45")
    assert not verify_study_day("20240507", "007") and date_prompt("junk") == ""


def _table() -> list[LabelRow]:
    return [LabelRow("1.2.1", "20240507", "MR", "Brain", "DOE^JOHN", "P1", 3, "S1", "S1_MR_1"),
            LabelRow("1.2.2", "20240508", "PT CT", "=cmd|' /C calc'!A0", "ROE^JANE", "P2", 2,
                     "S2", "S2_FDG_1", "FDG"),
            LabelRow("1.2.3", "20240509", "CT", "Chest", "X^Y", "P3", 1, "S3", "S3_CT_1")]


def test_csv_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    export_csv(_table(), path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"'=cmd" in raw      # formula neutralised
    text = path.read_text(encoding="utf-8-sig")
    edited = text.replace("S1_MR_1", "BASELINE").replace(",S3,", ",S3b,")
    edited = "\n".join(line for line in edited.splitlines() if not line.startswith("1.2.3,"))
    path.write_text(edited, encoding="utf-8")
    result = import_csv(path, _table())
    assert result.ok, result.errors
    assert [r.session for r in result.rows] == ["BASELINE", "S2_FDG_1", "S3_CT_1"]
    assert result.rows[1].study_description == "=cmd|' /C calc'!A0"
    assert result.unchecked == ["1.2.3"]


def test_csv_import_errors() -> None:
    out = io.StringIO()
    export_csv(_table(), out)
    text = out.getvalue()
    bad = (text.replace("S1_MR_1", "bad label").replace(",FDG", ",")
           + "9.9.9,,,,,,,X,Y,\r\n" + text.splitlines()[3] + "\r\n")
    result = import_csv(bad, _table())
    assert not result.ok and result.unknown == ["9.9.9"]
    joined = " | ".join(result.errors)
    assert "bad label" in joined and "needs a tracer" in joined and "appears twice" in joined
    dupes = import_csv(text.replace("S2_FDG_1", "S1_MR_1"), _table())
    assert any("used by two studies" in e for e in dupes.errors)
    assert "no column" in import_csv("a,b\r\n1,2\r\n", _table()).errors[0]


def test_tracer_choices() -> None:
    assert tracer_choices(["FDG", "PIB"], ["X"]) == ["FDG", "PIB", "OTHER"]
    assert tracer_choices([], ["AV45", "OTHER"]) == ["AV45", "OTHER"]
    assert tracer_choices([]) == ["OTHER"]


def test_label_row_from_scanned_session() -> None:
    session = study("1.2.9", name="DOE^JOHN", pid="P9", modalities=("PT", "CT", "CT"))
    session.study_date = "20240101"
    row = LabelRow.from_session(session, "S9", "S9_FDG_1", "FDG")
    assert (row.modality, row.scans, row.patient_id, row.needs_tracer) == ("CT PT", 3, "P9", True)
    out = io.StringIO()
    export_csv([row], out)
    assert import_csv(out.getvalue(), [row]).rows == [row]


def test_csv_carries_script_variable_columns() -> None:
    """The GUI's bulk table writes a column per script variable; reading it back keeps them."""
    table = [replace(r, variables={"visit": "V1", "site": "=HYPERLINK()"}) for r in _table()]
    out = io.StringIO()
    export_csv(table, out, ["visit", "site"])
    text = out.getvalue()
    assert text.splitlines()[0].endswith("PET Tracer,visit,site") and "'=HYPERLINK()" in text
    edited = text.replace(",V1,", ",V2,", 1)
    result = import_csv(edited, _table())
    assert result.ok, result.errors
    assert result.rows[0].variables == {"visit": "V2", "site": "=HYPERLINK()"}
    assert result.rows[1].variables == {"visit": "V1", "site": "=HYPERLINK()"}
    with pytest.raises(ValueError, match="named like a column"):
        export_csv(table, io.StringIO(), ["Scans"])


def test_auto_subjects_show_and_split_patients_sharing_a_name() -> None:
    same_name = [study("1.1", name="DOE^JANE", pid="P1"), study("1.2", name="doe^jane ", pid="P2"),
                 study("1.3", name="DOE^JANE", pid="P1"), study("1.4", name="ROE^RICK", pid="P9")]
    assert shared_names(same_name) == {"DOE^JANE": ["P1", "P2"]}
    merged = assign_subject_labels(same_name, "auto", rng=random.Random(1))
    assert merged["1.1"] == merged["1.2"] == merged["1.3"] != merged["1.4"]
    split = assign_subject_labels(same_name, "auto", rng=random.Random(1), split=["DOE^JANE"])
    assert split["1.1"] == split["1.3"] != split["1.2"] and len(set(split.values())) == 3
