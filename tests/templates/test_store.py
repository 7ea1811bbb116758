"""TemplateStore: persistence, names, read-only shipped examples, import/export, matching."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from desktop_client.core.geometry import Rect
from desktop_client.scanning.model import Instance, Location, Scan
from desktop_client.templates import MatchKeys, Template, TemplateError, TemplateStore

US = "1.2.840.10008.5.1.4.1.1.6.1"
CT = "1.2.840.10008.5.1.4.1.1.2"


def instance(n: int = 1, modality: str = "US", rows: int = 480, columns: int = 640, sop: str = US,
             manufacturer: str = "", model: str = "") -> Instance:
    return Instance(location=Location(f"/data/{n}.dcm"), size=1, study_instance_uid="1.2",
                    series_instance_uid="1.2.3", sop_instance_uid=f"1.2.3.{n}", sop_class_uid=sop,
                    transfer_syntax_uid="1.2.840.10008.1.2.1", modality=modality, rows=rows,
                    columns=columns, instance_number=n, manufacturer=manufacturer,
                    manufacturer_model_name=model)


@pytest.fixture()
def store(tmp_path: Path) -> TemplateStore:
    return TemplateStore(tmp_path / "user", shipped=tmp_path / "shipped")


def test_create_persists_and_survives_reopen(store: TemplateStore, tmp_path: Path) -> None:
    match = MatchKeys.of(instance())
    t = store.create("US top bar", match, [Rect(0, 0, 640, 40)], description="name+date", author="ana")
    path = store.path_of(t.id)
    assert path.parent == tmp_path / "user"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]
    again = TemplateStore(tmp_path / "user", shipped=False)
    loaded = again.get_by_name("us TOP bar")
    assert loaded.rectangles == [Rect(0, 0, 640, 40)]
    assert loaded.match == MatchKeys(modality="US", rows=480, columns=640, sop_class_uid=US)
    assert (loaded.description, loaded.author, loaded.created) == ("name+date", "ana", t.created)


def test_names_are_unique_and_required(store: TemplateStore) -> None:
    m = MatchKeys.of(instance())
    store.create("A", m, [Rect(0, 0, 5, 5)])
    with pytest.raises(TemplateError, match="already exists"):
        store.create(" a ", m, [Rect(0, 0, 5, 5)])
    with pytest.raises(TemplateError, match="needs a name"):
        store.create("  ", m, [Rect(0, 0, 5, 5)])
    with pytest.raises(TemplateError, match="at least one rectangle"):
        store.create("B", m, [])


def test_rename_describe_duplicate_delete(store: TemplateStore, tmp_path: Path) -> None:
    m = MatchKeys.of(instance())
    t = store.create("A", m, [Rect(0, 0, 5, 5)])
    store.rename(t.id, "Renamed")
    store.update(t.id, description="new words")
    copy = store.duplicate(t.id)
    assert copy.name == "Renamed (copy)" and copy.id != t.id and copy.rectangles == [Rect(0, 0, 5, 5)]
    store.delete(t.id)
    reopened = TemplateStore(tmp_path / "user", shipped=False)
    assert [x.name for x in reopened.all()] == ["Renamed (copy)"]
    assert reopened.all()[0].description == "new words"
    with pytest.raises(TemplateError, match="no template named 'Renamed'"):
        reopened.get_by_name("Renamed")


def test_shipped_templates_are_read_only_until_duplicated(tmp_path: Path) -> None:
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    example = Template(id="ex1", name="Example", match=MatchKeys(modality="US", rows=480, columns=640,
                       sop_class_uid=US), rectangles=[Rect(0, 0, 10, 10)])
    (shipped / "ex1.json").write_text(json.dumps(example.to_json()))
    store = TemplateStore(tmp_path / "user", shipped=shipped)
    assert store.get("ex1").read_only
    for change in (lambda: store.rename("ex1", "X"), lambda: store.delete("ex1")):
        with pytest.raises(TemplateError, match="shipped example"):
            change()
    copy = store.duplicate("ex1")
    store.rename(copy.id, "Mine")
    assert not store.get_by_name("Mine").read_only
    assert (shipped / "ex1.json").exists() and len(list(shipped.iterdir())) == 1


def test_bad_files_are_reported_not_fatal(tmp_path: Path) -> None:
    user = tmp_path / "user"
    user.mkdir()
    (user / "broken.json").write_text("{not json")
    (user / "wrong.json").write_text(json.dumps({"id": "x", "name": "W", "rectangles": [[0, 0, 0, 5]]}))
    store = TemplateStore(user, shipped=False)
    assert len(store) == 0
    assert any("broken.json" in p for p in store.problems)
    assert any("wrong.json" in p and "empty" in p for p in store.problems)


def test_matching_exact_keys_and_equipment(store: TemplateStore) -> None:
    plain = store.create("US 640", MatchKeys.of(instance()), [Rect(0, 0, 640, 40)])
    philips = store.create("US Philips", MatchKeys(modality="US", rows=480, columns=640, sop_class_uid=US,
                                                  manufacturer="philips"), [Rect(0, 0, 10, 10)])
    store.create("CT", MatchKeys.of(instance(modality="CT", rows=512, columns=512, sop=CT)), [Rect(0, 0, 9, 9)])
    assert [t.id for t in store.matching(instance())] == [plain.id]
    assert {t.id for t in store.matching(instance(manufacturer="Philips Medical"))} == {plain.id, philips.id}
    assert store.matching(instance(rows=481)) == []
    assert store.matching(instance(sop="1.2.840.10008.5.1.4.1.1.7")) == []
    scan = Scan("1.2.3", modality="US", instances=[instance(1), instance(2, manufacturer="PHILIPS"), instance(3)])
    assert {t.id for t in store.matching(scan)} == {plain.id, philips.id}  # representative = middle


def test_export_import_roundtrip_gets_fresh_names(store: TemplateStore, tmp_path: Path) -> None:
    a = store.create("A", MatchKeys.of(instance()), [Rect(1, 2, 3, 4)])
    b = store.create("B", MatchKeys.of(instance()), [Rect(5, 6, 7, 8)])
    single = store.export([a.id], tmp_path / "a.json")
    bundle = store.export([a.id, b.id], tmp_path / "ab.json")
    other = TemplateStore(tmp_path / "other", shipped=False)
    assert [t.name for t in other.import_file(single)] == ["A"]
    assert sorted(t.name for t in other.import_file(bundle)) == ["A (2)", "B"]
    assert len({t.id for t in other.all()}) == 3
    assert other.get_by_name("B").rectangles == [Rect(5, 6, 7, 8)]


def test_import_refuses_bad_input_with_clear_errors(store: TemplateStore, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "something-else", "id": "1", "name": "x", "rectangles": []}))
    with pytest.raises(TemplateError, match="not a template file"):
        store.import_file(bad)
    de = tmp_path / "script.das"
    de.write_text('version "6.1"\nalterPixels["rectangle", "l=0, t=0, r=5, b=5", "solid", "v=0"]\n')
    with pytest.raises(TemplateError, match="DicomEdit script"):
        store.import_file(de)
    assert len(store) == 0
