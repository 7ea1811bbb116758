"""Fuzz campaign: thousands of mutated inputs through ``scan``, ``redact`` and ``anonymize``.

The suite runs two bounded rounds (tests/robustness/test_fuzz.py); this runs many more, with the
same builder and the same checks (tests/robustness/fuzz.py): random mutations of pydicom's test
files, pydicom-data, deid-data and the synthetic demo — truncations, byte flips in headers, bogus
lengths, wrong and unknown VRs, absurd dimensions, wrong transfer syntaxes — plus, every round,
sequences nested thousands deep, nested and bomb archives, zip-slip names, a symlink loop, an
unreadable file, FIFOs (in a folder and given directly), a full disk (a file-size limit) and a
hard link at an output path. Five command runs per round.

It prints, at the end, the figures the README quotes: command runs, crashes (a traceback, a
signal, an undocumented exit code; goal 0), hangs (goal 0), peak RSS of any run, and how many
mutated inputs went through. A non-empty problem list is printed and makes the exit code 1.

Usage: ``python bench/fuzz.py [--rounds 20] [--mutations 300] [--seed 1]``
Reproduce one round: ``python bench/fuzz.py --rounds 1 --seed N``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.robustness import corrupt as C  # noqa: E402
from tests.robustness.fuzz import Summary, demo_files, fuzz_round  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--mutations", type=int, default=300, help="mutated files per round")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first round (then +1 per round)")
    parser.add_argument("--rss-limit", type=float, default=700.0, help="MB any one run may reach")
    parser.add_argument("--keep", action="store_true", help="keep the rounds' folders")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="xnat-fuzz-"))
    total = Summary()
    started = time.monotonic()
    try:
        corpus = C.corpus_files() + demo_files(work / "demo")
        print(f"corpus: {len(corpus)} files (pydicom, pydicom-data, deid-data, demo)")
        for n in range(args.rounds):
            seed = args.seed + n
            round_dir = work / f"round-{seed}"
            summary = fuzz_round(round_dir, seed, args.mutations, corpus, rss_limit_mb=args.rss_limit)
            total.add(summary)
            print(f"round seed={seed}: {summary.runs} runs, {summary.crashes} crashes, {summary.hangs} hangs, "
                  f"peak RSS {summary.peak_rss_mb:.0f} MB, {len(summary.problems)} problem(s)", flush=True)
            for problem in summary.problems:
                print(f"    {problem}")
            if not args.keep:
                _remove(round_dir)
    finally:
        if not args.keep:
            _remove(work)
    minutes = (time.monotonic() - started) / 60
    print(f"\nsummary: {args.rounds} rounds, {total.inputs} inputs ({total.mutations} of them mutated files), "
          f"{total.runs} command runs in {minutes:.1f} min, {total.written} objects written; "
          f"crashes {total.crashes}, hangs {total.hangs}, "
          f"peak RSS {total.peak_rss_mb:.0f} MB (limit {args.rss_limit:.0f}), problems {len(total.problems)}")
    return 1 if total.problems else 0


def _remove(path: Path) -> None:
    for p in [path, *path.rglob("*")]:  # the unreadable file of each round
        try:
            p.chmod(0o700)
        except OSError:
            pass
    shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
