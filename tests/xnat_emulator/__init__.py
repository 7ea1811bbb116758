"""A protocol-faithful XNAT emulator: a real HTTP server on loopback for tests and demos.

It implements the "minimum faithful surface" of ``xnat-rest-api.md`` §8 with XNAT's quirks
(lower-case upload-project rows, all-string ResultSets, 404-vs-204 config semantics, 301 without
``Location`` on commit, ``Unsupported format UNKNOWN``, the generic 400 on DICOM-zip archive
conflicts, silently ignored unknown ``PROJECT_ID``…), backed by a directory on disk
(``state.json`` + ``prearchive/`` + ``archive/``).

Use it from pytest through the ``xnat_emulator`` fixture (``pytest_plugin.py``) or standalone::

    python -m tests.xnat_emulator --data /tmp/xnat --port 8080 [--seed] [--context /xnat]
"""

from tests.xnat_emulator.emulator import XnatEmulator

__all__ = ["XnatEmulator"]
