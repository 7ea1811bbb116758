"""Generate the demo data set: 3 patients, 5 studies, every modality and syntax the app must handle.

| Patient | Study               | Series (transfer syntax)                                          |
|---------|---------------------|-------------------------------------------------------------------|
| 1       | CT chest (RT)       | CT (explicit LE), RT Structure Set (implicit LE), RT Dose (expl.)  |
| 1       | CT chest follow-up  | CT (RLE Lossless)                                                  |
| 2       | MR brain            | T1 (implicit LE), T2 (explicit Big Endian), FLAIR (JPEG-LS lossl.) |
| 2       | Chest X-ray         | CR PA MONOCHROME1 (JPEG 2000 lossl.), CR LAT (explicit LE), PDF    |
| 3       | US abdomen          | US multi-frame RGB (explicit LE), same cine JPEG Baseline, SR      |

Every image has fake PHI burned into its corners; the boxes go into the manifest.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
)

from desktop_client.core.errors import UploaderError
from desktop_client.demo import cast, iods, nonimage, phantoms, writer
from desktop_client.demo.burn import BurnedText, TextItem, blend, text_mask, top_band_height
from desktop_client.demo.manifest import DEMO_VERSION, BurnedBox, DemoFile, DemoManifest
from desktop_client.demo.seeding import demo_uid, pretty_date, rng


class DemoError(UploaderError):
    """The demo could not be generated for a reason the user can fix (e.g. folder not empty)."""


@dataclass(frozen=True, slots=True)
class DemoScale:
    """Size knobs; the defaults keep the data set ≈ 30 MB so tests stay fast."""

    ct_slices: int = 20
    ct_matrix: int = 512
    mr_slices: int = 16
    mr_matrix: int = 256
    cr_rows: int = 1024
    cr_columns: int = 832
    us_frames: int = 10
    us_rows: int = 480
    us_columns: int = 640
    burn_text: bool = True

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> DemoScale:
        """The scale ``options`` name (field names; the rest keep their defaults), ValueError for
        an unknown name or a value of the wrong kind: the CLI's ``--size`` ends up here."""
        unknown = set(options) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown demo size option(s): {', '.join(sorted(unknown))}")
        default = cls()

        def whole(name: str) -> int:
            value = options.get(name, getattr(default, name))
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be a whole number, got {value!r}")
            return value

        burn_text = options.get("burn_text", default.burn_text)
        if not isinstance(burn_text, bool):
            raise ValueError(f"burn_text must be True or False, got {burn_text!r}")
        return cls(ct_slices=whole("ct_slices"), ct_matrix=whole("ct_matrix"), mr_slices=whole("mr_slices"),
                   mr_matrix=whole("mr_matrix"), cr_rows=whole("cr_rows"), cr_columns=whole("cr_columns"),
                   us_frames=whole("us_frames"), us_rows=whole("us_rows"), us_columns=whole("us_columns"),
                   burn_text=burn_text)

    def __post_init__(self) -> None:
        for name in ("ct_slices", "mr_slices", "us_frames"):
            if not 2 <= getattr(self, name) <= 2000:
                raise ValueError(f"{name} must be between 2 and 2000")
        for name in ("ct_matrix", "mr_matrix", "cr_rows", "cr_columns", "us_rows", "us_columns"):
            if not 128 <= getattr(self, name) <= 4096:
                raise ValueError(f"{name} must be between 128 and 4096 pixels")


#: Tiny images, same objects and syntaxes: for other tests that need "a" demo quickly (< 1 s).
SMALL_SCALE: dict[str, int] = dict(ct_slices=3, ct_matrix=128, mr_slices=2, mr_matrix=128,
                                   cr_rows=256, cr_columns=200, us_frames=2, us_rows=200,
                                   us_columns=256)


def _font_px(columns: int) -> int:
    return max(9, columns // 36)


class _Builder:
    """Holds the output folder, seed and manifest entries while the studies are written."""

    def __init__(self, outdir: Path, seed: int, scale: DemoScale) -> None:
        self.outdir = outdir
        self.seed = seed
        self.scale = scale
        self.files: list[DemoFile] = []

    # -- shared helpers -------------------------------------------------------------------
    def sop(self, series: cast.Series, number: int) -> UID:
        return demo_uid(self.seed, "sop", series.study.index, series.number, number)

    def path(self, series: cast.Series, number: int) -> Path:
        desc = re.sub(r"[^A-Za-z0-9]+", "_", series.description).strip("_")
        study = series.study
        return (self.outdir / study.patient.patient_id / f"{study.da}_{study.accession}"
                / f"{series.number:02d}_{series.modality}_{desc}" / f"IM{number:04d}.dcm")

    def text_items(self, series: cast.Series, technique: str, number: int) -> list[TextItem]:
        study = series.study
        p = study.patient
        t = study.time
        return [
            TextItem("PatientName", p.display_name, "tl"),
            TextItem("PatientID", f"ID: {p.patient_id}", "tl"),
            TextItem("PatientBirthDate", f"DOB: {pretty_date(p.birth_date)} {p.sex}", "tl"),
            TextItem("InstitutionName", study.institution, "tr"),
            TextItem("StudyDate", f"{pretty_date(study.date)} {t[:2]}:{t[2:4]}:{t[4:6]}", "tr"),
            TextItem("AccessionNumber", f"Acc: {study.accession}", "tr"),
            TextItem("technique", technique, "bl", phi=False),
            TextItem("position", f"Se: {series.number}  Im: {number}", "br", phi=False),
        ]

    def burn(self, image: np.ndarray, items: list[TextItem],
             ink: float | tuple[int, int, int]) -> tuple[np.ndarray, list[BurnedText]]:
        """Blend text into one image (float result) unless the scale says not to."""
        if not self.scale.burn_text:
            return image.astype(np.float32), []
        rows, columns = image.shape[:2]
        alpha, boxes = text_mask(rows, columns, items, _font_px(columns))
        return blend(image, alpha, ink), boxes

    def save(self, ds: Dataset, series: cast.Series, number: int, ts: UID,
             pixels: np.ndarray | None, boxes: list[BurnedText]) -> None:
        if pixels is None:
            writer.finish(ds, ts)
        else:
            # The header tells the truth about the pixels: an image with no text burned in
            # (``--no-text``) says NO, so tools that trust the flag hold back only what needs it.
            if "BurnedInAnnotation" in ds and not boxes:
                ds.BurnedInAnnotation = "NO"
            writer.set_pixels(ds, pixels, ts)
        path = self.path(series, number)
        size, digest = writer.write(ds, path)
        has_pixels = "PixelData" in ds
        self.files.append(DemoFile(
            path=path.relative_to(self.outdir).as_posix(),
            patient_name=str(ds.PatientName),
            patient_id=ds.PatientID,
            study_instance_uid=ds.StudyInstanceUID,
            series_instance_uid=ds.SeriesInstanceUID,
            sop_instance_uid=ds.SOPInstanceUID,
            sop_class_uid=ds.SOPClassUID,
            modality=ds.Modality,
            transfer_syntax_uid=ts,
            size=size,
            sha256=digest,
            rows=ds.Rows if has_pixels else None,
            columns=ds.Columns if has_pixels else None,
            frames=int(ds.get("NumberOfFrames", 1)) if has_pixels else None,
            photometric_interpretation=ds.PhotometricInterpretation if has_pixels else None,
            burned_in=[BurnedBox(b.field, b.text, b.phi, [b.rect.left, b.rect.top, b.rect.right, b.rect.bottom])
                       for b in boxes],
        ))

    # -- modalities ----------------------------------------------------------------------
    def ct_series(self, series: cast.Series, slices: int, ts: UID,
                  z0: float, thickness: float) -> list[nonimage.SliceRef]:
        n = self.scale.ct_matrix
        spacing = 358.0 / n
        origin = -(n - 1) / 2 * spacing
        axis = origin + np.arange(n, dtype=np.float32) * spacing
        x, y = np.meshgrid(axis, axis)
        fov = np.hypot(x, y) <= 250.0
        refs = []
        for i in range(slices):
            number = i + 1
            z = z0 + i * thickness
            fraction = i / max(1, slices - 1)
            hu = phantoms.ct_hu(x, y, fraction, rng(self.seed, "ct", series.uid, i))
            stored = np.where(fov, hu + 1024.0, -2000.0)
            items = self.text_items(series, "120 kV  220 mAs  B30f", number)
            burned, boxes = self.burn(stored, items, 3071.0)
            arr = np.clip(np.rint(burned), -2000, 3071).astype(np.int16)
            sop = self.sop(series, number)
            ds = iods.ct_dataset(series, sop, number, n, n, spacing, thickness, [origin, origin, z])
            self.save(ds, series, number, ts, arr, boxes)
            refs.append(nonimage.SliceRef(sop, z, phantoms.chest_structures(fraction)))
        return refs

    def mr_series(self, series: cast.Series, slices: int, ts: UID, weighting: str) -> None:
        n = self.scale.mr_matrix
        spacing = 230.0 / n
        origin = -(n - 1) / 2 * spacing
        thickness = 5.0
        for i in range(slices):
            number = i + 1
            fraction = i / max(1, slices - 1)
            signal = phantoms.mr_signal(n, n, fraction, weighting, rng(self.seed, "mr", series.uid, i))
            tech = {"T1": "TR 550 TE 12", "T2": "TR 4000 TE 95", "FLAIR": "TR 9000 TI 2500"}[weighting]
            burned, boxes = self.burn(signal, self.text_items(series, tech, number), 4095.0)
            arr = np.clip(np.rint(burned), 0, 4095).astype(np.uint16)
            z = -40.0 + i * thickness * 1.2
            ds = iods.mr_dataset(series, self.sop(series, number), number, n, n, spacing,
                                 thickness, [origin, origin, z], weighting)
            self.save(ds, series, number, ts, arr, boxes)

    def cr_image(self, series: cast.Series, ts: UID, view: str) -> None:
        rows, columns = self.scale.cr_rows, self.scale.cr_columns
        bright = phantoms.cr_brightness(rows, columns, rng(self.seed, "cr", series.uid))
        stored = (1.0 - bright) * 4095.0  # MONOCHROME1: low values display white
        items = self.text_items(series, f"125 kV  8 mAs  {view}", 1)
        burned, boxes = self.burn(stored, items, 0.0)  # ink 0 = white on MONOCHROME1
        arr = np.clip(np.rint(burned), 0, 4095).astype(np.uint16)
        ds = iods.cr_dataset(series, self.sop(series, 1), 1, rows, columns, 0.4, view)
        self.save(ds, series, 1, ts, arr, boxes)

    def us_frames(self, series: cast.Series) -> tuple[np.ndarray, list[BurnedText], int]:
        """The cine frames, their text boxes and the height of the console band above the sector."""
        rows, columns, frames = self.scale.us_rows, self.scale.us_columns, self.scale.us_frames
        top = top_band_height(3, _font_px(columns)) + 8  # the sector starts below the console text
        out = np.empty((frames, rows, columns, 3), dtype=np.uint8)
        boxes: list[BurnedText] = []
        items = self.text_items(series, "C5-1  ABD  MI 1.1  TIS 0.4", 1)
        items = [i for i in items if i.field != "position"]
        for f in range(frames):
            frame = phantoms.us_frame(rows, columns, f / frames, rng(self.seed, "us", series.study.uid, f), top)
            burned, boxes = self.burn(frame, items, (255, 220, 40))
            out[f] = np.clip(np.rint(burned), 0, 255).astype(np.uint8)
        return out, boxes, top

    def generate(self) -> None:
        s, seed = self.scale, self.seed
        p1, p2, p3 = cast.make_patients(seed, 3)

        # Patient 1: CT with RT objects, then a follow-up CT in RLE.
        st = cast.make_study(seed, p1, 0, 0, "CT CHEST W/O CONTRAST")
        ct = cast.make_series(seed, st, 1, "CT", "Thorax 5mm B30f", cast.CT_SCANNER)
        thickness = 5.0
        z0 = -float(s.ct_slices - 1) * thickness
        refs = self.ct_series(ct, s.ct_slices, ExplicitVRLittleEndian, z0, thickness)
        rtss = cast.make_series(seed, st, 2, "RTSTRUCT", "Structure Set", cast.TPS, ct.frame_of_reference)
        ds = nonimage.rt_struct_dataset(rtss, self.sop(rtss, 1), ct, refs)
        self.save(ds, rtss, 1, ImplicitVRLittleEndian, None, [])
        self.rt_dose(st, ct, refs, thickness)

        st = cast.make_study(seed, p1, 1, 91, "CT CHEST FOLLOW-UP")
        ct2 = cast.make_series(seed, st, 1, "CT", "Thorax 5mm follow-up", cast.CT_SCANNER)
        half = max(2, s.ct_slices // 2)
        self.ct_series(ct2, half, RLELossless, -float(half - 1) * thickness, thickness)

        # Patient 2: MR brain in three syntaxes, then a chest X-ray with a PDF report.
        st = cast.make_study(seed, p2, 2, 14, "MR BRAIN W/O")
        self.mr_series(cast.make_series(seed, st, 1, "MR", "AX T1 SE", cast.MR_SCANNER),
                       s.mr_slices, ImplicitVRLittleEndian, "T1")
        self.mr_series(cast.make_series(seed, st, 2, "MR", "AX T2 TSE", cast.MR_SCANNER),
                       max(2, s.mr_slices // 2), ExplicitVRBigEndian, "T2")
        self.mr_series(cast.make_series(seed, st, 3, "MR", "AX FLAIR", cast.MR_SCANNER),
                       max(2, s.mr_slices // 2), JPEGLSLossless, "FLAIR")

        st = cast.make_study(seed, p2, 3, 20, "XR CHEST 2 VIEWS")
        self.cr_image(cast.make_series(seed, st, 1, "CR", "Chest PA", cast.CR_READER), JPEG2000Lossless, "PA")
        self.cr_image(cast.make_series(seed, st, 2, "CR", "Chest LAT", cast.CR_READER), ExplicitVRLittleEndian, "LL")
        doc = cast.make_series(seed, st, 3, "DOC", "Radiology report", cast.REPORTING)
        title = "Chest radiograph report"
        pdf = nonimage.pdf_bytes(st, title, [
            f"Patient: {p2.display_name}   ID: {p2.patient_id}   DOB: {pretty_date(p2.birth_date)}",
            f"Exam: {st.description}   Date: {pretty_date(st.date)}   Accession: {st.accession}",
            f"Referring: {st.referring.replace('^', ' ').strip()}",
            "Findings: lungs clear, no effusion, heart size normal.",
            "Impression: no acute cardiopulmonary process.",
        ])
        self.save(nonimage.pdf_dataset(doc, self.sop(doc, 1), title, pdf), doc, 1,
                  ExplicitVRLittleEndian, None, [])

        # Patient 3: US cine uncompressed and as JPEG Baseline, plus an SR report.
        st = cast.make_study(seed, p3, 4, 33, "US ABDOMEN")
        cines = [(cast.make_series(seed, st, 1, "US", "Liver cine", cast.US_SCANNER), ExplicitVRLittleEndian),
                 (cast.make_series(seed, st, 2, "US", "Liver cine JPEG", cast.US_SCANNER), JPEGBaseline8Bit)]
        # One cine, stored twice: uncompressed RGB and JPEG Baseline (YBR_FULL_422).
        cine, boxes, top = self.us_frames(cines[0][0])
        evidence = []
        for us, ts in cines:
            ds = iods.us_dataset(us, self.sop(us, 1), 1, s.us_rows, s.us_columns, s.us_frames, top)
            self.save(ds, us, 1, ts, cine, boxes)
            evidence.append((us, iods.US_MULTIFRAME, ds.SOPInstanceUID))
        sr = cast.make_series(seed, st, 3, "SR", "Ultrasound report", cast.REPORTING)
        ds = nonimage.sr_dataset(
            sr, self.sop(sr, 1), evidence,
            [f"Liver of normal size in {p3.display_name} ({p3.patient_id}).",
             "Simple cyst 3 cm in segment VI, unchanged.", "Normal portal venous flow."],
            "Benign hepatic cyst; no follow-up needed.")
        self.save(ds, sr, 1, ExplicitVRLittleEndian, None, [])

    def rt_dose(self, study: cast.Study, ct: cast.Series, refs: list[nonimage.SliceRef],
                thickness: float) -> None:
        series = cast.make_series(self.seed, study, 3, "RTDOSE", "Plan dose", cast.TPS, ct.frame_of_reference)
        spacing, rows, columns = 5.0, 56, 64
        x0, y0 = -160.0, -130.0
        grid = refs[::2]
        xs = x0 + np.arange(columns, dtype=np.float32) * spacing
        ys = y0 + np.arange(rows, dtype=np.float32) * spacing
        x, y = np.meshgrid(xs, ys)
        z_centre = (refs[0].z + refs[-1].z) / 2
        scaling = 1e-5
        dose = np.stack([phantoms.dose_gy(x, y, r.z, z_centre) for r in grid])
        arr = np.rint(dose / scaling).astype(np.uint32)
        ds = nonimage.rt_dose_dataset(series, self.sop(series, 1), rows, columns, len(grid), spacing,
                                      2 * thickness, [x0, y0, grid[0].z], scaling,
                                      demo_uid(self.seed, "rtplan", study.index))
        self.save(ds, series, 1, ExplicitVRLittleEndian, arr, [])


def generate_demo(outdir: Path | str, seed: int = 0, **scale: object) -> DemoManifest:
    """Write the demo data set into ``outdir`` (absent or empty) and return its manifest.

    ``scale`` takes ``DemoScale`` fields (``ct_slices=200`` for benchmarks, ``burn_text=False``
    for a text-free twin with identical anatomy). Raises ``DemoError`` for a non-empty folder
    and ``ValueError`` for bad scale values.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"the seed must be a whole number ≥ 0, got {seed!r}")
    sizes = DemoScale.from_options(scale)
    out = Path(outdir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DemoError(f"{out} already exists and is not an empty folder")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        builder = _Builder(out, seed, sizes)
        builder.generate()
        manifest = DemoManifest(version=DEMO_VERSION, seed=seed, scale=asdict(sizes),
                                files=builder.files)
        manifest.write(out)
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    return manifest
