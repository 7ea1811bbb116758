"""Run ``xnat-upload`` in a child process and measure it: exit code, output, peak RSS, hang.

A child process, not ``main()`` in the test process, because what is being proven is that the
*command* survives: a codec abort, a hang on a FIFO or a memory blow-up would take a test
process down with it instead of failing one assertion. The peak RSS comes from ``wait4`` and
covers the command and every helper process it waited for.

The command is started by a tiny launcher that spawns it and reports its ``wait4`` figures: a
child forked straight from the test process starts with the test process's pages counted, and
Linux keeps that high-water mark across ``exec``, so in a long suite (OCR models loaded, many
images decoded) every command would "use" the whole pytest process's memory.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: argv: the file to write the command's peak RSS (KiB) to, then the command. Exits as it did
#: (the same code, or the same signal).
LAUNCHER = """
import os, signal, sys
pid = os.posix_spawn(sys.executable, [sys.executable, *sys.argv[2:]], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
if code < 0:
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
os._exit(code)
"""


@dataclass
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float
    seconds: float
    hung: bool

    @property
    def crashed(self) -> bool:
        """A traceback, a signal or an exit code no command documents."""
        return ("Traceback (most recent call last)" in self.stderr or self.returncode < 0
                or self.returncode not in (0, 1, 2, 3, 4))


def run_cli(args: list[str], *, home: Path, timeout: float = 120.0, env: dict[str, str] | None = None,
            file_size_limit: int | None = None) -> Run:
    """``python -m desktop_client ARGS`` with its own app home; killed (and marked hung) after ``timeout``."""
    environment = {**os.environ, "XNAT_DESKTOP_HOME": str(home), "PYTHONPATH": str(ROOT),
                   "PYTHONWARNINGS": "ignore", **(env or {})}

    def limits() -> None:  # runs in the child before exec
        os.setsid()
        if file_size_limit is not None:
            # A full disk, made reproducible: writes past the limit fail with EFBIG instead of
            # killing the process with SIGXFSZ.
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    out_path = home / f".run-{time.monotonic_ns()}"
    home.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(f"{out_path}.out", "w+b") as out, open(f"{out_path}.err", "w+b") as err:
        proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, f"{out_path}.rss", "-m", "desktop_client",
                                 *args], stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=environment,
                                cwd=str(ROOT), preexec_fn=limits)
        hung = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                hung = True
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    rss_file = Path(f"{out_path}.rss")
    # Killed as hung, the launcher wrote nothing: its own figure is then the best there is.
    peak_kib = int(rss_file.read_text()) if rss_file.is_file() else usage.ru_maxrss
    for suffix in (".out", ".err", ".rss"):
        Path(f"{out_path}{suffix}").unlink(missing_ok=True)
    return Run(list(args), proc.returncode, stdout, stderr, peak_kib / 1024,
               time.monotonic() - started, hung)


def tree_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every regular file under ``root`` (symlinks, FIFOs and unreadable files skipped)."""
    import hashlib
    import stat

    digests: dict[str, str] = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            try:
                st = os.lstat(path)
                if not stat.S_ISREG(st.st_mode):
                    continue
                with open(path, "rb") as fh:
                    digests[path] = hashlib.sha256(fh.read()).hexdigest()
            except OSError:
                digests[path] = "unreadable"
    return digests
