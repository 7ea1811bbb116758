"""The scan result: sessions (studies) → scans (series) → instances (files).

These are plain dataclasses, picklable across process pools and free of Qt, so the CLI, the
transfer engine and the GUI all share one picture of what is on disk. An instance remembers where
its bytes live (a file, or a member of a zip/tar archive) so that later stages can re-read it
without the scanner having copied anything.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Iterable, Iterator, Sequence

from desktop_client.core.coverage import burned_in_yes


@dataclass(frozen=True, slots=True)
class Location:
    """Where an instance's bytes are: ``path`` alone for a file, ``path`` + ``member`` in an archive."""

    path: str
    member: str | None = None

    def __str__(self) -> str:
        return f"{self.path}!{self.member}" if self.member is not None else self.path

    @property
    def in_archive(self) -> bool:
        return self.member is not None

#: A field value of an :class:`Instance` row (see ``to_row``).
RowValue = str | int | bool | None
InstanceRow = tuple[RowValue, ...]


@dataclass(slots=True)
class Instance:
    """One DICOM object, described by the header attributes every later stage needs."""

    location: Location
    size: int
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    modality: str = ""
    instance_number: int | None = None
    rows: int | None = None
    columns: int | None = None
    frames: int = 1
    photometric_interpretation: str = ""
    bits_allocated: int | None = None
    bits_stored: int | None = None
    samples_per_pixel: int | None = None
    pixel_representation: int | None = None
    has_pixel_data: bool = False
    # Study level (copied into the Session when it is first seen).
    patient_name: str = ""
    patient_id: str = ""
    study_date: str = ""
    study_time: str = ""
    study_description: str = ""
    study_id: str = ""
    accession_number: str = ""
    # Series level.
    series_number: int | None = None
    series_description: str = ""
    # Equipment (template match constraints).
    manufacturer: str = ""
    manufacturer_model_name: str = ""
    station_name: str = ""
    burned_in_annotation: str = ""

    def to_row(self) -> InstanceRow:
        """Every field but the location, as a plain tuple: cheap to pickle, JSON and rebuild."""
        row: InstanceRow = _row_of(self)
        return row

    @classmethod
    def from_row(cls, location: Location, row: Sequence[RowValue]) -> "Instance":
        """The instance ``to_row`` described (a row that crossed a process pool or the scan cache)."""
        values = [sys.intern(v) if i in _SHARED_ROW_INDEXES and isinstance(v, str) else v
                  for i, v in enumerate(row)]
        return cls(location, *values)  # type: ignore[arg-type]  # field order and types are to_row's

    @property
    def path(self) -> str:
        """Display path of the instance (archive members as ``archive!member``)."""
        return str(self.location)

    @property
    def size_key(self) -> str:
        """``Rows x Columns`` as the official client writes it in group keys."""
        return f"{self.rows}x{self.columns}"


_ROW_FIELDS = tuple(f.name for f in fields(Instance) if f.name != "location")
_row_of = attrgetter(*_ROW_FIELDS)

#: Instance attributes that repeat across a scan or session. Rows that crossed a process boundary
#: or came from JSON give every instance its own copy; one shared string each keeps the memory of
#: a large session down.
SHARED_TEXT_FIELDS = frozenset({
    "study_instance_uid", "series_instance_uid", "sop_class_uid", "transfer_syntax_uid", "modality",
    "photometric_interpretation", "study_date", "study_time", "study_description", "study_id",
    "series_description", "manufacturer", "manufacturer_model_name", "station_name", "burned_in_annotation",
    "patient_name", "patient_id", "accession_number",
})
_SHARED_ROW_INDEXES = frozenset(i for i, name in enumerate(_ROW_FIELDS) if name in SHARED_TEXT_FIELDS)


def says_burned_in(instances: Iterable[Instance]) -> bool:
    """Does some instance's header say Burned In Annotation = YES? (The text gate holds such a
    scan until a person decides, whatever the search found.)"""
    return any(burned_in_yes(i.burned_in_annotation) for i in instances)


def _instance_order(instance: Instance) -> tuple[int, int, str]:
    number = instance.instance_number
    return (0 if number is not None else 1, number if number is not None else 0, instance.path)


@dataclass(slots=True)
class Scan:
    """A DICOM series: the XNAT scan."""

    series_instance_uid: str
    series_number: int | None = None
    series_description: str = ""
    modality: str = ""
    instances: list[Instance] = field(default_factory=list)

    def sort(self) -> None:
        """Order instances by Instance Number, then path (the viewer's and the upload's order)."""
        self.instances.sort(key=_instance_order)

    @property
    def files(self) -> int:
        return len(self.instances)

    @property
    def frames(self) -> int:
        return sum(i.frames for i in self.instances)

    @property
    def bytes(self) -> int:
        return sum(i.size for i in self.instances)

    @property
    def sop_class_uids(self) -> list[str]:
        return sorted({i.sop_class_uid for i in self.instances})

    @property
    def representative(self) -> Instance:
        """The middle instance, the one thumbnails and group properties are taken from."""
        return self.instances[len(self.instances) // 2]


@dataclass(slots=True)
class Session:
    """A DICOM study: the XNAT image session."""

    study_instance_uid: str
    patient_name: str = ""
    patient_id: str = ""
    study_date: str = ""
    study_time: str = ""
    study_description: str = ""
    study_id: str = ""
    accession_number: str = ""
    scans: dict[str, Scan] = field(default_factory=dict)

    @property
    def modalities(self) -> list[str]:
        return sorted({s.modality for s in self.scans.values() if s.modality})

    @property
    def files(self) -> int:
        return sum(s.files for s in self.scans.values())

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self.scans.values())

    def sorted_scans(self) -> list[Scan]:
        """Scans by series number (missing numbers last), then description."""
        return sorted(
            self.scans.values(),
            key=lambda s: (s.series_number is None, s.series_number or 0, s.series_description,
                           s.series_instance_uid),
        )

    def iter_instances(self) -> Iterator[Instance]:
        for scan in self.sorted_scans():
            yield from scan.instances


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file the scanner did not take, and why (shown to the user, never hidden)."""

    path: str
    reason: str


@dataclass(slots=True)
class ScanResult:
    """Everything one scan of the user's selection found."""

    sessions: list[Session] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    duplicates: int = 0
    files_seen: int = 0
    from_cache: int = 0
    elapsed: float = 0.0
    cancelled: bool = False

    @property
    def instances(self) -> int:
        return sum(s.files for s in self.sessions)

    def find_scan(self, series_instance_uid: str) -> tuple[Session, Scan] | None:
        for session in self.sessions:
            scan = session.scans.get(series_instance_uid)
            if scan is not None:
                return session, scan
        return None


def build_sessions(instances: list[Instance]) -> tuple[list[Session], int]:
    """Assemble instances into sessions and scans; return them with the duplicate count.

    A duplicate is a second object with a SOP Instance UID already seen (the same image copied
    twice into the selection); the first one (by path) is kept so the result is deterministic.
    """
    sessions: dict[str, Session] = {}
    seen: set[str] = set()
    duplicates = 0
    for inst in sorted(instances, key=lambda i: i.path):
        if inst.sop_instance_uid in seen:
            duplicates += 1
            continue
        seen.add(inst.sop_instance_uid)
        session = sessions.get(inst.study_instance_uid)
        if session is None:
            session = sessions[inst.study_instance_uid] = Session(
                study_instance_uid=inst.study_instance_uid,
                patient_name=inst.patient_name,
                patient_id=inst.patient_id,
                study_date=inst.study_date,
                study_time=inst.study_time,
                study_description=inst.study_description,
                study_id=inst.study_id,
                accession_number=inst.accession_number,
            )
        scan = session.scans.get(inst.series_instance_uid)
        if scan is None:
            scan = session.scans[inst.series_instance_uid] = Scan(
                series_instance_uid=inst.series_instance_uid,
                series_number=inst.series_number,
                series_description=inst.series_description,
                modality=inst.modality,
            )
        scan.instances.append(inst)
    for session in sessions.values():
        for scan in session.scans.values():
            scan.sort()
    ordered = sorted(sessions.values(), key=lambda s: (s.study_date, s.study_time,
                                                       s.patient_name, s.study_instance_uid))
    return ordered, duplicates
