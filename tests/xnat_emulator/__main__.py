"""Run the emulator by hand: ``python -m tests.xnat_emulator --data DIR --port N``."""

from __future__ import annotations

import argparse
import signal
import time

from tests.xnat_emulator.emulator import XnatEmulator


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.xnat_emulator",
                                     description="Protocol-faithful XNAT emulator on 127.0.0.1.")
    parser.add_argument("--data", required=True, help="state directory (created if missing)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--context", default="", help="context path, e.g. /xnat")
    parser.add_argument("--version", default="1.8.10", help="XNAT version to impersonate")
    parser.add_argument("--seed", action="store_true",
                        help="create admin/admin, member/member, collab/collab and project DEMO "
                             "(done automatically when the directory is new)")
    parser.add_argument("--auto-commit", type=float, default=None, metavar="SECONDS",
                        help="auto-build idle RECEIVING sessions after SECONDS (XNAT: 300)")
    parser.add_argument("--tls-cert", default=None, help="PEM certificate: serve HTTPS")
    parser.add_argument("--tls-key", default=None, help="PEM private key for --tls-cert")
    args = parser.parse_args()
    emulator = XnatEmulator(args.data, port=args.port, context_path=args.context,
                            version=args.version, tls_cert=args.tls_cert, tls_key=args.tls_key)
    if args.seed or not emulator.store.state.users:
        emulator.seed_default()
    emulator.auto_commit_seconds = args.auto_commit

    def terminate(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops as cleanly as Ctrl-C

    signal.signal(signal.SIGTERM, terminate)
    emulator.start()
    print(f"XNAT emulator {args.version} at {emulator.url} (data in {emulator.data_dir}); Ctrl-C stops",
          flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
