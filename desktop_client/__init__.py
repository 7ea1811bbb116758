"""XNAT desktop upload assistant: scan, review, redact, anonymize and upload DICOM sessions.

The package is a library first (``scanning``, ``grouping``, ``dicomedit``, ``pixels``, ``xnat``,
``transfer``, ``destinations``, ``templates``, ``labels``); the command line (``cli``) and the Qt
application (``gui``, the only place Qt is imported) are thin faces over it.
"""

__version__ = "0.1.0"
APP_NAME = "XNAT Desktop Uploader"
APP_SLUG = "xnat-desktop-uploader"
