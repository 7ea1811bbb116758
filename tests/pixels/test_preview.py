"""Previews: RGB uint8, windowed, inverted for MONOCHROME1, redacted by the upload code, cached."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pydicom
import pytest

from desktop_client.core import paths
from desktop_client.core.geometry import Rect
from desktop_client.pixels import RedactionError, redact_dataset, render, thumbnail
from desktop_client.core.geometry import PixelEdit
from desktop_client.scanning.model import Instance, Location
from tests.pixels.helpers import data_file, load


@pytest.mark.parametrize("name", ["CT_small.dcm", "RG1_UNCI.dcm", "examples_palette.dcm", "SC_ybr_full_422_uncompressed.dcm",
                                  "examples_ybr_color.dcm", "US1_J2KR.dcm", "ExplVR_BigEnd.dcm", "liver.dcm",
                                  "MR_small_RLE.dcm", "JPEG-LL.dcm", "vlut_04.dcm", "JPGExtended.dcm"])
def test_render_any_model(name: str) -> None:
    rgb = render(data_file(name), size=(96, 96))
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    assert max(rgb.shape[:2]) <= 96 and rgb.max() > rgb.min()


def test_preview_equals_upload_result() -> None:
    """The preview with rectangles is the redacted upload output rendered, pixel for pixel."""
    for name in ("examples_ybr_color.dcm", "RG1_UNCI.dcm", "SC_ybr_full_422_uncompressed.dcm"):
        rects = [Rect(5, 3, 70, 21)]
        preview = render(data_file(name), rectangles=rects)
        uploaded = load(name)
        redact_dataset(uploaded, [PixelEdit(r) for r in rects])
        assert np.array_equal(preview, render(uploaded))
        assert np.all(preview[3:21, 5:70] <= 2)  # black on screen, whatever the model


@pytest.mark.parametrize("big, little", [("liver_expb.dcm", "liver.dcm"), ("OBXXXX1A_expb_2frame.dcm", "OBXXXX1A_2frame.dcm"),
                                         ("emri_small_big_endian.dcm", "emri_small.dcm")])
def test_big_endian_preview_matches_little_endian_twin(big: str, little: str) -> None:
    for frame in (0, 1):
        assert np.array_equal(render(data_file(big), frame=frame), render(data_file(little), frame=frame))


def test_monochrome1_is_inverted_and_aspect_kept() -> None:
    rgb = render(data_file("RG1_UNCI.dcm"), size=(200, 200))
    ds = pydicom.dcmread(data_file("RG1_UNCI.dcm"))
    assert rgb.shape[:2] == (200, round(200 * ds.Columns / ds.Rows))
    full = render(data_file("RG1_UNCI.dcm"))[..., 0].astype(float)
    stored = ds.pixel_array
    high, low = stored >= np.percentile(stored, 90), stored <= np.percentile(stored, 10)
    assert full[high].mean() < full[low].mean()  # high stored values are dark on screen


def test_render_frame_index_and_errors() -> None:
    a = render(data_file("emri_small.dcm"), frame=0)
    b = render(data_file("emri_small.dcm"), frame=9)
    assert not np.array_equal(a, b)
    with pytest.raises(RedactionError, match="does not exist"):
        render(data_file("emri_small.dcm"), frame=10)


def _ct_instance(src) -> Instance:
    """pydicom's CT_small copied to ``src`` (folders made), as the scanner's ``Instance``."""
    src.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(data_file("CT_small.dcm"), src)
    ds = pydicom.dcmread(src)
    return Instance(location=Location(str(src)), size=src.stat().st_size, study_instance_uid=ds.StudyInstanceUID,
                    series_instance_uid=ds.SeriesInstanceUID, sop_instance_uid=ds.SOPInstanceUID,
                    sop_class_uid=ds.SOPClassUID, transfer_syntax_uid=ds.file_meta.TransferSyntaxUID,
                    rows=ds.Rows, columns=ds.Columns, has_pixel_data=True)


def test_thumbnail_is_cached_on_disk(tmp_path) -> None:
    inst = _ct_instance(tmp_path / "ct.dcm")
    folder = paths.cache_dir() / "thumbnails"
    first = thumbnail(inst, size=(64, 64))
    cached = set(os.listdir(folder))
    assert first.shape == (64, 64, 3) and cached
    assert np.array_equal(thumbnail(inst, size=(64, 64)), first)
    assert set(os.listdir(folder)) == cached
    boxed = thumbnail(inst, size=(64, 64), rectangles=[Rect(0, 0, 64, 64)])
    assert not np.array_equal(boxed, first) and len(os.listdir(folder)) == len(cached) + 1


def test_thumbnail_cache_is_bounded(tmp_path) -> None:
    from desktop_client.pixels.preview import prune_thumbnails

    for i in range(12):
        (tmp_path / f"{i}.npy").write_bytes(b"x")
        os.utime(tmp_path / f"{i}.npy", (1000 + i, 1000 + i))
    assert prune_thumbnails(tmp_path, keep=5) == 7
    assert sorted(os.listdir(tmp_path)) == sorted(f"{i}.npy" for i in range(7, 12))


def test_thumbnail_cache_is_private_keyed_and_expires(tmp_path, monkeypatch) -> None:
    """Issue 14 §3: the cache holds unredacted pixels of patients' images."""
    import re
    import stat
    import time

    from desktop_client.core import privacy
    from desktop_client.pixels import preview
    from desktop_client.scanning import cache

    monkeypatch.setenv("XNAT_DESKTOP_HOME", str(tmp_path / "home"))
    privacy.forget_key_cache()
    monkeypatch.setattr(preview, "_expired", False)
    folder = paths.cache_dir() / "thumbnails"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)  # as an older version (or a umask) left it
    old = folder / ("a" * 64 + ".npy")  # an older version's name: an unkeyed hash of the path
    old.write_bytes(b"x")
    inst = _ct_instance(tmp_path / "DOE^JANE" / "ACC123" / "ct.dcm")
    thumbnail(inst, size=(32, 32))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    (name,) = os.listdir(folder)  # the old-scheme file is gone
    assert re.fullmatch(r"t2-[0-9a-f]{32}\.npy", name)
    assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    # Keyed: another installation's secret gives another name for the same file.
    privacy.forget_key_cache()
    (paths.config_dir() / "source-key").unlink()
    assert preview._thumbnail_key(inst, (32, 32), None) + ".npy" != name
    # Expiry: the scan index's setting (default 30 days), counted from the last use.
    month = time.time() - 31 * 86400
    os.utime(folder / name, (month, month))
    cache.set_max_age_days(60)
    try:
        assert preview.expire_thumbnails() == 0
        cache.set_max_age_days(cache.DEFAULT_MAX_AGE_DAYS)
        assert preview.expire_thumbnails() == 1 and not os.listdir(folder)
    finally:
        cache.set_max_age_days(cache.DEFAULT_MAX_AGE_DAYS)
        privacy.forget_key_cache()
    thumbnail(inst, size=(32, 32))
    assert cache.clear_cached_data() and not folder.exists()
