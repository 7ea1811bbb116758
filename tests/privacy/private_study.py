"""A synthetic study whose devices wrote text into private elements (issue 14 §2), shared by the
private text tests of the core, the CLI and the Review GUI."""

from __future__ import annotations

from pathlib import Path

from tests.dicomfactory import image, write

COPIED, VENDOR, PLAIN = "1.2.77.1.1", "1.2.77.1.2", "1.2.77.1.3"
#: A site script that anonymizes the usual attributes and keeps every private tag (research sites
#: keep vendor parameters this way).
KEEPS_PRIVATE = ('version "6.3"\n(0010,0010) := "ANON"\n(0010,0020) := "ANON"\n-(0010,0030)\n'
                 '(0008,0050) := ""\n')


def write_series(root: Path, series: str, description: str, files: int, private: dict[int, tuple[str, str]],
            extra: dict[int, dict[int, tuple[str, str]]] | None = None) -> None:
    for n in range(files):
        ds = image(study_uid="1.2.77.1", series_uid=series, sop_uid=f"{series}.{n + 1}", instance_number=n + 1)
        ds.SeriesDescription = description
        ds.SeriesNumber = int(series.rsplit(".", 1)[1])
        ds.PatientBirthDate = "19700203"
        values = {**private, **((extra or {}).get(n, {}))}
        if values:
            block = ds.private_block(0x0019, "ACME 1.0", create=True)
            for element, (vr, value) in values.items():
                block.add_new(element, vr, value)
        write(root / description / f"{n + 1}.dcm", ds)


def write_study(tmp_path: Path) -> Path:
    """Patient DOE^JANE, PID1. ``copied``: a device copied the name into a private tag (beside a
    number that must survive stripping); ``vendor``: private vendor strings; ``plain``: nothing."""
    root = tmp_path / "study"
    write_series(root, COPIED, "copied", 3, {0x10: ("LO", "DOE^JANE"), 0x11: ("DS", "2.5")})
    write_series(root, VENDOR, "vendor", 3, {0x10: ("LO", "SIEMENS"), 0x12: ("LO", "ORIGINAL\\PRIMARY"),
                                        0x13: ("SH", "Head coil 32")})
    write_series(root, PLAIN, "plain", 2, {})
    return root
