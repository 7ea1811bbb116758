"""Suite-wide test set-up.

Every test run gets its own application home (``XNAT_DESKTOP_HOME``) so caches, queues, templates
and settings never touch the developer's real folders, and Qt runs offscreen (CI has no display).
"""

from __future__ import annotations

import os
import tempfile

pytest_plugins = ["tests.xnat_emulator.pytest_plugin"]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["XNAT_DESKTOP_HOME"] = tempfile.mkdtemp(prefix="xnat-desktop-test-home-")
# The keyring must never reach a real desktop secret store from the tests.
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
