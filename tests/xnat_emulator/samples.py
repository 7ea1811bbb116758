"""Small synthetic DICOM objects (no patient data) for emulator and client tests."""

from __future__ import annotations

import io

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

_SOP_CLASSES = {"CT": "1.2.840.10008.5.1.4.1.1.2", "MR": "1.2.840.10008.5.1.4.1.1.4",
                "PT": "1.2.840.10008.5.1.4.1.1.128", "US": "1.2.840.10008.5.1.4.1.1.6.1",
                "OT": "1.2.840.10008.5.1.4.1.1.7"}


def make_instance(*, study_uid: str, series_uid: str, series_number: int, instance_number: int,
                  modality: str = "MR", patient_name: str = "Test^Patient", patient_id: str = "PID001",
                  study_description: str = "", accession: str = "", patient_comments: str = "",
                  study_date: str = "20240507", rows: int = 8, columns: int = 8,
                  sop_instance_uid: str | None = None) -> bytes:
    """One Part-10 file with a tiny 16-bit image."""
    sop_class = _SOP_CLASSES.get(modality, _SOP_CLASSES["OT"])
    sop_instance = sop_instance_uid or generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_instance
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = series_number
    ds.InstanceNumber = instance_number
    ds.Modality = modality
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.StudyDate = study_date
    ds.StudyTime = "101500"
    ds.StudyDescription = study_description
    ds.AccessionNumber = accession
    ds.SeriesDescription = f"{modality} series {series_number}"
    if patient_comments:
        ds.PatientComments = patient_comments
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = (np.arange(rows * columns, dtype=np.uint16) + instance_number).tobytes()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def make_study(series: dict[int, int], *, modality: str = "MR", study_uid: str | None = None,
               **kwargs: object) -> list[tuple[str, bytes]]:
    """``{series_number: file_count}`` → ``[(entry name, bytes)]`` of one study."""
    study = study_uid or generate_uid()
    entries = []
    for number, count in series.items():
        series_uid = generate_uid()
        for i in range(1, count + 1):
            data = make_instance(study_uid=study, series_uid=series_uid, series_number=number,
                                 instance_number=i, modality=modality, **kwargs)  # type: ignore[arg-type]
            entries.append((f"s{number}/i{i}.dcm", data))
    return entries
