"""The receipt names the pixels that really changed when the engine widened a box (issue 15).

Native YBR_FULL_422 stores one chroma pair per two pixels, so a box with an odd edge is widened
to whole pairs (as XNAT's alterPixels does). The receipt must say so, not only the box asked for.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import generate_uid

from desktop_client.core.geometry import PixelEdit, Rect
from desktop_client.transfer import DestinationSpec, ScanChoice, State, TransferQueue, TransferSpec
from tests.dicomfactory import image, write
from tests.helpers import session_of

ROWS, COLS = 8, 10


def _ybr422_study(folder: Path, files: int = 2) -> Path:
    folder.mkdir(parents=True)
    study, series = generate_uid(), generate_uid()
    for n in range(1, files + 1):
        # Y1 Y2 Cb Cr per pixel pair: a plain mid-grey image with no chroma.
        ds = image(modality="OT", study_uid=study, series_uid=series, sop_uid=generate_uid(), series_number=1,
                   instance_number=n, study_time="101500", rows=ROWS, columns=COLS, bits_allocated=8,
                   bits_stored=8, photometric="YBR_FULL_422",
                   pixel_bytes=bytes([100, 100, 128, 128]) * (ROWS * COLS // 2),
                   extra={"BurnedInAnnotation": "NO"})
        write(folder / f"{n}.dcm", ds)
    return folder


def test_widened_boxes_are_in_the_json_and_pdf_receipt(queue: TransferQueue, tmp_path: Path) -> None:
    session = session_of(_ybr422_study(tmp_path / "src"))
    uid = session.sorted_scans()[0].series_instance_uid
    asked = Rect(1, 2, 5, 4)  # odd left and right edges: pairs (0,1) and (4,5) are painted whole
    spec = TransferSpec(session=session, destination=DestinationSpec.parse(str(tmp_path / "archive")),
                        project="DEMO", subject="SUBJ01", session_label="SUBJ01_OT1", scripts=[],
                        receipt_dir=str(tmp_path / "receipts"),
                        choices={uid: ScanChoice(uid, (PixelEdit(asked),), text_decision="redacted")})
    transfer_id = queue.submit(spec)
    assert queue.wait(transfer_id, timeout=120) is State.DONE, queue.status(transfer_id).error
    json_path, pdf_path = queue.receipt_paths(transfer_id)
    scan = json.loads(json_path.read_text())["scans"][0]
    assert scan["rectangles"] == ["1,2,5,4"]
    assert scan["painted_rectangles"] == ["0,2,6,4"]
    from pypdf import PdfReader

    pdf = "".join("".join(p.extract_text().split()) for p in PdfReader(pdf_path).pages)
    assert "Paintedas(widenedtowholechromapixelpairs):0,2,6,4" in pdf
    # ... and that is exactly what changed in the archived pixels: luma 0 inside, 100 outside.
    out = next((tmp_path / "archive").glob("DEMO/SUBJ01/SUBJ01_OT1/SCANS/*/DICOM/*.dcm"))
    pairs = np.frombuffer(pydicom.dcmread(out).PixelData, np.uint8).reshape(ROWS, COLS // 2, 4)
    changed = pairs[..., 0] != 100
    assert changed[2:4, 0:3].all() and changed.sum() == 2 * 3


def test_boxes_painted_as_asked_add_nothing(queue: TransferQueue, tmp_path: Path) -> None:
    session = session_of(_ybr422_study(tmp_path / "src", files=1))
    uid = session.sorted_scans()[0].series_instance_uid
    spec = TransferSpec(session=session, destination=DestinationSpec.parse(str(tmp_path / "archive")),
                        project="DEMO", subject="SUBJ01", session_label="SUBJ01_OT1", scripts=[],
                        receipt_dir=str(tmp_path / "receipts"),
                        choices={uid: ScanChoice(uid, (PixelEdit(Rect(2, 2, 6, 4)),),
                                                 text_decision="redacted")})
    transfer_id = queue.submit(spec)
    assert queue.wait(transfer_id, timeout=120) is State.DONE, queue.status(transfer_id).error
    scan = json.loads(queue.receipt_paths(transfer_id)[0].read_text())["scans"][0]
    assert scan["painted_rectangles"] == []
