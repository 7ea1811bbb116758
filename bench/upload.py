"""Upload benchmark: a CT session through the whole transfer engine into the XNAT emulator.

    python bench/upload.py [--files 2000] [--rows 512] [--scale 4] [--workers N]
    python bench/upload.py --sizes 2000,8000,32000 --rows 256

For each size (``--files`` and ``--scale`` × that, or every one of ``--sizes``), in a fresh
process so peak memory is per size: write a CT session (one study, four series), start the emulator (separate process, on
127.0.0.1) with a 40-statement project script, and upload the session through
``TransferQueue`` with one redaction box on every image (anonymize → redact → verify → stream →
commit → server verification). Then post a pre-built zip of the very bytes the server stored
with ``curl``, as the reference for the network/server side.

Printed per size: files/s and MB/s end to end (and its ratio to curl), the rate of sending while
the next unit is being prepared, the upload stage alone (the XNAT destination's send path — units
as a transfer plans them, streamed as DICOM-zip imports — re-sending the stored bytes with nothing else running,
which is what curl is compared with), and peak RSS of the main process during the transfer (read
before the curl reference is built: zipping thousands of files is the benchmark's own memory) and
of each worker; then the growth of the main process's peak per 1,000 files between sizes.
Goals: upload stage ≥ 0.8 × curl; RSS ≤ 300 MB whatever the session size.

``--proxy-timeout 60`` puts the loopback timeout proxy (tests/timeout_proxy.py, nginx with
``proxy_read_timeout 60``) between the transfer and the emulator, and checks afterwards that the
transfer finished with every file stored exactly once; it prints how many requests the proxy
answered with 504 (curl, the reference, still goes straight to the emulator: one big request
through the proxy is exactly what times out).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCRIPT_40 = "\n".join([
    'version "6.3"',
    'project != "" ? (0010,4000) := format["Project:{0}", project]',
    "(0010,0010) := subject",
    "(0010,0020) := subject",
    "(0008,0050) := session",
    "(0020,000D) := hashUID[(0020,000D)]",
    "(0020,000E) := hashUID[(0020,000E)]",
    "(0008,0018) := hashUID[(0008,0018)]",
    '(0008,1030) := "Research study"',
    "(0020,0052) := hashUID[(0020,0052)]",
    '(0012,0062) := "YES"',
    '(0012,0063) := "XNAT desktop uploader benchmark profile"',
] + [f"-({tag})" for tag in (
    "0010,0030", "0010,0032", "0010,0040", "0010,1000", "0010,1001", "0010,1010",
    "0010,1020", "0010,1030", "0010,1040", "0010,2154", "0010,2160", "0010,21B0",
    "0008,0080", "0008,0081", "0008,0090", "0008,0092", "0008,0094", "0008,1010",
    "0008,1040", "0008,1048", "0008,1050", "0008,1060", "0008,1070", "0032,1032",
    "0032,1060", "0040,0244", "0040,0253", "0018,1000",
)]) + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_session(folder: Path, files: int, rows: int) -> int:
    """One CT study, four series, ``files`` images of rows×rows 16-bit with a bright corner."""
    import numpy as np
    from pydicom.uid import generate_uid

    from tests.dicomfactory import image, write

    folder.mkdir(parents=True)
    base = np.random.default_rng(1).integers(0, 2000, size=(rows, rows), dtype=np.uint16)
    study = generate_uid()
    series = [generate_uid() for _ in range(4)]
    frame_of_reference = generate_uid()
    total = 0
    for n in range(files):
        s = n % 4
        ds = image(study_uid=study, series_uid=series[s], sop_uid=generate_uid(), series_number=s + 1,
                   instance_number=n // 4 + 1, patient_name="BENCH^PATIENT", patient_id="BENCH01",
                   birth_date="19600101", study_date="20240101", study_time="120000",
                   series_description=f"Bench series {s + 1}", rows=rows, columns=rows, pixels=base,
                   burn_box=(0, 0, 200, 40), burn_value=4000,
                   extra={"InstitutionName": "General Hospital", "ReferringPhysicianName": "DR^WHO",
                          "FrameOfReferenceUID": frame_of_reference})
        path = write(folder / f"s{s + 1}" / f"{n:06d}.dcm", ds)
        total += path.stat().st_size
    return total


def start_emulator(data: Path, port: int) -> subprocess.Popen[bytes]:
    code = (
        "import sys, time\n"
        "from tests.xnat_emulator.emulator import XnatEmulator\n"
        f"e = XnatEmulator({str(data)!r}, port={port})\n"
        "e.seed_default()\n"
        f"e.set_project_script('DEMO', open({str(data / 'script.das')!r}).read())\n"
        "e.start()\n"
        "print('ready', flush=True)\n"
        "time.sleep(86400)\n"
    )
    (data).mkdir(parents=True, exist_ok=True)
    (data / "script.das").write_text(SCRIPT_40)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != b"ready":
        raise RuntimeError("the emulator did not start")
    return proc


def upload_stage(dest_url: str, files: list[Path]) -> float:
    """Seconds to send these files through the XNAT destination's own send path, alone.

    Same code as a transfer's upload stage (units as a transfer plans them, streamed DICOM-zip
    imports, one request per unit) but with nothing else competing for the two cores, so it compares
    like for like with curl posting one pre-built zip.
    """
    from desktop_client.destinations import SendContext, UnitInfo, open_destination
    from desktop_client.transfer import DestinationSpec, TransferSpec
    from desktop_client.transfer.pipeline import ObjectOutcome
    from desktop_client.scanning.model import Session

    defaults = TransferSpec(session=Session(""), destination=DestinationSpec.parse(dest_url))

    dest = open_destination(DestinationSpec.parse(dest_url, username="admin"), "admin")
    ctx = SendContext("bench", "DEMO", "STAGE", "STAGE_1", "")
    dest.open(ctx)
    units: list[list[Path]] = [[]]
    size = 0
    for path in files:
        length = path.stat().st_size
        if units[-1] and (size + length > defaults.max_chunk_bytes
                          or len(units[-1]) >= defaults.max_chunk_files):
            units.append([])
            size = 0
        units[-1].append(path)
        size += length
    started = time.perf_counter()
    for idx, unit in enumerate(units):
        objects = (ObjectOutcome("ok", str(p), "", "1", data=p.read_bytes(),
                                 sop_instance_uid=f"{idx}.{n}") for n, p in enumerate(unit))
        dest.send_unit(ctx, UnitInfo(idx, "", "1", idx, len(units)), objects)
    elapsed = time.perf_counter() - started
    dest.close()
    return elapsed


def vm_hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def stored_once(folder: Path, files: int) -> bool:
    """Every object of the session stored exactly once (by SOP Instance UID)."""
    import pydicom

    uids = [str(pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["SOPInstanceUID"])
                .SOPInstanceUID) for p in sorted(folder.rglob("*.dcm"))]
    return len(uids) == files and len(set(uids)) == files


def run_one(files: int, rows: int, workers: int | None,
            proxy_timeout: float | None = None) -> dict[str, object]:
    from desktop_client.core.geometry import PixelEdit, Rect
    from desktop_client.destinations import open_destination
    from desktop_client.scanning import scan_paths
    from desktop_client.transfer import (DestinationSpec, ScanChoice, State, TransferQueue,
                                         TransferSpec)

    work = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    os.environ["XNAT_DESKTOP_HOME"] = str(work / "home")
    try:
        source_bytes = write_session(work / "src", files, rows)
        port = free_port()
        emulator = start_emulator(work / "xnat", port)
        proxy = None
        target = f"http://127.0.0.1:{port}"
        proxy_stats = {"requests": 0, "timeouts": 0}
        if proxy_timeout is not None:
            # Its own process, like the emulator: its buffers are not the app's memory.
            proxy_port = free_port()
            proxy = subprocess.Popen([sys.executable, "-m", "tests.timeout_proxy", str(port),
                                      "--timeout", str(proxy_timeout), "--port", str(proxy_port)],
                                     cwd=ROOT, stdout=subprocess.PIPE, text=True)
            assert proxy.stdout is not None
            if not proxy.stdout.readline().startswith("proxy "):
                raise RuntimeError("the timeout proxy did not start")
            target = f"http://127.0.0.1:{proxy_port}"
        try:
            session = scan_paths([work / "src"], use_cache=False).sessions[0]
            box = (PixelEdit(Rect(0, 0, 200, 40)),)
            spec = TransferSpec(
                session=session,
                destination=DestinationSpec.parse(target, username="admin"),
                project="DEMO", subject="BENCH", session_label="BENCH_CT_1",
                choices={uid: ScanChoice(uid, box) for uid in session.scans})
            send_seconds = [0.0]

            def factory(dest_spec, password):
                dest = open_destination(dest_spec, password)
                original = dest.send_unit

                def timed(ctx, unit, objects):
                    started = time.perf_counter()
                    try:
                        return original(ctx, unit, objects)
                    finally:
                        send_seconds[0] += time.perf_counter() - started
                dest.send_unit = timed  # type: ignore[method-assign]
                return dest

            queue = TransferQueue(work / "q.sqlite3", workers=workers,
                                  credentials=lambda d: "admin", destination_factory=factory)
            started = time.perf_counter()
            transfer_id = queue.submit(spec)
            # The queue now holds what it needs; the caller's scan result (~0.7 kB per file) is
            # the caller's memory, not the engine's, and would blur the growth measured here.
            del session, spec
            queue.start()
            worker_peaks: list[float] = []
            while True:
                state = queue.wait(transfer_id, timeout=0.5)
                pool = queue._pool
                if pool is not None:  # sample the workers' peak RSS while they are alive
                    for pid in list(getattr(pool, "_processes", {}) or {}):
                        worker_peaks.append(vm_hwm_mb(pid))
                if state.finished:
                    break
            elapsed = time.perf_counter() - started
            status = queue.status(transfer_id)
            sent_bytes = sum(size for (_, kind), (_, size) in
                             queue.store.object_counts(transfer_id).items() if kind == "sent")
            queue.close()
            transfer_peak = vm_hwm_mb(os.getpid())
            if status.state is not State.DONE:
                raise RuntimeError(f"transfer failed: {status.error}")
            stored = sorted((work / "xnat").rglob("*.dcm"))
            exactly_once = stored_once(work / "xnat", files)
            stage_seconds = upload_stage(dest_url=target, files=stored)
            # Reference: curl posting a zip of exactly the bytes the server stored.
            zip_path = work / "ref.zip"
            with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as zf:
                for i, p in enumerate(stored):
                    zf.write(p, f"{i:06d}.dcm")
            url = (f"http://127.0.0.1:{port}/data/services/import?import-handler=DICOM-zip"
                   f"&PROJECT_ID=DEMO&SUBJECT_ID=CURL&EXPT_LABEL=CURL_1&rename=true"
                   f"&prevent_anon=true&prevent_auto_commit=true&SOURCE=uploader")
            curl = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{time_total} %{http_code}",
                                   "-u", "admin:admin", "-H", "Content-Type: application/zip",
                                   "-X", "POST", "-T", str(zip_path), url],
                                  capture_output=True, text=True, check=True)
            curl_seconds, curl_status = curl.stdout.split()
            if curl_status != "200":
                raise RuntimeError(f"curl reference upload failed with HTTP {curl_status}")
            zip_mb = zip_path.stat().st_size / 1e6
        finally:
            if proxy is not None:
                proxy.terminate()
                out, _ = proxy.communicate(timeout=60)
                proxy_stats = json.loads(out.strip().splitlines()[-1])
            emulator.terminate()
            emulator.wait()
        mb = sent_bytes / 1e6
        curl_rate = zip_mb / float(curl_seconds)
        return {
            "files": files, "rows": rows, "source_mb": round(source_bytes / 1e6, 1),
            "sent_mb": round(mb, 1), "seconds": round(elapsed, 2),
            "files_per_s": round(files / elapsed, 1), "mb_per_s": round(mb / elapsed, 1),
            "pipelined_send_mb_per_s": round(mb / send_seconds[0], 1),
            "upload_stage_mb_per_s": round(zip_mb / stage_seconds, 1),
            "curl_mb_per_s": round(curl_rate, 1),
            "upload_vs_curl": round((zip_mb / stage_seconds) / curl_rate, 2),
            "end_to_end_vs_curl": round((mb / elapsed) / curl_rate, 2),
            "peak_rss_main_mb": round(transfer_peak, 1),
            "peak_rss_main_with_reference_mb": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "peak_rss_worker_mb": round(max(worker_peaks, default=0.0), 1),
            "verification": status.verification,
            "each_file_once": exactly_once,
            "proxy_timeout_s": proxy_timeout,
            "proxy_504s": proxy_stats["timeouts"],
            "proxy_requests": proxy_stats["requests"],
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--scale", type=int, default=4, help="second run is this many times larger")
    parser.add_argument("--sizes", help="comma-separated file counts to run instead of --files/--scale")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--proxy-timeout", type=float, default=None, metavar="SECONDS",
                        help="send through a loopback proxy with this read timeout (nginx's "
                             "proxy_read_timeout); checks each file is stored exactly once")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.rows, args.workers, args.proxy_timeout)))
        return 0
    results = []
    sizes = [int(n) for n in args.sizes.split(",")] if args.sizes else [args.files,
                                                                      args.files * args.scale]
    for files in sizes:
        cmd = [sys.executable, __file__, "--one", str(files), "--rows", str(args.rows)]
        if args.workers is not None:
            cmd += ["--workers", str(args.workers)]
        if args.proxy_timeout is not None:
            cmd += ["--proxy-timeout", str(args.proxy_timeout)]
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if out.returncode != 0:
            print(out.stderr[-3000:], file=sys.stderr)
            return 1
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(r)
        print(f"{r['files']:>6} files ({r['source_mb']} MB, {r['rows']}x{r['rows']}): end to end "
              f"{r['files_per_s']} files/s, {r['mb_per_s']} MB/s in {r['seconds']} s "
              f"({r['end_to_end_vs_curl']}x curl; sending while preparing "
              f"{r['pipelined_send_mb_per_s']} MB/s); upload stage alone "
              f"{r['upload_stage_mb_per_s']} MB/s vs curl {r['curl_mb_per_s']} MB/s = "
              f"{r['upload_vs_curl']}x; peak RSS main {r['peak_rss_main_mb']} MB during the "
              f"transfer ({r['peak_rss_main_with_reference_mb']} MB with the curl reference), "
              f"worker {r['peak_rss_worker_mb']} MB; verified: {r['verification']['ok']}"
              + (f"; through a {r['proxy_timeout_s']:g} s read-timeout proxy: "
                 f"{r['proxy_requests']} requests, {r['proxy_504s']} answered 504, each file "
                 f"stored exactly once: {r['each_file_once']}" if r["proxy_timeout_s"] else ""),
              flush=True)
    first = results[0]
    for r in results[1:]:
        if r["files"] == first["files"]:
            continue
        growth = r["peak_rss_main_mb"] - first["peak_rss_main_mb"]
        per_1000 = growth / ((r["files"] - first["files"]) / 1000)
        print(f"peak RSS {first['files']} -> {r['files']} files: {growth:+.1f} MB "
              f"({per_1000:+.2f} MB per 1,000 files, main process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
