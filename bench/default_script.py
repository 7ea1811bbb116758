"""Benchmark: what safe-by-default costs — the shipped default site script (DICOM PS3.15 Basic
Profile, ``desktop_client/scripts/basic-profile.das``) on realistic CT headers.

Reports the script alone (in memory, datasets/s) and read → script → write against the plain
read → write loop measured in the same run (the ratio is what a local-archive upload's header
work pays for the default). Process CPU time, best of 3 rounds, so other jobs on a shared machine
do not distort the comparison.

    .venv/bin/python bench/default_script.py [--count 3000]
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pydicom

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_client.dicomedit import apply_chain, compile_script  # noqa: E402
from desktop_client.scripts import default_site_script  # noqa: E402
from tests.dicomfactory import ct_slice, encode  # noqa: E402  (the realistic CT header the benches share)

ROUNDS = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    n = parser.parse_args().count
    clock = time.process_time
    script = [compile_script(default_site_script())]
    blobs = [encode(ct_slice(i, private_values=4)) for i in range(n)]
    in_memory = float("inf")
    for _ in range(ROUNDS):
        datasets = [pydicom.dcmread(io.BytesIO(b)) for b in blobs]
        t0 = clock()
        for ds in datasets:
            assert apply_chain(script, ds, {}, execute_pixels=False).ok
        in_memory = min(in_memory, clock() - t0)
    tmp = Path(tempfile.mkdtemp(prefix="bench-default-script-"))
    try:
        files = []
        for i, blob in enumerate(blobs):
            files.append(tmp / f"{i:05d}.dcm")
            files[-1].write_bytes(blob)
        out = tmp / "out.dcm"
        plain = with_script = float("inf")
        for _ in range(ROUNDS):
            t0 = clock()
            for f in files:
                pydicom.dcmread(f).save_as(out, enforce_file_format=False)
            plain = min(plain, clock() - t0)
            t0 = clock()
            for f in files:
                ds = pydicom.dcmread(f)
                assert apply_chain(script, ds, {}, execute_pixels=False).ok
                ds.save_as(out, enforce_file_format=False)
            with_script = min(with_script, clock() - t0)
        check = pydicom.dcmread(out)
        assert check.PatientIdentityRemoved == "YES" and str(check.PatientName) == ""
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"default site script: {len(script[0].statements)} statements, {n} CT headers")
    print(f"in memory:     {n / in_memory:8.0f} datasets/s  ({in_memory * 1e3 / n:.2f} ms each)")
    print(f"read+write:    {n / plain:8.0f} datasets/s  (plain pydicom loop, the baseline)")
    print(f"with script:   {n / with_script:8.0f} datasets/s  = {with_script / plain:.2f}x the "
          "baseline's time")


if __name__ == "__main__":
    main()
