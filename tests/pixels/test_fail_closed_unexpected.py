"""Any unexpected failure inside the engine becomes a RedactionError (the caller quarantines)."""

from __future__ import annotations

import pytest
from pydicom.data import get_testdata_file
from pydicom import dcmread

from desktop_client.core.geometry import PixelEdit, Rect
from desktop_client.pixels import RedactionError, redact_dataset
from desktop_client.pixels import dct, isolation


def test_missing_codec_library_is_a_redaction_error(monkeypatch) -> None:
    ds = dcmread(get_testdata_file("SC_jpeg_no_color_transform.dcm"))
    before = ds.PixelData

    def broken(*args, **kwargs):
        raise FileNotFoundError("libjpeg.so.9 not found")

    monkeypatch.setattr(dct, "redact_jpeg_baseline", broken)
    # The patch lives in this process: run the codec stage here, as the helper process would.
    monkeypatch.setattr(isolation, "_IN_HELPER", True)
    with pytest.raises(RedactionError, match="FileNotFoundError"):
        redact_dataset(ds, [PixelEdit(Rect(0, 0, 16, 16))])
    assert ds.PixelData == before
