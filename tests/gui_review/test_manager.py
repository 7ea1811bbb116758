"""Template manager UI: list with previews, rename, describe, duplicate, delete, export, import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop_client.core.geometry import Rect
from desktop_client.gui.templates import TemplateManager
from desktop_client.templates import MatchKeys, Template, TemplateStore

pytestmark = pytest.mark.gui
US = MatchKeys(modality="US", rows=480, columns=640, sop_class_uid="1.2.840.10008.5.1.4.1.1.6.1")


@pytest.fixture
def stores(tmp_path: Path) -> tuple[TemplateStore, Path]:
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    example = Template(id="ex", name="Example US", match=US, rectangles=[Rect(0, 0, 640, 40)])
    (shipped / "ex.json").write_text(json.dumps(example.to_json()))
    store = TemplateStore(tmp_path / "user", shipped=shipped)
    store.create("Mine", US, [Rect(1, 2, 3, 4)], description="old")
    return store, shipped


def test_list_edit_duplicate_delete(qtbot, stores, tmp_path: Path) -> None:
    store, shipped = stores
    manager = TemplateManager(store)
    qtbot.addWidget(manager)
    manager.show()
    assert manager.list.count() == 2
    assert not manager.list.item(0).icon().isNull()
    assert manager.list.item(0).text().startswith("Mine\nUS · 480×640 · 1 box")
    assert manager.list.item(1).text().startswith("Example US  (example)")
    # Rename, describe and constrain the user's template.
    manager.select(store.get_by_name("Mine").id)
    manager.name.setText("Renamed")
    manager.description.setPlainText("patient banner")
    manager.manufacturer.setText("Acme")
    assert manager.save_current() is not None
    reopened = TemplateStore(tmp_path / "user", shipped=shipped)
    t = reopened.get_by_name("Renamed")
    assert (t.description, t.match.manufacturer) == ("patient banner", "Acme")
    # A name clash is refused inline.
    manager.name.setText("example us")
    assert manager.save_current() is None and "already exists" in manager.message.text
    # Shipped examples are read-only until duplicated.
    manager.select("ex")
    assert manager.readonly_note.isVisibleTo(manager) and not manager.save_button.isEnabled()
    assert not manager.delete_button.isEnabled() and manager.name.isReadOnly()
    copy = manager.duplicate_current()
    assert copy is not None and manager.current_id() == copy.id and manager.save_button.isEnabled()
    manager.delete_current()
    assert copy.id not in {x.id for x in store.all()}
    manager.filter.setText("rename")
    assert manager.list.count() == 1


def test_export_and_import(qtbot, stores, tmp_path: Path) -> None:
    store, _ = stores
    manager = TemplateManager(store)
    qtbot.addWidget(manager)
    manager.select(store.get_by_name("Mine").id)
    exported = manager.export_to(tmp_path / "mine.json")
    assert exported is not None and json.loads(exported.read_text())["name"] == "Mine"
    added = manager.import_from(exported)
    assert [t.name for t in added] == ["Mine (2)"] and manager.list.count() == 3
    script = tmp_path / "DicomPixelAnonymizer.script"
    script.write_text('{ Modality.equals("US") * Rows.equals("480") * Columns.equals("640") }\n(0,0,640,40)\n'
                      '{ [0008,103e].containsIgnoreCase("A") + Modality.equals("CT") }\n(0,0,5,5)\n')
    added = manager.import_from(script)
    assert len(added) == 1 and added[0].rectangles == [Rect(0, 0, 640, 41)]
    assert "1 could not be imported" in manager.message.text
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    assert manager.import_from(bad) == [] and "not valid JSON" in manager.message.text
