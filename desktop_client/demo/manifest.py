"""``demo-manifest.json``: what the generator wrote, so tests and the app need not re-parse files.

Paths are relative to the data set folder with ``/`` separators; nothing time-dependent is
recorded, so the manifest itself is byte-identical between runs with the same seed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

MANIFEST_NAME = "demo-manifest.json"
#: Bump whenever generated content changes, so cached copies are regenerated.
DEMO_VERSION = 1


@dataclass(slots=True)
class BurnedBox:
    """Burned-in text and its box (``l <= x < r``, ``t <= y < b``; applies to every frame)."""

    field: str
    text: str
    phi: bool
    box: list[int]


@dataclass(slots=True)
class DemoFile:
    """One generated DICOM file."""

    path: str
    patient_name: str
    patient_id: str
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    modality: str
    transfer_syntax_uid: str
    size: int
    sha256: str
    rows: int | None = None
    columns: int | None = None
    frames: int | None = None
    photometric_interpretation: str | None = None
    burned_in: list[BurnedBox] = field(default_factory=list)


@dataclass(slots=True)
class DemoManifest:
    """The whole data set: version, seed, scale parameters and one entry per file."""

    version: int
    seed: int
    scale: dict[str, object]
    files: list[DemoFile]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "DemoManifest":
        raw = json.loads(text)
        files = [DemoFile(**{**f, "burned_in": [BurnedBox(**b) for b in f.get("burned_in", [])]})
                 for f in raw["files"]]
        return cls(version=raw["version"], seed=raw["seed"], scale=raw["scale"], files=files)

    @classmethod
    def load(cls, folder: Path) -> "DemoManifest":
        return cls.from_json((folder / MANIFEST_NAME).read_text(encoding="utf-8"))

    def write(self, folder: Path) -> None:
        (folder / MANIFEST_NAME).write_text(self.to_json(), encoding="utf-8")

    @property
    def patients(self) -> set[str]:
        return {f.patient_id for f in self.files}

    @property
    def studies(self) -> set[str]:
        return {f.study_instance_uid for f in self.files}

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)
