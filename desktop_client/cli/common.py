"""Small pieces every sub-command shares: user-facing errors and JSON output."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

from desktop_client.core.errors import PASS_THROUGH, UploaderError, one_line


class UserError(UploaderError):
    """An error the user can fix; printed as one sentence, never as a traceback."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def print_json(obj: Any) -> None:
    """Write one JSON document to stdout."""
    json.dump(obj, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


# ---- exit codes (documented in the README; one home for every command) -----------------------

#: Every object was processed (``scan``/``groups``: the selection was read; skips are listed).
EXIT_OK = 0
#: Some objects failed (refused, unreadable, not written, not sent); the others were processed.
EXIT_SOME_FAILED = 1
#: Usage error, or nothing to work on: nothing was done.
EXIT_USAGE = 2
#: Every object was processed, but some inputs were skipped (not DICOM, unreadable, not a
#: regular file...): each is listed with its reason.
EXIT_SKIPPED = 3
#: Upload: everything was stored, but the destination could not confirm it (a C-STORE node that
#: refuses both Storage Commitment and queries): "stored, not verifiable".
EXIT_NOT_VERIFIABLE = 4
#: Interrupted by the user (Ctrl+C); an upload can be resumed.
EXIT_INTERRUPTED = 130


def outcome_exit_code(failed: int, skipped: int) -> int:
    """The exit code of a per-object command from its failure and skip counts."""
    if failed:
        return EXIT_SOME_FAILED
    return EXIT_SKIPPED if skipped else EXIT_OK


def skipped_json(skipped: Iterable[Any]) -> list[dict[str, str]]:
    """Skipped inputs for ``--json``: ``[{"path", "reason"}]``."""
    return [{"path": s.path, "reason": s.reason} for s in skipped]


def print_skipped(skipped: list[Any]) -> None:
    """Skipped inputs as text, one per line with its reason (never only a count)."""
    if not skipped:
        return
    print(f"Skipped {len(skipped)} input(s):")
    for s in skipped:
        print(f"  {s.path}: {s.reason}")


def nothing_found(skipped: list[Any], as_json: bool) -> int:
    """No DICOM object in the selection: the skips are still listed, then a usage error."""
    if as_json:
        print_json({"files": [], "skipped": skipped_json(skipped), "summary": {"skipped": len(skipped)}})
        print("xnat-upload: no DICOM files found in the given paths", file=sys.stderr)
        return EXIT_USAGE
    print_skipped(skipped)
    raise UserError("no DICOM files found in the given paths")


def reason_of(exc: BaseException) -> str:
    """An OS error's own words ("No space left on device"); our own errors' sentences as they are
    (with their detail: a line and column, a server's words); anything else as ``Type: message``
    on one line."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) if isinstance(exc, UploaderError) else one_line(exc)


def require_inputs(paths: Iterable[str]) -> None:
    """Every path named on the command line exists (a dangling symlink counts: the scanner reports
    it as a skip with its reason)."""
    missing = [p for p in paths if not os.path.lexists(p)]
    if missing:
        raise UserError(f"{missing[0]} does not exist; check the path and try again.")


def output_folder(paths: Iterable[str], out: str) -> tuple[list[Path], Path]:
    """The resolved inputs and ``--out`` folder of a command that writes copies; refused when the
    output is one of the inputs, because inputs are never overwritten."""
    inputs = [Path(p).resolve() for p in paths]
    folder = Path(out).resolve()
    if any(folder == root for root in inputs):
        raise UserError("--out must not be one of the inputs (inputs are never overwritten)")
    return inputs, folder


def each_object(paths: list[str], work: Callable[[Any, dict[str, Any]], None]
                ) -> tuple[list[dict[str, Any]], list[Any]]:
    """Run ``work(source, entry)`` on every DICOM source under ``paths``. ``entry`` starts as
    ``{"file", "output": None}`` and ``work`` fills in the outcome; an unexpected exception becomes
    that object's ``error`` line and the loop goes on (a failure belongs to the object,
    core/errors.py). Returns the entries and the skipped inputs."""
    from desktop_client.scanning import iter_dicom_sources
    from desktop_client.scanning.model import Skipped

    results: list[dict[str, Any]] = []
    skipped: list[Any] = []
    for source in iter_dicom_sources(paths):
        if isinstance(source, Skipped):
            skipped.append(source)
            continue
        entry: dict[str, Any] = {"file": str(source), "output": None}
        results.append(entry)
        try:
            work(source, entry)
        except PASS_THROUGH:
            raise
        except BaseException as exc:  # noqa: BLE001 - a failure belongs to the object (core/errors.py)
            entry.update(status="error", output=None, error=f"unexpected failure ({one_line(exc)})")
    return results, skipped


def require_regular_file(path: str, option: str) -> None:
    """An input file named on the command line must be a regular file: a FIFO would be read forever."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise UserError(f"{option} {path} does not exist; check the path and try again.") from None
    except OSError as exc:
        raise UserError(f"{option} {path} cannot be read ({exc.strerror}).") from None
    if not stat.S_ISREG(mode):
        raise UserError(f"{option} {path} is not a regular file (a FIFO, device or folder); give a file.")
