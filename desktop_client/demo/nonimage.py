"""Objects that are not images to redact: RT Dose, RT Structure Set, SR and encapsulated PDF.

They still carry PHI (headers, SR text, the PDF's own text) and RT Dose even has Pixel Data, which
is exactly why the app must recognise them by SOP class rather than by "has Rows/Columns".
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from fpdf import FPDF
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID

from desktop_client.demo.cast import Series, Study
from desktop_client.demo.iods import (
    BASIC_TEXT_SR,
    CT_IMAGE,
    ENCAPSULATED_PDF,
    RT_DOSE,
    RT_STRUCT,
    code,
    common,
    image_pixel,
)
from desktop_client.demo.phantoms import Ellipse


@dataclass(frozen=True, slots=True)
class SliceRef:
    """A CT slice an RT object refers to."""

    sop_instance_uid: UID
    z: float
    structures: dict[str, Ellipse]


def rt_dose_dataset(series: Series, sop: UID, rows: int, columns: int, frames: int,
                    spacing: float, frame_step: float, position: list[float],
                    scaling: float, plan_uid: UID) -> Dataset:
    """RT Dose header for a ``frames × rows × columns`` uint32 dose grid."""
    ds = common(series, RT_DOSE, sop, 1)
    ds.FrameOfReferenceUID = series.frame_of_reference
    ds.PositionReferenceIndicator = ""
    image_pixel(ds, rows, columns, 32, signed=False, bits_allocated=32)
    ds.NumberOfFrames = frames
    ds.FrameIncrementPointer = 0x3004000C  # Grid Frame Offset Vector
    ds.ImagePositionPatient = [f"{v:.4g}" for v in position]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.PixelSpacing = [f"{spacing:g}", f"{spacing:g}"]
    ds.SliceThickness = f"{frame_step:g}"
    ds.GridFrameOffsetVector = [f"{i * frame_step:g}" for i in range(frames)]
    ds.DoseUnits = "GY"
    ds.DoseType = "PHYSICAL"
    ds.DoseSummationType = "PLAN"
    ds.DoseComment = "Demo plan dose"
    ds.DoseGridScaling = f"{scaling:.10g}"
    ref = Dataset()
    ref.ReferencedSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.481.5")  # RT Plan Storage
    ref.ReferencedSOPInstanceUID = plan_uid
    ds.ReferencedRTPlanSequence = Sequence([ref])
    return ds


_ROI_COLOURS = {"BODY": (0, 255, 0), "LUNG_R": (0, 128, 255), "LUNG_L": (0, 200, 255),
                "HEART": (255, 0, 0), "SPINE": (255, 255, 0)}


def rt_struct_dataset(series: Series, sop: UID, ct_series: Series, slices: list[SliceRef]) -> Dataset:
    """RT Structure Set with one closed-planar contour per ROI per referenced CT slice."""
    ds = common(series, RT_STRUCT, sop, 1)
    del ds.ContentDate, ds.ContentTime  # the RT Structure Set IOD has its own date/time
    ds.FrameOfReferenceUID = ct_series.frame_of_reference
    ds.PositionReferenceIndicator = ""
    ds.StructureSetLabel = "DEMO_RTSS"
    ds.StructureSetName = "Chest OARs"
    ds.StructureSetDate = series.study.da
    ds.StructureSetTime = series.time

    def contour_image(ref: SliceRef) -> Dataset:
        item = Dataset()
        item.ReferencedSOPClassUID = CT_IMAGE
        item.ReferencedSOPInstanceUID = ref.sop_instance_uid
        return item

    ref_series = Dataset()
    ref_series.SeriesInstanceUID = ct_series.uid
    ref_series.ContourImageSequence = Sequence([contour_image(s) for s in slices])
    ref_study = Dataset()
    ref_study.ReferencedSOPClassUID = UID("1.2.840.10008.3.1.2.3.1")  # Detached Study Mgmt (RT convention)
    ref_study.ReferencedSOPInstanceUID = ct_series.study.uid
    ref_study.RTReferencedSeriesSequence = Sequence([ref_series])
    frame = Dataset()
    frame.FrameOfReferenceUID = ct_series.frame_of_reference
    frame.RTReferencedStudySequence = Sequence([ref_study])
    ds.ReferencedFrameOfReferenceSequence = Sequence([frame])

    rois, contours, observations = [], [], []
    for number, (name, colour) in enumerate(_ROI_COLOURS.items(), start=1):
        roi = Dataset()
        roi.ROINumber = number
        roi.ReferencedFrameOfReferenceUID = ct_series.frame_of_reference
        roi.ROIName = name
        roi.ROIGenerationAlgorithm = "MANUAL"
        rois.append(roi)
        per_slice = []
        for ref in slices:
            points = ref.structures[name].contour(24)
            item = Dataset()
            item.ContourImageSequence = Sequence([contour_image(ref)])
            item.ContourGeometricType = "CLOSED_PLANAR"
            item.NumberOfContourPoints = len(points)
            item.ContourData = [f"{v:.2f}" for x, y in points for v in (x, y, ref.z)]
            per_slice.append(item)
        roi_contour = Dataset()
        roi_contour.ROIDisplayColor = list(colour)
        roi_contour.ContourSequence = Sequence(per_slice)
        roi_contour.ReferencedROINumber = number
        contours.append(roi_contour)
        obs = Dataset()
        obs.ObservationNumber = number
        obs.ReferencedROINumber = number
        obs.RTROIInterpretedType = "EXTERNAL" if name == "BODY" else "ORGAN"
        obs.ROIInterpreter = ""
        observations.append(obs)
    ds.StructureSetROISequence = Sequence(rois)
    ds.ROIContourSequence = Sequence(contours)
    ds.RTROIObservationsSequence = Sequence(observations)
    ds.ApprovalStatus = "UNAPPROVED"
    return ds


def sr_dataset(series: Series, sop: UID, evidence: list[tuple[Series, UID, UID]],
               findings: list[str], conclusion: str) -> Dataset:
    """Basic Text SR: a report container with findings and a conclusion (PHI in free text)."""
    ds = common(series, BASIC_TEXT_SR, sop, 1)
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([code("18748-4", "LN", "Diagnostic Imaging Report")])
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "VERIFIED"
    observer = Dataset()
    observer.VerifyingObserverName = series.study.referring
    observer.VerifyingObserverIdentificationCodeSequence = Sequence()
    observer.VerifyingOrganization = series.study.institution
    observer.VerificationDateTime = series.study.da + series.time
    ds.VerifyingObserverSequence = Sequence([observer])
    ds.ReferencedPerformedProcedureStepSequence = Sequence()
    ds.PerformedProcedureCodeSequence = Sequence()
    by_series: dict[UID, tuple[Series, list[Dataset]]] = {}
    for ev_series, sop_class, sop_instance in evidence:
        item = Dataset()
        item.ReferencedSOPClassUID = sop_class
        item.ReferencedSOPInstanceUID = sop_instance
        by_series.setdefault(ev_series.uid, (ev_series, []))[1].append(item)
    studies: dict[UID, list[Dataset]] = {}
    for ev_series, items in by_series.values():
        s = Dataset()
        s.SeriesInstanceUID = ev_series.uid
        s.ReferencedSOPSequence = Sequence(items)
        studies.setdefault(ev_series.study.uid, []).append(s)
    evidence_items = []
    for study_uid, series_items in studies.items():
        st = Dataset()
        st.StudyInstanceUID = study_uid
        st.ReferencedSeriesSequence = Sequence(series_items)
        evidence_items.append(st)
    ds.CurrentRequestedProcedureEvidenceSequence = Sequence(evidence_items)

    def text_item(value: str, concept: Dataset) -> Dataset:
        item = Dataset()
        item.RelationshipType = "CONTAINS"
        item.ValueType = "TEXT"
        item.ConceptNameCodeSequence = Sequence([concept])
        item.TextValue = value
        return item

    def container(concept: Dataset, children: list[Dataset]) -> Dataset:
        item = Dataset()
        item.RelationshipType = "CONTAINS"
        item.ValueType = "CONTAINER"
        item.ConceptNameCodeSequence = Sequence([concept])
        item.ContinuityOfContent = "SEPARATE"
        item.ContentSequence = Sequence(children)
        return item

    ds.ContentSequence = Sequence([
        container(code("121070", "DCM", "Findings"),
                  [text_item(f, code("121071", "DCM", "Finding")) for f in findings]),
        container(code("121076", "DCM", "Conclusions"),
                  [text_item(conclusion, code("121077", "DCM", "Conclusion"))]),
    ])
    return ds


def pdf_bytes(study: Study, title: str, lines: list[str]) -> bytes:
    """A small, valid, deterministic PDF report (fpdf2 with a fixed creation date)."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(_dt.datetime(study.date.year, study.date.month, study.date.day,
                                       tzinfo=_dt.timezone.utc))
    pdf.set_producer("XNAT desktop demo")
    pdf.set_title(title)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=11)
    for line in lines:
        pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def pdf_dataset(series: Series, sop: UID, title: str, document: bytes) -> Dataset:
    """Encapsulated PDF (Encapsulated Document + SC Equipment modules)."""
    ds = common(series, ENCAPSULATED_PDF, sop, 1)
    ds.ConversionType = "WSD"
    ds.AcquisitionDateTime = series.study.da + series.time
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = title
    ds.ConceptNameCodeSequence = Sequence([code("18748-4", "LN", "Diagnostic Imaging Report")])
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocumentLength = len(document)
    ds.EncapsulatedDocument = document + (b"\0" if len(document) % 2 else b"")
    return ds
