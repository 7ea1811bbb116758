"""The lean header walker must agree with pydicom on every real file we can find."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from desktop_client.scanning import fastheader
from desktop_client.scanning.model import Location
from desktop_client.scanning.reader import PREFIX_BYTES, classify_head, parse_header, read_header_bytes
from tests.dicomfactory import image, write


def _corpus() -> list[Path]:
    roots = [Path(get_testdata_file("CT_small.dcm")).parent]
    try:
        roots.append(Path(get_testdata_file("emri_small.dcm")).parent)  # pydicom-data
    except Exception:
        pass
    try:
        import deid_data

        roots.append(Path(deid_data.__file__).parent)
    except ImportError:
        pass
    return sorted(p for root in roots for p in root.rglob("*") if p.is_file() and p.stat().st_size < 50_000_000)


CORPUS = _corpus()


def test_corpus_is_substantial() -> None:
    assert len(CORPUS) > 150


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_fast_path_equals_pydicom(path: Path) -> None:
    data = path.read_bytes()
    loc = Location(str(path))
    fast = read_header_bytes(data[:PREFIX_BYTES], loc, len(data))
    if fast is None:
        fast = read_header_bytes(data, loc, len(data))
    assert fast == parse_header(io.BytesIO(data), loc, len(data))


def test_fast_path_takes_common_files_itself(tmp_path: Path) -> None:
    for implicit in (False, True):
        syntax = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
        data = write(tmp_path / f"{implicit}.dcm", image(transfer_syntax=syntax)).read_bytes()
        header = fastheader.walk(data, classify_head(data), complete=True)
        assert header.has_pixel_data and header.values[0x00280010] == 8


def test_prefix_ending_early_asks_for_more(tmp_path: Path) -> None:
    data = write(tmp_path / "a.dcm", image()).read_bytes()
    with pytest.raises(EOFError):
        fastheader.walk(data[:300], "part10", complete=False)


def test_non_ascii_names_are_decoded_with_the_character_set(tmp_path: Path) -> None:
    ds = image(patient_name="Müller^Jürgen")
    ds.SpecificCharacterSet = "ISO_IR 100"
    path = write(tmp_path / "latin1.dcm", ds)
    data = path.read_bytes()
    inst = read_header_bytes(data, Location(str(path)), len(data))
    assert inst.patient_name == "Müller^Jürgen"
    assert os.path.getsize(path) == len(data)
