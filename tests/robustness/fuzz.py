"""The fuzz campaign shared by the suite (bounded) and ``bench/fuzz.py`` (thousands of mutations).

A *round* builds one input tree from a seed — random mutations of real files (pydicom's test
files, pydicom-data, deid-data, the synthetic demo) plus every odd input the field produced
(nested and bomb archives, zip-slip names, symlink loops, an unreadable file, a FIFO, sequences
nested thousands deep, absurd dimensions) — and runs ``scan``, ``redact`` and ``anonymize`` on it
as child processes, once more under a file-size limit (a full disk) and once with a hard link
already at an output path. Every run is checked the same way: no hang, no traceback or signal,
peak RSS under a bound, every input either processed or skipped with a reason, and the sources
byte-identical afterwards.
"""

from __future__ import annotations

import io
import json
import os
import random
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.robustness import corrupt as C
from tests.robustness.runner import Run, run_cli, tree_digest

SCRIPT = 'version "6.3"\n(0010,0010) := "ANON"\n(0010,0020) := "A1"\n(0008,0080) := "X"\n'


@dataclass
class Summary:
    runs: int = 0
    crashes: int = 0
    hangs: int = 0
    peak_rss_mb: float = 0.0
    inputs: int = 0
    mutations: int = 0
    written: int = 0  # objects redacted or anonymized and written: the campaign is not all refusals
    problems: list[str] = field(default_factory=list)

    def add(self, other: "Summary") -> None:
        self.runs += other.runs
        self.crashes += other.crashes
        self.hangs += other.hangs
        self.peak_rss_mb = max(self.peak_rss_mb, other.peak_rss_mb)
        self.inputs += other.inputs
        self.mutations += other.mutations
        self.written += other.written
        self.problems += other.problems


def demo_files(cache: Path) -> list[str]:
    """A small synthetic demo study (every modality and syntax the generator writes), made once."""
    from desktop_client.demo.generator import SMALL_SCALE, generate_demo

    if not (cache / "manifest.json").exists() and not any(cache.rglob("*.dcm")):
        generate_demo(cache, seed=0, **SMALL_SCALE)
    return sorted(str(p) for p in cache.rglob("*.dcm"))[:40]


def build_tree(root: Path, seed: int, mutations: int, corpus: list[str]) -> list[Path]:
    """Write one round's inputs under ``root``; returns the paths to give the commands."""
    rnd = random.Random(seed)
    src = root / "in"
    mutated = src / "mutated"
    mutated.mkdir(parents=True)
    for i in range(mutations):
        original = _unique(Path(rnd.choice(corpus)).read_bytes(), seed * 100000 + i)
        kind, data = C.mutate(original, rnd)
        (mutated / f"{i:05d}-{kind}.dcm").write_bytes(data)
    # A few mutations inside an archive too (archive members go through another reader).
    with zipfile.ZipFile(src / "mutated.zip", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(max(2, mutations // 20)):
            kind, data = C.mutate(Path(rnd.choice(corpus)).read_bytes(), rnd)
            zf.writestr(f"series/{i:04d}-{kind}.dcm", data)
    odd = src / "odd"
    odd.mkdir()
    C.bad_meta_group_length(odd / "bad-meta-length.dcm")
    C.fake_deflated(odd / "fake-deflated.dcm")
    C.invalid_transfer_syntax(odd / "invalid-ts.dcm")
    C.false_explicit_vr(odd / "false-explicit-vr.dcm")
    C.rle_panic(odd / "rle-panic.dcm")
    C.charls_abort(odd / "charls-abort.dcm")
    C.deep_nesting(odd / "deep-nesting.dcm", depth=rnd.choice([200, 1000, 5000]))
    C.huge_dimensions(odd / "huge-dimensions.dcm")
    C.zip_slip(odd / "zip-slip.zip")
    C.nested_zip(odd / "nested.zip")
    C.huge_pixel_zip(odd / "bomb.zip", declared_mib=256)
    (odd / "not-dicom.txt").write_text("notes")
    (odd / "empty.dcm").write_bytes(b"")
    os.symlink(src, odd / "loop")  # a folder link back up: a symlink loop
    os.symlink(odd / "missing.dcm", odd / "dangling.dcm")
    locked = C.write(odd / "unreadable.dcm", C.to_bytes(C.small_image(seed=seed % 1000 + 100)))
    locked.chmod(0)
    os.mkfifo(odd / "fifo.dcm")
    fifo = root / "given-directly.fifo"
    os.mkfifo(fifo)
    return [src, fifo]


_UIDS: dict[bytes, str] = {}


def _unique(data: bytes, number: int) -> bytes:
    """``data`` with its SOP Instance UID made unique (same length), so every mutation is processed
    on its own instead of being set aside as a duplicate of another copy of the same file."""
    key = data[:4096]
    if key not in _UIDS:
        import pydicom

        try:
            _UIDS[key] = str(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True,
                                             force=True).get("SOPInstanceUID", ""))
        except Exception:  # noqa: BLE001 - a corpus file pydicom cannot read keeps its bytes
            _UIDS[key] = ""
    old = _UIDS[key]
    if len(old) < 12:
        return data
    tail = str(number % 10**8).rjust(8, "1")
    return data.replace(old.encode(), (old[:-8] + tail).encode())


def _inputs(paths: list[Path]) -> list[str]:
    """Every regular file or FIFO a command must account for (folders walked, loops not followed)."""
    found = []
    for path in paths:
        if not path.is_dir():
            found.append(str(path))
            continue
        for folder, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
            found += [os.path.join(folder, name) for name in files]
    return found


def check(run: Run, paths: list[Path], rss_limit_mb: float, summary: Summary, *, listed: bool) -> None:
    """Apply the campaign's assertions to one run, recording every problem in ``summary``."""
    summary.runs += 1
    summary.peak_rss_mb = max(summary.peak_rss_mb, run.peak_rss_mb)
    name = " ".join(run.args[:1])
    if run.hung:
        summary.hangs += 1
        summary.problems.append(f"{name}: hung after {run.seconds:.0f} s")
        return
    if run.crashed:
        summary.crashes += 1
        summary.problems.append(f"{name}: exit {run.returncode}; stderr: {run.stderr[-2000:]}")
        return
    if run.peak_rss_mb > rss_limit_mb:
        summary.problems.append(f"{name}: peak RSS {run.peak_rss_mb:.0f} MB > {rss_limit_mb:.0f} MB")
    try:
        doc = json.loads(run.stdout)
    except ValueError:
        summary.problems.append(f"{name}: output is not one JSON document: {run.stdout[:300]!r}")
        return
    skipped = doc.get("skipped", [])
    for entry in skipped:
        if not entry.get("reason"):
            summary.problems.append(f"{name}: {entry['path']} skipped without a reason")
    if not listed:
        return
    files = doc.get("files", [])
    summary.written += sum(1 for entry in files if entry["status"] == "ok" and entry.get("output"))
    for entry in files:
        if entry["status"] != "ok" and not entry.get("error"):
            summary.problems.append(f"{name}: {entry['file']} is {entry['status']} without a reason")
    accounted = [e["file"] for e in files] + [e["path"] for e in skipped]
    for path in _inputs(paths):
        if not any(a == path or a.startswith(path + "!") for a in accounted):
            summary.problems.append(f"{name}: {path} was neither processed nor skipped with a reason")


def fuzz_round(root: Path, seed: int, mutations: int, corpus: list[str], *, rss_limit_mb: float = 700,
               timeout: float = 240) -> Summary:
    """One round: build the tree, run every command on it, check every run."""
    summary = Summary(mutations=mutations)
    paths = build_tree(root, seed, mutations, corpus)
    inputs = _inputs(paths)
    summary.inputs = len(inputs)
    before = tree_digest(root / "in")
    home = root / "home"
    script = root / "site.das"
    script.write_text(SCRIPT)
    args = [str(p) for p in paths]
    rect = ["--rect", "0,0,8,8"]
    check(run_cli(["scan", *args, "--json", "--no-cache"], home=home, timeout=timeout), paths, rss_limit_mb,
          summary, listed=False)
    check(run_cli(["redact", *args, "--out", str(root / "redacted"), *rect, "--json"], home=home,
                  timeout=timeout), paths, rss_limit_mb, summary, listed=True)
    check(run_cli(["anonymize", *args, "--out", str(root / "anonymized"), "--script", str(script), "--json"],
                  home=home, timeout=timeout), paths, rss_limit_mb, summary, listed=True)
    # A full disk: writes past 256 KB fail (EFBIG); the command goes on and leaves no partial file.
    full = root / "full-disk"
    check(run_cli(["redact", *args, "--out", str(full), *rect, "--json"], home=home, timeout=timeout,
                  file_size_limit=256 * 1024), paths, rss_limit_mb, summary, listed=True)
    leftovers = [p for p in full.rglob("*") if p.is_file() and (p.name.endswith(".part") or p.stat().st_size == 0)]
    if leftovers:
        summary.problems.append(f"full disk: partial files left: {leftovers[:3]}")
    # A hard link to a source already sits at an output path: the source must not change.
    linked = root / "linked"
    (linked / "odd").mkdir(parents=True)
    os.link(root / "in" / "odd" / "fake-deflated.dcm", linked / "odd" / "fake-deflated.dcm")
    written = [p.relative_to(root / "redacted") for p in sorted((root / "redacted").rglob("*.dcm"))]
    rel = next((r for r in written if (root / "in" / r).is_file()), None)
    if rel is not None:  # an input that redacts fine: its output replaces the link
        (linked / rel).parent.mkdir(parents=True, exist_ok=True)
        os.link(root / "in" / rel, linked / rel)
    check(run_cli(["redact", str(root / "in"), "--out", str(linked), *rect, "--json"], home=home,
                  timeout=timeout), [root / "in"], rss_limit_mb, summary, listed=True)
    after = tree_digest(root / "in")
    if after != before:
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        summary.problems.append(f"sources changed: {changed[:5]}")
    return summary
