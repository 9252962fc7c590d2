"""The catalog snapshot a backup records (pgdr.catalog.snapshot), parsed once with the
manifest: typed facts for drills, and a malformed snapshot is a damaged manifest."""

from __future__ import annotations

from typing import Any

import pytest

from pgdr.catalog.manifest import BackupManifest, ManifestError
from pgdr.catalog.snapshot import CatalogSnapshot, IndexFacts, TableFacts
from pgdr.drill.validate import catalog_facts
from tests.fixtures.manifests import manifest_doc

pytestmark = pytest.mark.unit

# As pgdr.backup.session stores it.
STORED: dict[str, Any] = {
    "database": "shop",
    "tables": [
        {"schema": "public", "name": "orders", "rows_estimate": 9, "rows": 10, "unlogged": False},
        {"schema": "public", "name": "big", "rows_estimate": 5000, "rows": None, "unlogged": False},
        {"schema": "public", "name": "cache", "rows_estimate": 0, "rows": 0, "unlogged": True},
    ],
    "indexes": [{"schema": "public", "table": "orders", "name": "orders_pkey"}],
    "constraints": [
        {"schema": "public", "table": "orders", "name": "orders_pkey", "type": "p",
         "validated": True},
        {"schema": "s", "table": "s.items", "name": "items_fk", "type": "f", "validated": False},
        {"schema": "public", "table": "-", "name": "positive", "type": "c", "validated": True},
    ],
}  # fmt: skip


def test_a_stored_snapshot_is_typed_and_round_trips() -> None:
    snap = BackupManifest.from_doc(manifest_doc(catalog=STORED)).catalog
    assert snap.database == "shop" and not snap.empty
    assert snap.tables[1] == TableFacts("public", "big", None, 5000)
    assert snap.indexes == (IndexFacts("public", "orders", "orders_pkey"),)
    assert snap.constraints[1].qualified == "s.items.items_fk"
    assert CatalogSnapshot.from_doc(snap.to_doc()) == snap and snap.to_doc() == STORED


def test_what_a_drill_compares_with() -> None:
    facts = catalog_facts(CatalogSnapshot.from_doc(STORED))
    assert facts.tables == ["public.orders", "public.big", "public.cache"]
    assert facts.rows_at_backup == {"public.orders": 10, "public.big": 5000}  # not unlogged
    assert facts.indexes == ["public.orders.orders_pkey"]
    assert [c.name for c in facts.constraints] == ["orders_pkey", "items_fk"]  # not a domain's


@pytest.mark.parametrize("old", [None, {}])
def test_a_manifest_without_a_snapshot_has_an_empty_one(old: object) -> None:
    doc = manifest_doc()
    if old is not None:
        doc["catalog"] = old
    assert BackupManifest.from_doc(doc).catalog == CatalogSnapshot()
    assert CatalogSnapshot().empty


def _with(**change: Any) -> dict[str, Any]:
    return {**STORED, **change}


@pytest.mark.parametrize(
    ("snapshot", "why"),
    [
        (["tables"], "not a mapping"),
        (_with(tables={"public": "orders"}), "not a list"),
        (_with(tables=["orders"]), "not a mapping"),
        (_with(tables=[{"schema": "public"}]), "no 'name'"),
        (_with(tables=[{"schema": "public", "name": 7}]), "not text"),
        (_with(tables=[{"schema": "public", "name": "t", "rows": "ten"}]), "not a count"),
        (_with(indexes=[{"schema": "public", "name": "i"}]), "no 'table'"),
        (
            _with(constraints=[{"schema": "public", "name": "c", "validated": "yes"}]),
            "true or false",
        ),
        (_with(database=1), "not text"),
    ],
)
def test_a_malformed_snapshot_is_a_damaged_manifest(snapshot: object, why: str) -> None:
    with pytest.raises(ManifestError, match=f"catalog snapshot: .*{why}"):
        BackupManifest.from_doc(manifest_doc(catalog=snapshot))
