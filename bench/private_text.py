"""Benchmark: what checking private text costs (issue 14 §2).

Two measures on realistic CT objects (bench/dicomedit.py's header, GE private blocks, plus a
private element holding the patient's name, 512×512 16-bit pixels), in process CPU time, best of
3 rounds so other jobs on a shared machine do not distort the comparison:

* the upload's per-object re-check (``ObjectJob.private_check``): the transfer pipeline's read →
  default site script → write of each object, with the re-check against the same loop without it
  measured in the same run (the ratio is what a scan whose private text is to be gone pays);
* the plan-time check (``plan.privatetext.check_scan``): per scan (three header reads and the
  script chain on each), against reading the same three headers alone.

    .venv/bin/python bench/private_text.py [--count 300]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from dicomedit import ct_header, encode  # noqa: E402

from desktop_client.plan.privatetext import ScriptChain, check_scan  # noqa: E402
from desktop_client.scanning import read_dataset, scan_paths  # noqa: E402
from desktop_client.scanning.model import Location  # noqa: E402
from desktop_client.scripts import default_site_script  # noqa: E402
from desktop_client.transfer.pipeline import Applicator, ObjectJob  # noqa: E402

ROUNDS = 3


def _write(folder: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        ds = ct_header(i)
        ds.Rows = ds.Columns = 512
        ds.PixelData = bytes(512 * 512 * 2)
        block = ds.private_block(0x0019, "ACME 1.0", create=True)
        block.add_new(0x10, "LO", "DOE^JOHN")
        ds.PatientName = "Doe^John"
        path = folder / f"{i:05d}.dcm"
        path.write_bytes(encode(ds))
        paths.append(path)
    return paths


def _best(*runs) -> list[float]:  # type: ignore[no-untyped-def]
    """The best CPU time of each run over ROUNDS rounds, the runs alternating within a round (a
    burst of load or a warm-up hits both sides)."""
    best = [float("inf")] * len(runs)
    for _ in range(ROUNDS):
        for n, run in enumerate(runs):
            t0 = time.process_time()
            run()
            best[n] = min(best[n], time.process_time() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    n = parser.parse_args().count
    tmp = Path(tempfile.mkdtemp(prefix="bench-private-text-"))
    try:
        paths = _write(tmp, n)
        scripts = (("site", default_site_script()),)
        applicator = Applicator(scripts)

        def upload(check: bool) -> None:
            for p in paths:
                job = ObjectJob("k", scripts, (), (), Location(str(p)), "s", "1", private_check=check)
                assert applicator.process(job).status == "ok"

        upload(True)  # warm-up: compiled script, pydicom's dictionaries
        plain, checked = _best(lambda: upload(False), lambda: upload(True))
        print(f"upload, {n} objects: plain {plain / n * 1000:.2f} ms/object, with the per-object "
              f"re-check {checked / n * 1000:.2f} ms/object: ratio {checked / plain:.3f}")

        (session,) = scan_paths([tmp], use_cache=False).sessions
        (scan,) = session.scans.values()
        chain = ScriptChain(scripts)
        picks = [scan.instances[i] for i in sorted({0, len(scan.instances) // 2, len(scan.instances) - 1})]
        reads, check = _best(lambda: [read_dataset(i.location, stop_before_pixels=True) for i in picks],
                             lambda: check_scan(scan, chain))
        print(f"plan-time check per scan: {check * 1000:.1f} ms (reading its 3 headers alone "
              f"{reads * 1000:.1f} ms): ratio {check / reads:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
