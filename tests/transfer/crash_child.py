"""Child process of the kill -9 tests: submit once (if the queue is empty), then run to the end.

Usage: python -m tests.transfer.crash_child DB_PATH DEST SOURCE_DIR
The destination password comes from XNAT_PASSWORD (as for the real CLI).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from desktop_client.destinations import open_destination
from desktop_client.transfer import (DestinationSpec, RetryPolicy, State, TransferQueue,
                                     TransferSpec)
from tests.helpers import session_of


def slow_destination(spec: DestinationSpec, password: str | None):  # type: ignore[no-untyped-def]
    """The real destination, with a pause after each unit so the parent's kills land mid-run."""
    dest = open_destination(spec, password)
    send = dest.send_unit

    def send_slowly(ctx, unit, objects):  # type: ignore[no-untyped-def]
        send(ctx, unit, objects)
        time.sleep(0.15)
    dest.send_unit = send_slowly  # type: ignore[method-assign]
    return dest


def main(db: str, dest: str, source: str) -> int:
    queue = TransferQueue(db, workers=1, retry=RetryPolicy(max_attempts=3, base_delay=0.05),
                          destination_factory=slow_destination)
    ids = queue.store.ids()
    # Scanning the source folder on every start is what a user does after a crash: the queue
    # keeps no source paths (issue 14), the scan makes them known to this process again.
    session = session_of(Path(source))
    if not ids:
        spec = TransferSpec(session=session,
                            destination=DestinationSpec.parse(dest, username="admin"),
                            project="DEMO", subject="SUBJ01", session_label="SUBJ01_CT1",
                            scripts=[], max_chunk_files=1)
        ids = [queue.submit(spec)]
    queue.start()
    state = queue.wait(ids[0])
    queue.close()
    return 0 if state is State.DONE else 1


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:4]))
