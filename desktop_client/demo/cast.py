"""The fake people, studies and series of the demo, all derived from the seed.

Names come from an obviously fictional list, IDs and dates are hashed from the seed, and times are
fixed offsets: nothing depends on the clock, so the same seed always yields the same headers.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from pydicom.uid import UID

from desktop_client.demo.seeding import base_date, da, demo_uid, stable_int

_NAMES = (
    ("DOE", "JANE", "F"), ("SMITH", "JOHN", "M"), ("MUSTERMANN", "ERIKA", "F"),
    ("ROSSI", "MARIO", "M"), ("DUPONT", "MARIE", "F"), ("NORDMANN", "OLA", "M"),
)
_INSTITUTIONS = ("Example General Hospital", "Demo University Clinic", "Sample Imaging Centre")
_REFERRERS = ("HOUSE^GREGORY^^DR", "QUINN^MICHAELA^^DR", "KILDARE^JAMES^^DR")


@dataclass(frozen=True, slots=True)
class Patient:
    name: str  # DICOM PN, "FAMILY^GIVEN"
    patient_id: str
    birth_date: _dt.date
    sex: str

    @property
    def display_name(self) -> str:
        """How a console prints the name ("DOE, JANE")."""
        family, _, given = self.name.partition("^")
        return f"{family}, {given}" if given else family


@dataclass(frozen=True, slots=True)
class Study:
    patient: Patient
    index: int
    uid: UID
    date: _dt.date
    time: str  # TM, HHMMSS
    accession: str
    study_id: str
    description: str
    institution: str
    referring: str

    @property
    def da(self) -> str:
        return da(self.date)


@dataclass(frozen=True, slots=True)
class Equipment:
    manufacturer: str
    model: str
    station: str
    serial: str
    software: str


@dataclass(frozen=True, slots=True)
class Series:
    study: Study
    number: int
    modality: str
    description: str
    uid: UID
    frame_of_reference: UID
    time: str
    equipment: Equipment


def make_patients(seed: int, count: int = 3) -> list[Patient]:
    """``count`` distinct fictional patients."""
    start = stable_int(seed, "names") % len(_NAMES)
    patients = []
    for i in range(count):
        family, given, sex = _NAMES[(start + i) % len(_NAMES)]
        pid = f"DEMO{stable_int(seed, 'pid', i) % 1_000_000:06d}"
        birth = _dt.date(1938, 1, 1) + _dt.timedelta(days=stable_int(seed, "dob", i) % (50 * 365))
        patients.append(Patient(f"{family}^{given}", pid, birth, sex))
    return patients


def make_study(seed: int, patient: Patient, index: int, day_offset: int, description: str) -> Study:
    """Study ``index`` of the data set, ``day_offset`` days after the data set's base date."""
    minutes = 7 * 60 + 30 + (stable_int(seed, "study-time", index) % (9 * 60))
    return Study(
        patient=patient,
        index=index,
        uid=demo_uid(seed, "study", index),
        date=base_date(seed) + _dt.timedelta(days=day_offset),
        time=f"{minutes // 60:02d}{minutes % 60:02d}{stable_int(seed, 'sec', index) % 60:02d}",
        accession=f"ACC{stable_int(seed, 'acc', index) % 10_000_000:07d}",
        study_id=str(1000 + index),
        description=description,
        institution=_INSTITUTIONS[index % len(_INSTITUTIONS)],
        referring=_REFERRERS[(index + stable_int(seed, "ref")) % len(_REFERRERS)],
    )


def make_series(seed: int, study: Study, number: int, modality: str, description: str,
                equipment: Equipment, frame_of_reference: UID | None = None) -> Series:
    """Series ``number`` of ``study``; series start 4 minutes apart after the study time."""
    hh, mm, ss = int(study.time[:2]), int(study.time[2:4]), int(study.time[4:6])
    total = hh * 3600 + mm * 60 + ss + 240 * number
    time = f"{total // 3600 % 24:02d}{total // 60 % 60:02d}{total % 60:02d}"
    return Series(
        study=study,
        number=number,
        modality=modality,
        description=description,
        uid=demo_uid(seed, "series", study.index, number),
        frame_of_reference=frame_of_reference or demo_uid(seed, "for", study.index, number),
        time=time,
        equipment=equipment,
    )


CT_SCANNER = Equipment("DemoMed", "Tomo 64", "CTSCAN01", "CT-1001", "VA40")
MR_SCANNER = Equipment("DemoMed", "Magna 1.5T", "MRI-A", "MR-2002", "syngo-like 11")
CR_READER = Equipment("Fictive Imaging", "PlateReader 9", "CR-ER", "CR-3003", "2.1.7")
US_SCANNER = Equipment("Sonofake", "EchoView 5", "US-ROOM3", "US-4004", "5.0.2")
TPS = Equipment("PlanCo", "TreatPlan", "TPS-WS1", "TPS-5005", "12.0")
REPORTING = Equipment("ReportSoft", "Dictate", "RIS-WS7", "RIS-6006", "3.3")
