"""Small builders shared by the DicomEdit tests (real pydicom datasets, no mocks)."""

from __future__ import annotations

from collections.abc import Callable

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from desktop_client.dicomedit import Outcome, compile_script
from desktop_client.dicomedit.conformance import FEATURE_IDS
from tests.dicomfactory import image


def ct() -> Dataset:
    """A CT-like header with public, private and nested data."""
    ds = image(header_only=True, modality="CT", study_uid="1.2.3.444.555", series_uid="1.2.3.444.555.666",
               sop_uid="1.2.3.4.5.6", series_number=4, patient_name="Doe^John", patient_id="PID-1",
               birth_date="19700101", study_date="20230519", study_time="133022", accession="ACC1",
               extra={"PatientSex": "M", "StationName": "MEDPC", "Rows": 4, "Columns": 4})
    ref1 = Dataset()
    ref1.ReferencedSOPInstanceUID = "1.2.3.4.5"
    ref1.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ref2 = Dataset()
    ref2.ReferencedSOPInstanceUID = "0.0.0"
    code = Dataset()
    code.CodeValue = "C1"
    ref2.PurposeOfReferenceCodeSequence = Sequence([code])
    ds.ReferencedImageSequence = Sequence([ref1, ref2])
    ds.add_new(0x00190010, "LO", "SIEMENS MR HEADER")
    ds.add_new(0x00191008, "LO", "private one")
    ds.add_new(0x00191010, "LO", "private two")
    ds.add_new(0x00290010, "LO", "OTHER")
    ds.add_new(0x00291010, "LO", "other private")
    return ds


def run(text: str, ds: Dataset | None = None, variables: dict | None = None,
        **kwargs) -> tuple[Outcome, Dataset]:
    ds = ct() if ds is None else ds
    script = compile_script(text, **kwargs)
    return script.apply(ds, variables, execute_pixels=False), ds


def de6(*lines: str) -> str:
    return 'version "6.6"\n' + "\n".join(lines) + "\n"


def conforms(*feature_ids: str) -> Callable[[Callable[..., object]], Callable[..., object]]:
    """Name the conformance features a test proves (docs/dicomedit-conformance.md is built
    from these by scripts/dicomedit_conformance.py); an unknown id fails at import."""
    unknown = [f for f in feature_ids if f not in FEATURE_IDS]
    if unknown:
        raise KeyError(f"unknown conformance feature(s): {', '.join(unknown)}")

    def mark(fn: Callable[..., object]) -> Callable[..., object]:
        fn.__conformance__ = tuple(feature_ids)  # type: ignore[attr-defined]
        return fn
    return mark
