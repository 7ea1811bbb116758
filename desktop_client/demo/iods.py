"""Header modules of each demo object (Patient, Study, Series, Equipment, modality specifics).

Each ``*_dataset`` function returns a dataset with everything except Pixel Data / file meta, so
the generator decides the transfer syntax separately from the content.
"""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID

from desktop_client.demo.cast import Series

CT_IMAGE = UID("1.2.840.10008.5.1.4.1.1.2")
MR_IMAGE = UID("1.2.840.10008.5.1.4.1.1.4")
CR_IMAGE = UID("1.2.840.10008.5.1.4.1.1.1")
US_MULTIFRAME = UID("1.2.840.10008.5.1.4.1.1.3.1")
RT_DOSE = UID("1.2.840.10008.5.1.4.1.1.481.2")
RT_STRUCT = UID("1.2.840.10008.5.1.4.1.1.481.3")
BASIC_TEXT_SR = UID("1.2.840.10008.5.1.4.1.1.88.11")
ENCAPSULATED_PDF = UID("1.2.840.10008.5.1.4.1.1.104.1")


def code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def common(series: Series, sop_class: UID, sop_instance: UID, instance_number: int) -> Dataset:
    """SOP Common, Patient, General Study, General Series and General Equipment modules."""
    study = series.study
    patient = study.patient
    eq = series.equipment
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.InstanceCreationDate = study.da
    ds.InstanceCreationTime = series.time
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_instance
    ds.StudyDate = study.da
    ds.SeriesDate = study.da
    ds.ContentDate = study.da
    ds.StudyTime = study.time
    ds.SeriesTime = series.time
    ds.ContentTime = series.time
    ds.AccessionNumber = study.accession
    ds.Modality = series.modality
    ds.Manufacturer = eq.manufacturer
    ds.InstitutionName = study.institution
    ds.InstitutionAddress = "1 Example Road, Sampletown"
    ds.ReferringPhysicianName = study.referring
    ds.StationName = eq.station
    ds.StudyDescription = study.description
    ds.SeriesDescription = series.description
    if series.modality not in ("SR", "DOC"):  # not in those IODs
        ds.OperatorsName = "TECH^ALEX"
    ds.ManufacturerModelName = eq.model
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = patient.birth_date.strftime("%Y%m%d")
    ds.PatientSex = patient.sex
    age = (study.date - patient.birth_date).days // 365
    ds.PatientAge = f"{age:03d}Y"
    ds.DeviceSerialNumber = eq.serial
    ds.SoftwareVersions = eq.software
    ds.StudyInstanceUID = study.uid
    ds.SeriesInstanceUID = series.uid
    ds.StudyID = study.study_id
    ds.SeriesNumber = series.number
    ds.InstanceNumber = instance_number
    return ds


def image_pixel(ds: Dataset, rows: int, columns: int, bits_stored: int, signed: bool,
                photometric: str = "MONOCHROME2", samples: int = 1, bits_allocated: int = 16) -> None:
    """Image Pixel module attributes (the Pixel Data itself is set by the writer)."""
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    if samples > 1:
        ds.PlanarConfiguration = 0
    ds.Rows = rows
    ds.Columns = columns
    ds.BitsAllocated = bits_allocated
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0


def ct_dataset(series: Series, sop: UID, number: int, rows: int, columns: int,
               spacing: float, thickness: float, position: list[float]) -> Dataset:
    ds = common(series, CT_IMAGE, sop, number)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.AcquisitionDate = series.study.da
    ds.AcquisitionTime = series.time
    ds.BodyPartExamined = "CHEST"
    ds.ScanOptions = "HELICAL MODE"
    ds.SliceThickness = f"{thickness:g}"
    ds.KVP = "120"
    ds.DataCollectionDiameter = "500"
    ds.ReconstructionDiameter = f"{spacing * columns:.1f}"
    ds.GantryDetectorTilt = "0"
    ds.TableHeight = "160"
    ds.ExposureTime = "500"
    ds.XRayTubeCurrent = "220"
    ds.ConvolutionKernel = "B30f"
    ds.PatientPosition = "HFS"
    ds.AcquisitionNumber = 1
    _plane(ds, series, spacing, position)
    ds.SliceLocation = f"{position[2]:g}"
    image_pixel(ds, rows, columns, 16, signed=True)
    ds.BurnedInAnnotation = "YES"
    ds.PixelPaddingValue = -2000
    ds.WindowCenter = ["40", "-600"]
    ds.WindowWidth = ["400", "1500"]
    ds.WindowCenterWidthExplanation = ["MEDIASTINUM", "LUNG"]
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    return ds


def mr_dataset(series: Series, sop: UID, number: int, rows: int, columns: int, spacing: float,
               thickness: float, position: list[float], weighting: str) -> Dataset:
    ds = common(series, MR_IMAGE, sop, number)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
    ds.AcquisitionDate = series.study.da
    ds.AcquisitionTime = series.time
    ds.BodyPartExamined = "HEAD"
    ds.ScanningSequence = "SE" if weighting != "FLAIR" else ["SE", "IR"]
    ds.SequenceVariant = ["SK", "SP"]
    ds.ScanOptions = "PFP"
    ds.MRAcquisitionType = "2D"
    tr_te = {"T1": ("550", "12"), "T2": ("4000", "95"), "FLAIR": ("9000", "85")}[weighting]
    ds.RepetitionTime, ds.EchoTime = tr_te
    if weighting == "FLAIR":
        ds.InversionTime = "2500"
    ds.EchoTrainLength = 1 if weighting == "T1" else 15
    ds.MagneticFieldStrength = "1.5"
    ds.ImagingFrequency = "63.68"
    ds.ImagedNucleus = "1H"
    ds.SliceThickness = f"{thickness:g}"
    ds.SpacingBetweenSlices = f"{thickness * 1.2:g}"
    ds.ProtocolName = f"AX {weighting}"
    ds.PatientPosition = "HFS"
    ds.AcquisitionNumber = 1
    _plane(ds, series, spacing, position)
    ds.SliceLocation = f"{position[2]:g}"
    image_pixel(ds, rows, columns, 12, signed=False)
    ds.BurnedInAnnotation = "YES"
    ds.WindowCenter = "1000"
    ds.WindowWidth = "2000"
    return ds


def cr_dataset(series: Series, sop: UID, number: int, rows: int, columns: int, spacing: float,
               view: str) -> Dataset:
    ds = common(series, CR_IMAGE, sop, number)
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.AcquisitionDate = series.study.da
    ds.AcquisitionTime = series.time
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = view
    ds.PatientOrientation = ["L", "F"] if view == "PA" else ["P", "F"]
    ds.KVP = "125"
    ds.ExposureTime = "8"
    ds.XRayTubeCurrent = "320"
    ds.DistanceSourceToDetector = "1800"
    ds.ImagerPixelSpacing = [f"{spacing:g}", f"{spacing:g}"]
    ds.PixelSpacing = [f"{spacing:g}", f"{spacing:g}"]
    ds.PlateType = "ST-VI"
    image_pixel(ds, rows, columns, 12, signed=False, photometric="MONOCHROME1")
    ds.BurnedInAnnotation = "YES"
    ds.WindowCenter = "2048"
    ds.WindowWidth = "4096"
    return ds


def us_dataset(series: Series, sop: UID, number: int, rows: int, columns: int, frames: int,
               top: int) -> Dataset:
    ds = common(series, US_MULTIFRAME, sop, number)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL", "0001"]
    ds.AcquisitionDateTime = series.study.da + series.time
    ds.BodyPartExamined = "ABDOMEN"
    ds.PatientOrientation = ""  # Type 2C: present, unknown for a free-hand probe
    ds.TransducerData = "C5-1"
    ds.NumberOfFrames = frames
    ds.FrameTime = "33.3"
    ds.FrameIncrementPointer = 0x00181063  # Frame Time
    ds.CineRate = 30
    ds.RecommendedDisplayFrameRate = 30
    image_pixel(ds, rows, columns, 8, signed=False, photometric="RGB", samples=3, bits_allocated=8)
    ds.BurnedInAnnotation = "YES"
    ds.LossyImageCompression = "00"
    region = Dataset()
    region.RegionSpatialFormat = 1  # 2D
    region.RegionDataType = 1  # tissue
    region.RegionFlags = 0
    region.RegionLocationMinX0 = 0
    region.RegionLocationMinY0 = top
    region.RegionLocationMaxX1 = columns - 1
    region.RegionLocationMaxY1 = rows - 1
    region.PhysicalUnitsXDirection = 3  # cm
    region.PhysicalUnitsYDirection = 3
    region.PhysicalDeltaX = 0.03
    region.PhysicalDeltaY = 0.03
    ds.SequenceOfUltrasoundRegions = Sequence([region])
    return ds


def _plane(ds: Dataset, series: Series, spacing: float, position: list[float]) -> None:
    ds.FrameOfReferenceUID = series.frame_of_reference
    ds.PositionReferenceIndicator = ""
    ds.ImagePositionPatient = [f"{v:.4g}" for v in position]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.PixelSpacing = [f"{spacing:.6g}", f"{spacing:.6g}"]
