"""Which databases ``restore --database`` keeps and which files it leaves out
(``pgdr.restore.databases``)."""

from __future__ import annotations

import pytest

from pgdr.catalog.manifest import FileEntry, ManifestError
from pgdr.errors import UsageError
from pgdr.restore.databases import database_of, select_databases, split_entries
from tests.fixtures.manifests import manifest

pytestmark = pytest.mark.unit

OIDS = {"1": "template1", "4": "template0", "5": "postgres", "16384": "sales", "16385": "hr"}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("base/16384/16400", (16384, "16400")),
        ("base/16384/16400_fsm", (16384, "16400_fsm")),
        ("base/16384/PG_VERSION", (16384, "PG_VERSION")),
        ("pg_tblspc/16390/PG_15_202209061/16385/16500.1", (16385, "16500.1")),
        ("base/16384", None),  # the directory itself
        ("global/1262", None),
        ("pg_xact/0000", None),
        ("base/16384/sub/x", None),
        ("pg_tblspc/16390/PG_15_202209061/16385", None),
    ],
)
def test_database_of(path: str, expected: tuple[int, str] | None) -> None:
    assert database_of(path) == expected


def test_select_keeps_the_requested_and_the_system_databases() -> None:
    sel = select_databases(manifest(database_oids=OIDS), ["hr"])
    assert sel.kept == ("hr", "template0", "template1", "postgres")
    assert dict(sel.left_out) == {16384: "sales"}


def test_select_asking_for_a_system_database_keeps_it_once() -> None:
    sel = select_databases(manifest(database_oids=OIDS), ["postgres", "hr"])
    assert sel.kept == ("postgres", "hr", "template0", "template1")


@pytest.mark.parametrize(
    ("oids", "names", "message"),
    [
        (OIDS, ["nope"], "has no database 'nope'; it has: hr, postgres, sales"),
        ({}, ["hr"], "does not record its databases' oids"),
    ],
)
def test_select_refuses(oids: dict[str, str], names: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        select_databases(manifest(database_oids=oids), names)


@pytest.mark.parametrize("oids", [{"x": "a"}, {"1": 5}, {"-1": "a"}, ["1"]])
def test_malformed_oid_map_is_a_damaged_manifest(oids: object) -> None:
    with pytest.raises(ManifestError):
        manifest(database_oids=oids)


def test_split_fetches_all_but_the_left_out_relation_files() -> None:
    entries = [
        FileEntry("base", "dir"),
        FileEntry("base/16384", "dir"),
        FileEntry("base/16384/PG_VERSION", "file", size=3),
        FileEntry("base/16384/pg_filenode.map", "file", size=512),
        FileEntry("base/16384/16400", "file", size=8192),
        FileEntry("base/16385/16400", "file", size=16384),
        FileEntry("pg_tblspc/9/PG_15_1/16384/16500", "file", size=100),
        FileEntry("global/1262", "file", size=8192),
    ]
    fetch, zero = split_entries(entries, {16384})
    assert [e.path for e in zero] == ["base/16384/16400", "pg_tblspc/9/PG_15_1/16384/16500"]
    assert [e.path for e in fetch] == [
        "base",
        "base/16384",
        "base/16384/PG_VERSION",
        "base/16384/pg_filenode.map",
        "base/16385/16400",
        "global/1262",
    ]
