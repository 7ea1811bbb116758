"""Verification that doesn't cry wolf: archived scans are matched on Series Instance UID
(issue 17 §4), since XNAT renames scans whose series numbers repeat (``1-MR1``)."""

from __future__ import annotations

from pydicom.uid import generate_uid

from desktop_client.xnat import zip_stream
from tests.xnat.helpers import client_for
from tests.xnat_emulator import XnatEmulator
from tests.xnat_emulator.samples import make_instance


def test_repeated_series_numbers_are_verified_by_uid(xnat_emulator: XnatEmulator) -> None:
    xnat_emulator.set_prearchive_code("DEMO", 4)
    study, first, second = generate_uid(), generate_uid(), generate_uid()
    # Both series are number 1; the second arrives first, so XNAT calls it "1" and the other
    # "1-MR1" — the opposite of what a client numbering in its own order guesses.
    entries = [(f"b/{i}.dcm", make_instance(study_uid=study, series_uid=second, series_number=1,
                                            instance_number=i)) for i in range(1, 4)]
    entries += [(f"a/{i}.dcm", make_instance(study_uid=study, series_uid=first, series_number=1,
                                             instance_number=i)) for i in range(1, 3)]
    client = client_for(xnat_emulator)
    uri = client.import_zip("DEMO", "S", "E", zip_stream(entries))
    assert client.commit(uri).archived
    guessed = {"1": 2, "1-MR1": 3}  # first → "1", second → "1-MR1"
    by_id = client.verify_session("DEMO", "S", "E", guessed)
    assert not by_id.ok  # the false alarm this fixes
    by_uid = client.verify_session("DEMO", "S", "E", guessed,
                                   expected_by_uid={first: 2, second: 3})
    assert by_uid.ok, by_uid.details
    short = client.verify_session("DEMO", "S", "E", guessed, expected_by_uid={first: 3, second: 3})
    assert short.details == [f"series {first} (scan 1-MR1): 3 file(s) sent, 2 on the server"]
    missing = generate_uid()
    gone = client.verify_session("DEMO", "S", "E", guessed,
                                 expected_by_uid={first: 2, second: 3, missing: 1})
    assert gone.details == [f"series {missing} (no scan on the server): 1 file(s) sent, 0 on the "
                            f"server"]


def test_subject_label_differing_only_in_case_verifies(xnat_emulator: XnatEmulator) -> None:
    """XNAT files the session under the existing subject "SUBJ" when "subj" is given."""
    xnat_emulator.set_prearchive_code("DEMO", 4)
    xnat_emulator.add_subject("DEMO", "SUBJ")
    study, series = generate_uid(), generate_uid()
    entries = [(f"a/{i}.dcm", make_instance(study_uid=study, series_uid=series, series_number=3,
                                            instance_number=i)) for i in range(1, 3)]
    client = client_for(xnat_emulator)
    assert client.commit(client.import_zip("DEMO", "subj", "E2", zip_stream(entries))).archived
    result = client.verify_session("DEMO", "subj", "E2", {"3": 2}, expected_by_uid={series: 2})
    assert result.ok, result.details
