"""Small, deterministic DICOM sessions written with pydicom for the transfer tests.

Each image carries a bright "burned-in" block in its top-left corner (value 4000) so tests can
check that a redaction rectangle really blacked it out at the destination.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from desktop_client.scanning import scan_paths
from desktop_client.scanning.model import Session

BURN = (0, 0, 16, 8)  # l, t, r, b of the bright block
BURN_VALUE = 4000


def write_study(folder: Path, *, series: int = 2, files: int = 3, rows: int = 32,
                patient_name: str = "DOE^JANE", patient_id: str = "PID123",
                seed: int = 0) -> Path:
    """Write ``series`` CT series of ``files`` images each under ``folder``; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    study_uid = generate_uid(entropy_srcs=[f"study-{seed}"])
    rng = np.random.default_rng(seed)
    for s in range(1, series + 1):
        series_uid = generate_uid(entropy_srcs=[f"series-{seed}-{s}"])
        for n in range(1, files + 1):
            sop_uid = generate_uid(entropy_srcs=[f"sop-{seed}-{s}-{n}"])
            meta = FileMetaDataset()
            meta.MediaStorageSOPClassUID = CTImageStorage
            meta.MediaStorageSOPInstanceUID = sop_uid
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds = Dataset()
            ds.file_meta = meta
            ds.SOPClassUID = CTImageStorage
            ds.SOPInstanceUID = sop_uid
            ds.StudyInstanceUID = study_uid
            ds.SeriesInstanceUID = series_uid
            ds.PatientName = patient_name
            ds.PatientID = patient_id
            ds.PatientBirthDate = "19700101"
            ds.StudyDate = "20240102"
            ds.StudyTime = "101500"
            ds.AccessionNumber = f"ACC{seed}"
            ds.StudyID = "1"
            ds.StudyDescription = "Chest"
            ds.Modality = "CT"
            ds.SeriesNumber = s
            ds.SeriesDescription = f"Series {s}"
            ds.InstanceNumber = n
            ds.Rows = rows
            ds.Columns = rows
            ds.SamplesPerPixel = 1
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.BitsAllocated = 16
            ds.BitsStored = 12
            ds.HighBit = 11
            ds.PixelRepresentation = 0
            pixels = rng.integers(0, 1000, size=(rows, rows), dtype=np.uint16)
            left, top, right, bottom = BURN
            pixels[top:bottom, left:right] = BURN_VALUE
            ds.PixelData = pixels.tobytes()
            ds.save_as(folder / f"s{s}_{n:04d}.dcm", enforce_file_format=True)
    return folder


def session_of(folder: Path) -> Session:
    """Scan ``folder`` with the real scanner and return its only session."""
    result = scan_paths([folder], use_cache=False)
    assert len(result.sessions) == 1, result.skipped
    return result.sessions[0]
