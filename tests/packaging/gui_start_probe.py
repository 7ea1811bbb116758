"""Run by ``test_no_network.py`` in a fresh interpreter: start the real GUI under a socket audit.

The audit hook is installed before anything of the app is imported. The application starts
through ``desktop_client.gui.app.main`` exactly as a user starts it (first launch, so the demo
study opens too); after a few seconds of event processing the probe records the process's open
internet sockets (which also catches sockets opened by compiled code such as Qt), prints one
JSON document and exits.
"""

from __future__ import annotations

import json
import os
import sys

from desktop_client.selftest import NetworkAudit, internet_sockets

audit = NetworkAudit()
sys.addaudithook(audit)
audit.active = True

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop_client.gui import app as gui_app  # noqa: E402

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0
result: dict[str, object] = {}


def finish() -> None:
    result["events"] = list(audit.events)
    result["sockets"] = internet_sockets()
    result["windows"] = len(QApplication.topLevelWidgets())
    print(json.dumps(result), flush=True)
    # The demo scan and the transfer queue may still be busy; the probe has what it needs.
    os._exit(0)


qapp = QApplication([sys.argv[0]])
QTimer.singleShot(int(SECONDS * 1000), finish)
gui_app.main([])
finish()
