"""``transfers clean``, cancel and remove: staging folders of cancelled or failed transfers do not outlive them."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from desktop_client.cli.main import main
from desktop_client.destinations import open_destination
from desktop_client.transfer import DestinationSpec, RetryPolicy, TransferQueue, TransferSpec
from tests.dicomfactory import write_study
from tests.helpers import session_of


def _quit_mid_run(tmp_path: Path) -> tuple[str, Path]:
    """A local-archive transfer whose app quit after its first unit was staged (the default queue).

    Quitting keeps the stage on purpose (the next start resumes from it); it is what a cancel from
    the command line, or a later failure, used to leave on disk forever.
    """
    staged = threading.Event()

    def slow(spec: DestinationSpec, password: str | None):  # type: ignore[no-untyped-def]
        dest = open_destination(spec, password)
        send = dest.send_unit

        def send_then_wait(ctx, unit, objects):  # type: ignore[no-untyped-def]
            send(ctx, unit, objects)
            staged.set()
            time.sleep(0.5)
        dest.send_unit = send_then_wait  # type: ignore[method-assign]
        return dest

    root = tmp_path / "archive"
    session = session_of(write_study(tmp_path / "src", series=2, files=3))
    spec = TransferSpec(session=session, destination=DestinationSpec.parse(str(root)), project="DEMO",
                        subject="SUBJ01", session_label="SUBJ01_CT1", scripts=[], max_chunk_files=1)
    queue = TransferQueue(workers=0, retry=RetryPolicy(1, 0.01), destination_factory=slow)
    try:
        queue.start()
        transfer_id = queue.submit(spec)
        assert staged.wait(60)
    finally:
        queue.close()
    assert any((root / ".staging" / transfer_id).rglob("*.dcm"))
    return transfer_id, root


def test_cancel_from_the_command_line_deletes_the_staging_folder(tmp_path: Path, capsys) -> None:
    transfer_id, root = _quit_mid_run(tmp_path)
    assert main(["transfers", "clean"]) == 0  # queued, not cancelled or failed: kept for resuming
    assert any((root / ".staging" / transfer_id).rglob("*.dcm"))
    assert main(["transfers", "cancel", transfer_id[:8]]) == 0
    assert not (root / ".staging").exists()


def test_transfers_clean_deletes_staging_of_a_failed_transfer_which_can_still_restart(
        tmp_path: Path, capsys) -> None:
    transfer_id, root = _quit_mid_run(tmp_path)
    # Meanwhile another subject's session took the label: the resumed transfer fails at open.
    (root / "DEMO" / "OTHER" / "SUBJ01_CT1").mkdir(parents=True)
    (root / "DEMO" / "OTHER" / "SUBJ01_CT1" / "manifest.json").write_text("{}")
    assert main(["transfers", "resume", transfer_id[:8], "--json"]) == 1
    capsys.readouterr()
    assert any((root / ".staging" / transfer_id).rglob("*.dcm"))
    assert main(["transfers", "clean", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"cleaned": [transfer_id]}
    assert not (root / ".staging").exists()
    assert main(["transfers", "clean"]) == 0
    assert "0 staging folder(s) deleted" in capsys.readouterr().out
    # The conflict resolved, the restarted transfer sends everything again and lands once.
    (root / "DEMO" / "OTHER" / "SUBJ01_CT1" / "manifest.json").unlink()
    assert main(["transfers", "resume", transfer_id[:8], "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out.splitlines()[-1])["transfers"][0]["state"] == "done"
    assert len(list(root.glob("DEMO/SUBJ01/SUBJ01_CT1/SCANS/*/DICOM/*.dcm"))) == 6


def test_removing_a_transfer_deletes_its_staging(tmp_path: Path) -> None:
    transfer_id, root = _quit_mid_run(tmp_path)
    queue = TransferQueue(workers=0)
    try:
        queue.remove(transfer_id)  # what the app's Remove button calls
    finally:
        queue.close()
    assert not (root / ".staging").exists()
