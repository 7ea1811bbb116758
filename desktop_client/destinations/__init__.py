"""Upload destinations behind one interface (``base.Destination``).

* ``xnat``   — an XNAT server through ``desktop_client.xnat`` (import, commit, verification);
* ``local``  — a local archive folder (the default when no server is configured);
* ``cstore`` — a DICOM C-STORE SCP (pynetdicom); Patient Comments carry XNAT routing when a
  project is given, for XNAT's DICOM receiver;
* ``stowrs`` — a DICOMweb STOW-RS service (multipart/related, optional Basic auth).

:func:`open_destination` builds the right one from a ``DestinationSpec`` and a password.
"""

from __future__ import annotations

from desktop_client.destinations.base import (
    Cancelled,
    Destination,
    DestinationError,
    Expected,
    Finish,
    SendContext,
    UnitInfo,
    Verification,
)
from desktop_client.transfer.spec import DestinationKind, DestinationSpec

__all__ = [
    "Cancelled", "Destination", "DestinationError", "Expected", "Finish", "SendContext",
    "UnitInfo", "Verification", "open_destination",
]


def open_destination(spec: DestinationSpec, password: str | None = None) -> Destination:
    """The destination object for ``spec`` (no network traffic until ``open``)."""
    if spec.kind is DestinationKind.LOCAL:
        from desktop_client.destinations.local import LocalArchive

        return LocalArchive(spec.url)
    if spec.kind is DestinationKind.CSTORE:
        from desktop_client.destinations.cstore import CStoreDestination

        aet, host, port = spec.cstore_address()
        return CStoreDestination(host, port, aet, spec.calling_aet)
    if spec.kind is DestinationKind.STOWRS:
        from desktop_client.destinations.stowrs import StowRsDestination

        return StowRsDestination(spec.url, spec.username, password, verify_tls=spec.verify_tls)
    from desktop_client.destinations.xnat import XnatDestination

    return XnatDestination(spec.url, spec.username, password, verify_tls=spec.verify_tls,
                           allow_http=spec.allow_http)
