"""Scanner benchmark: our scanner vs a naive pydicom loop vs reading every byte, plus cached rescans.

Builds a tree of N CT-like slices (512×512, 16-bit, a realistic ~100-attribute header with private
tags), then measures in one run:

* ``scanner``   — ``scan_paths`` with an empty index (header-only reads in a process pool);
* ``naive``     — ``for f in files: pydicom.dcmread(f)`` (full read, one process), the baseline;
* ``read-all``  — reading every byte of every file (what any tool that opens whole files pays);
* ``cached``    — ``scan_paths`` again with the index warm (unchanged tree).

Usage: ``python bench/scan.py [--files 10000] [--naive-sample 2000] [--keep DIR]``
Goals on 2 cores: scanner ≥ 5× naive, ≥ 2,000 files/s; cached rescan ≥ 20,000 files/s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pydicom

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.dicomfactory import ct_slice, encode  # noqa: E402  (the one synthetic DICOM factory)

ROOT = "1.2.826.0.1.3680043.9.7777."
SOP_PLACEHOLDER = ROOT + "1." + "0" * 12
SERIES_PLACEHOLDER = ROOT + "2." + "0" * 12


def _template(rows: int, columns: int) -> bytes:
    """One realistic CT slice (≈ 100 attributes with private tags, ``tests.dicomfactory.ct_slice``)
    with fixed-width placeholder UIDs, as Part-10 bytes."""
    return encode(ct_slice(0, rows=rows, columns=columns, study_uid=ROOT + "3.1",
                           series_uid=SERIES_PLACEHOLDER, sop_uid=SOP_PLACEHOLDER))


def build_tree(root: Path, n: int, rows: int, columns: int, series: int = 10) -> list[Path]:
    """Write ``n`` slices, cheaply, by patching fixed-width UIDs into one template."""
    template = _template(rows, columns)
    sop, ser = SOP_PLACEHOLDER.encode(), SERIES_PLACEHOLDER.encode()
    files = []
    for i in range(n):
        data = template.replace(sop, (ROOT + "1." + f"{i + 1:012d}").encode())
        data = data.replace(ser, (ROOT + "2." + f"{i % series + 1:012d}").encode())
        path = root / f"series{i % series:02d}" / f"IM{i:06d}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files.append(path)
    return files


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--columns", type=int, default=512)
    parser.add_argument("--naive-sample", type=int, default=2_000,
                        help="files read by the naive loop (its rate is per file, so a sample suffices)")
    parser.add_argument("--keep", type=Path, help="build the tree here and keep it")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-scan-"))
    os.environ["XNAT_DESKTOP_HOME"] = str(work / "home")
    from desktop_client.scanning import scan_paths  # after XNAT_DESKTOP_HOME: the index goes there

    tree = args.keep or work / "tree"
    t0 = time.perf_counter()
    files = build_tree(tree, args.files, args.rows, args.columns)
    total_bytes = sum(f.stat().st_size for f in files)
    print(f"tree: {len(files)} files, {total_bytes / 2**20:.0f} MiB, built in {time.perf_counter() - t0:.1f} s "
          f"({os.cpu_count()} cores)")

    t0 = time.perf_counter()
    for f in files:
        with open(f, "rb") as fh:
            while fh.read(1 << 20):
                pass
    read_all = _rate(len(files), time.perf_counter() - t0)

    sample = files[: args.naive_sample]
    t0 = time.perf_counter()
    for f in sample:
        pydicom.dcmread(f)
    naive = _rate(len(sample), time.perf_counter() - t0)

    t0 = time.perf_counter()
    result = scan_paths([tree], use_cache=True)
    ours = _rate(len(files), time.perf_counter() - t0)
    assert result.instances == len(files), (result.instances, len(files))

    t0 = time.perf_counter()
    cached_result = scan_paths([tree], use_cache=True)
    cached = _rate(len(files), time.perf_counter() - t0)
    assert cached_result.from_cache == len(files)

    print(f"{'method':<28}{'files/s':>12}{'vs naive':>10}")
    for name, rate in (("naive pydicom.dcmread loop", naive), ("read every byte (floor)", read_all),
                       ("our scanner (empty index)", ours), ("our scanner (cached rescan)", cached)):
        print(f"{name:<28}{rate:>12,.0f}{rate / naive:>9.1f}x")
    ok = ours >= 5 * naive and ours >= 2_000 and cached >= 20_000
    print("goals (≥5× naive, ≥2,000 files/s, cached ≥20,000 files/s):", "met" if ok else "NOT met")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
