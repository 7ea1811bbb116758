"""The demo studies (seven transfer syntaxes, burned-in PHI) through the whole pipeline.

Every burned-in PHI box of the generator's manifest becomes a redaction rectangle; the sessions go
to a real Orthanc by C-STORE (negotiating each syntax) and STOW-RS; what Orthanc holds is read
back and decoded here: anonymized names, and no text left inside any box.
"""

from __future__ import annotations

import io
from collections import defaultdict
from pathlib import Path

import numpy as np
import pydicom
import pytest

from desktop_client.core.geometry import PixelEdit, Rect
from desktop_client.demo import DemoManifest
from desktop_client.scanning import scan_paths
from desktop_client.transfer import (DestinationSpec, RetryPolicy, ScanChoice, ScriptSource,
                                     State, TransferQueue, TransferSpec)
from tests.destinations.orthanc import AET, PASSWORD, USER, Orthanc

pytestmark = pytest.mark.orthanc

SCRIPT = ScriptSource("project", 'version "6.3"\n(0010,0010) := "ANON"\n(0010,0020) := subject\n'
                                 "-(0010,0030)\n")
LOSSY = {"1.2.840.10008.1.2.4.50"}


def _boxes(manifest) -> dict[str, list[list[int]]]:
    per_series: dict[str, list[list[int]]] = defaultdict(list)
    for f in manifest.files:
        for b in f.burned_in:
            if b.phi and b.box not in per_series[f.series_instance_uid]:
                per_series[f.series_instance_uid].append(b.box)
    return per_series


@pytest.mark.parametrize("how", ["cstore", "stowrs"])
def test_demo_sessions_arrive_anonymized_and_redacted(orthanc: Orthanc, demo_dir: Path, tmp_path: Path,
                                                      how: str) -> None:
    orthanc.reset()
    folder, manifest = demo_dir, DemoManifest.load(demo_dir)
    boxes = _boxes(manifest)
    sessions = scan_paths([folder], use_cache=False).sessions
    dest = (DestinationSpec.parse(f"dicom://{AET}@127.0.0.1:{orthanc.dicom_port}")
            if how == "cstore" else
            DestinationSpec.parse(f"dicomweb+{orthanc.dicomweb}", username=USER))
    q = TransferQueue(tmp_path / "q.sqlite3", workers=1, credentials=lambda d: PASSWORD,
                      retry=RetryPolicy(2, 0.01))
    q.start()
    try:
        ids = []
        for n, session in enumerate(sessions):
            choices = {uid: ScanChoice(uid, tuple(PixelEdit(Rect(*b)) for b in boxes[uid]))
                       for uid in session.scans if boxes.get(uid)}
            ids.append(q.submit(TransferSpec(session=session, destination=dest, scripts=[SCRIPT],
                                             subject=f"SUBJ{n}", choices=choices)))
        for transfer_id in ids:
            assert q.wait(transfer_id, timeout=180) is State.DONE, q.status(transfer_id).error
    finally:
        q.close()
    by_sop = {f.sop_instance_uid: f for f in manifest.files}
    instances = orthanc.instances()
    assert len(instances) == len(manifest.files)
    for instance_id in instances:
        ds = pydicom.dcmread(io.BytesIO(orthanc.file(instance_id)))
        source = by_sop[ds.SOPInstanceUID]
        assert str(ds.PatientName) == "ANON" and "PatientBirthDate" not in ds
        phi = [b.box for b in source.burned_in if b.phi]
        if not phi:
            continue
        frames = ds.pixel_array
        if int(ds.get("NumberOfFrames", 1)) == 1:
            frames = frames[np.newaxis]
        for left, top, right, bottom in phi:
            region = frames[:, top:bottom, left:right].astype(np.int64)
            spread = int(region.max() - region.min())
            if source.transfer_syntax_uid in LOSSY:
                assert spread < 64, (source.path, spread)  # DCT blocks wiped: no text left
            else:
                assert spread == 0, (source.path, spread)  # one solid fill, nothing readable
