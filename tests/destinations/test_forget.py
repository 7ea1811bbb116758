"""What a destination keeps on this machine is its own business (``Destination.forget``), and every
package's error is an ``UploaderError`` with a sentence for the user."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_client.core.errors import UploaderError
from desktop_client.destinations import DestinationError, destination_class
from desktop_client.destinations.model import DestinationKind, DestinationSpec


def test_local_archive_forgets_only_the_staging_of_transfers_not_kept(tmp_path: Path) -> None:
    stage = tmp_path / ".staging"
    for transfer_id in ("live", "gone"):
        (stage / transfer_id / "0").mkdir(parents=True)
        (stage / transfer_id / "0" / "a.dcm").write_bytes(b"x")
    (tmp_path / "P1").mkdir()  # an archived project: never touched
    spec = DestinationSpec(DestinationKind.LOCAL, str(tmp_path))

    destination_class(spec.kind).forget(spec, keep={"live"}.__contains__)

    assert sorted(p.name for p in stage.iterdir()) == ["live"]
    assert (stage / "live" / "0" / "a.dcm").is_file() and (tmp_path / "P1").is_dir()


def test_forget_without_staging_and_for_remote_kinds_does_nothing(tmp_path: Path) -> None:
    local = DestinationSpec(DestinationKind.LOCAL, str(tmp_path / "never-used"))
    destination_class(local.kind).forget(local, keep=lambda _id: False)
    assert not (tmp_path / "never-used").exists()
    # The other kinds keep nothing here: the hook runs without a password or a connection.
    for spec in (DestinationSpec.parse("https://xnat.example.org", username="u"),
                 DestinationSpec.parse("dicom://STORE@127.0.0.1:11112"),
                 DestinationSpec.parse("dicomweb+https://pacs.example.org/dicomweb")):
        destination_class(spec.kind).forget(spec, keep=lambda _id: False)


@pytest.mark.parametrize("module, name", [
    ("desktop_client.xnat.errors", "XnatError"),
    ("desktop_client.destinations.base", "DestinationError"),
    ("desktop_client.pixels.errors", "RedactionError"),
    ("desktop_client.dicomedit.errors", "ScriptSyntaxError"),
    ("desktop_client.dicomedit.errors", "ScriptRuntimeError"),
    ("desktop_client.templates.model", "TemplateError"),
    ("desktop_client.demo.generator", "DemoError"),
    ("desktop_client.scanning.sources", "ObjectTooLarge"),
    ("desktop_client.transfer.queue", "QueueBusy"),
    ("desktop_client.transfer.engine", "TransferFailed"),
    ("desktop_client.cli.common", "UserError"),
    ("desktop_client.scripts", "ScriptChoiceError"),
    ("desktop_client.xnat.series_filter", "SeriesFilterError"),
    ("desktop_client.textfind.ocr", "OcrUnavailable"),
])
def test_every_package_error_root_is_an_uploader_error(module: str, name: str) -> None:
    import importlib

    assert issubclass(getattr(importlib.import_module(module), name), UploaderError)


def test_user_message_is_the_sentence_and_str_may_add_detail() -> None:
    from desktop_client.dicomedit.errors import ScriptSyntaxError
    from desktop_client.plan.targets import explain_error
    from desktop_client.xnat.errors import XnatConnectionError

    xnat = XnatConnectionError("Could not reach the XNAT server.", server_message="refused")
    assert xnat.user_message == "Could not reach the XNAT server." and "refused" in str(xnat)
    assert explain_error(xnat) == "Could not reach the XNAT server."
    # A root without its own user_message says what str() says (here: with the position).
    assert ScriptSyntaxError("unexpected ']'", 3, 7).user_message == "line 3, column 7: unexpected ']'"
    assert explain_error(DestinationError("the receiver refused")) == "the receiver refused"
    assert explain_error(KeyError("x")).startswith("Unexpected error (KeyError)")
