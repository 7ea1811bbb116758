"""The conformance report is current and complete, and check-script warns on its deviations."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from desktop_client.cli.main import main
from desktop_client.dicomedit import compile_script
from desktop_client.dicomedit.conformance import FEATURES, MATCH, deviations_in

ROOT = Path(__file__).resolve().parents[2]


def generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("dicomedit_conformance",
                                                  ROOT / "scripts" / "dicomedit_conformance.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_report_is_the_generated_one() -> None:
    gen = generator()
    text = gen.render(gen.collect())
    committed = (ROOT / "docs" / "dicomedit-conformance.md").read_text(encoding="utf-8")
    assert committed == text, "run: python scripts/dicomedit_conformance.py"
    assert gen.main(["--check"]) == 0


def test_every_feature_is_proven_and_every_deviation_has_a_reason() -> None:
    proven = generator().collect()
    assert {f.id for f in FEATURES} <= set(proven)
    assert all(f.reason for f in FEATURES if f.status != MATCH)
    assert len({f.id for f in FEATURES}) == len(FEATURES)


def test_a_feature_without_a_test_stops_the_generator() -> None:
    gen = generator()
    proven = gen.collect()
    proven.pop("de6.echo")
    with pytest.raises(SystemExit, match="de6.echo"):
        gen.render(proven)


# One script per deviation a script construct can reveal (the others are errors or data-only).
SAMPLES = {
    "fn.getURL": 'version "6.6"\n(0010,0010) := getURL["http://example.org/x"]\n',
    "path.private-pattern-creators": 'version "6.6"\n(0029,{SIEMENS CSA HEADER}XX) ?= ""\n',
    "value.unknown-vr": 'version "6.6"\n(0019,{ACME}10) := "5"\n',
    "op.java-regex": 'version "6.6"\n(0010,0020) ~ "[a-z&&[^x]]" ? (0010,0030) := "x"\n',
    "de4.absent-vr": '(0008,0020) := "20240101"\n',
    "px.palette-rgb": 'version "6.6"\nalterPixels["rectangle", "l=0, t=0, r=2, b=2", "solid", "r=1, g=2, b=3"]\n',
    "px.black-fill": 'version "6.6"\nalterPixels["rectangle", "l=0, t=0, r=2, b=2", "solid", ""]\n',
    **{fid: 'version "6.6"\n\nalterPixels["rectangle", "l=0, t=0, r=2, b=2", "solid", "v=0"]\n'
       for fid in ("px.bits-1", "px.truncated", "px.jpeg-baseline", "px.rle", "px.big-endian",
                   "px.float", "px.records")},
}


@pytest.mark.parametrize("fid", sorted(SAMPLES))
def test_each_script_deviation_is_detected(fid: str) -> None:
    script = compile_script(SAMPLES[fid])
    found = {w.feature.id: w for w in deviations_in(script.statements, script.dialect)}
    assert fid in found
    assert found[fid].line == SAMPLES[fid].rstrip("\n").count("\n") + 1


def test_every_deviation_is_detected_or_reported_as_an_error() -> None:
    undetected = {f.id for f in FEATURES if f.status != MATCH} - set(SAMPLES)
    assert undetected == {"err.alter-pixels-literal"}  # check-script reports it as an error


def test_conformant_site_script_has_no_warnings() -> None:
    script = compile_script('version "6.6"\n(0010,0010) := subject\n(0010,0020) := session\n'
                            '-(0010,0030)\n(0020,000D) := hashUID[(0020,000D)]\n'
                            '(0008,1030) ~ "(?i)head.*" ? (0008,103E) := "brain"\n')
    assert deviations_in(script.statements, script.dialect) == []


def test_check_script_prints_warnings_with_positions(tmp_path: Path, capsys) -> None:
    path = tmp_path / "site.das"
    path.write_text('version "6.6"\n(0010,0010) := "x"\n  (0010,0020) := getURL["http://e.org/"]\n'
                    'alterPixels["rectangle", "l=0, t=0, r=2, b=2", "solid", "r=1, g=2, b=3"]\n')
    assert main(["check-script", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("OK, DicomEdit 6 (4 statements, 1 alterPixels)")
    assert out[1].startswith(f"{path}:3:18: warning: getURL[…]: differs from XNAT (deliberate deviation).")
    assert any(line.startswith(f"{path}:4:1: warning: alterPixels[…] with an r, g, b fill") for line in out)
    assert main(["check-script", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["valid"] and {"fn.getURL", "px.palette-rgb", "px.truncated"} <= {w["feature"] for w in doc["warnings"]}
    first = doc["warnings"][0]
    assert (first["line"], first["column"], first["feature"]) == (3, 18, "fn.getURL")
    assert first["reason"] and first["status"] == "deliberate deviation"
