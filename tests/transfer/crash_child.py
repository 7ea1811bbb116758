"""Child process of the kill -9 tests: submit once (if the queue is empty), then run to the end.

Usage: python -m tests.transfer.crash_child DB_PATH DEST SOURCE_DIR
The destination password comes from XNAT_PASSWORD (as for the real CLI).
"""

from __future__ import annotations

import sys
from pathlib import Path

from desktop_client.transfer import (DestinationSpec, RetryPolicy, State, TransferQueue,
                                     TransferSpec)
from tests.transfer.dicomdata import session_of


def main(db: str, dest: str, source: str) -> int:
    queue = TransferQueue(db, workers=1, retry=RetryPolicy(max_attempts=3, base_delay=0.05))
    ids = queue.store.ids()
    if not ids:
        spec = TransferSpec(session=session_of(Path(source)),
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
