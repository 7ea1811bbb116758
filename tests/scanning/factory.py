"""Tiny synthetic DICOM writer for scanner tests (fast, fully controlled headers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, ImplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID


def make_dataset(study: str = "1.2.3.1", series: str = "1.2.3.1.1", sop: str = "1.2.3.1.1.1", *,
                 rows: int = 8, columns: int = 8, modality: str = "CT", instance_number: int | None = 1,
                 sop_class: str = CTImageStorage, pixels: bool = True, patient: str = "DOE^JANE") -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.PatientName = patient
    ds.PatientID = "PID1"
    ds.StudyDate = "20240102"
    ds.StudyTime = "101112"
    ds.StudyDescription = "Head"
    ds.StudyID = "S1"
    ds.AccessionNumber = "ACC1"
    ds.Modality = modality
    ds.SeriesNumber = 3
    ds.SeriesDescription = "Axial"
    if instance_number is not None:
        ds.InstanceNumber = instance_number
    if pixels:
        ds.Rows = rows
        ds.Columns = columns
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 12
        ds.HighBit = 11
        ds.PixelRepresentation = 0
        ds.PixelData = np.arange(rows * columns, dtype=np.uint16).tobytes()
    return ds


def write(path: Path, ds: Dataset, *, part10: bool = True, implicit: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ts = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    if part10:
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ts
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        ds.file_meta = meta
        ds.save_as(path, enforce_file_format=True)
    else:
        ds.save_as(path, implicit_vr=implicit, little_endian=True)
    return path
