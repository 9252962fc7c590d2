"""The export manifest (docs/design.md §8j): parse refuses what the format forbids."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from pgdr.errors import UnsafeExportManifest
from pgdr.export.manifest import (
    ColumnEntry,
    ExportManifest,
    FileEntry,
    Source,
    TableEntry,
    parse,
    sha256_hex,
    success_matches,
)

SHA = "ab" * 32


def good() -> dict[str, Any]:
    return {
        "format": "pgdr-export/1",
        "export_id": "20261207T130000Z-a1b2c3",
        "producer": "pgdr",
        "source": {
            "kind": "backup",
            "backup_id": "20261207T120000Z-full",
            "lsn": "0/3000028",
            "target_time": None,
            "snapshot": None,
        },
        "snapshot_time": "2026-12-07T12:59:00Z",
        "system_identifier": "7312345678901234567",
        "pg_version": 150018,
        "created": "2026-12-07T13:00:00Z",
        "finished": "2026-12-07T13:01:00+00:00",
        "tables": [
            {
                "database": "app",
                "schema": "public",
                "table": "users",
                "rows": 3,
                "bytes": 300,
                "partition_by": None,
                "columns": [
                    {
                        "name": "id",
                        "pg_type": "bigint",
                        "arrow_type": "int64",
                        "nullable": False,
                        "note": None,
                    }
                ],
                "files": [
                    {
                        "path": "app/public.users/part-00000.parquet",
                        "rows": 2,
                        "bytes": 200,
                        "sha256": SHA,
                    },
                    {
                        "path": "app/public.users/part-00001.parquet",
                        "rows": 1,
                        "bytes": 100,
                        "sha256": SHA,
                    },
                ],
            }
        ],
        "some_future_key": {"ignored": True},
    }


def raw(doc: object) -> bytes:
    return json.dumps(doc).encode()


def test_parse_good_manifest_and_round_trip() -> None:
    m = parse(raw(good()))
    assert m.export_id == "20261207T130000Z-a1b2c3"
    assert m.source == Source("backup", "20261207T120000Z-full", "0/3000028", None, None)
    assert m.finished == datetime(2026, 12, 7, 13, 1, tzinfo=UTC)
    assert m.total_rows == 3 and m.total_bytes == 300
    t = m.tables[0]
    assert t.directory == "app/public.users/"
    assert t.columns == (ColumnEntry("id", "bigint", "int64", False, None),)
    assert m.table("app", "public.users") is t and m.table("app", "public.other") is None
    assert parse(m.to_json()) == m


def test_to_json_of_built_manifest() -> None:
    t0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    m = ExportManifest(
        export_id="20260102T030405Z-00ff00",
        source=Source("live"),
        snapshot_time=t0,
        created=t0,
        finished=t0,
        tables=(
            TableEntry(
                "db",
                "s",
                "t",
                1,
                10,
                "c",
                (ColumnEntry("c", "date", "date32[day]", True, None),),
                (FileEntry("db/s.t/month=2026-01/part-00000.parquet", 1, 10, SHA),),
            ),
        ),
    )
    doc = json.loads(m.to_json())
    assert doc["snapshot_time"] == "2026-01-02T03:04:05.123456Z"
    assert doc["source"] == {
        "kind": "live",
        "backup_id": None,
        "lsn": None,
        "target_time": None,
        "snapshot": None,
    }
    assert parse(m.to_json()) == m


def test_success_matches_manifest_hash() -> None:
    body = raw(good())
    assert success_matches(body, sha256_hex(body).encode())
    assert success_matches(body, (sha256_hex(body) + "\n").encode())
    assert not success_matches(body, b"")
    assert not success_matches(body + b" ", sha256_hex(body).encode())


def _set(path: str, value: object) -> dict[str, Any]:
    doc = good()
    node: Any = doc
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node[k]
    last = keys[-1]
    if value is _DELETE:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return doc


_DELETE = object()
F0 = "tables.0.files.0"


@pytest.mark.parametrize(
    ("path", "value", "says"),
    [
        # paths: the bucket is untrusted input
        (f"{F0}.path", "app/public.users/../../../etc/passwd", "not a safe relative path"),
        (f"{F0}.path", "/app/public.users/part-00000.parquet", "outside its table"),
        (f"{F0}.path", "app/public.other/part-00000.parquet", "outside its table"),
        (f"{F0}.path", "app/public.users//part-00000.parquet", "not a safe relative path"),
        (f"{F0}.path", "app/public.users/./part-00000.parquet", "not a safe relative path"),
        (f"{F0}.path", "app/public.users/", "not a safe relative path"),
        (f"{F0}.path", "app/public.users/a\\..\\b", "not a safe relative path"),
        (f"{F0}.path", "app/public.usersX/part", "outside its table"),
        (f"{F0}.path", 5, "is not a string"),
        ("tables.0.database", "..", "not a safe path segment"),
        ("tables.0.database", "a/b", "not a safe path segment"),
        ("tables.0.schema", "", "not a safe path segment"),
        ("tables.0.table", "x\x00", "not a safe path segment"),
        # types
        (f"{F0}.rows", -1, "non-negative integer"),
        (f"{F0}.rows", True, "non-negative integer"),
        (f"{F0}.rows", 1.5, "non-negative integer"),
        (f"{F0}.bytes", "200", "non-negative integer"),
        (f"{F0}.sha256", "AB" * 32, "64 lowercase hex"),
        (f"{F0}.sha256", "ab", "64 lowercase hex"),
        (f"{F0}", "x", "is not an object"),
        ("tables.0.rows", 4, "differ from its files' sums"),
        ("tables.0.bytes", 301, "differ from its files' sums"),
        ("tables.0.columns.0.nullable", "no", "true or false"),
        ("tables.0.columns.0.note", 3, "a string or null"),
        ("tables.0.partition_by", "nope", "unknown column"),
        ("tables.0.files", {}, "is not a list"),
        ("tables", None, "is not a list"),
        ("format", "pgdr-export/2", "is not 'pgdr-export/1'"),
        ("export_id", "2026-12-07", "malformed"),
        ("export_id", "20261207T130000Z-a1b2c3/..", "malformed"),
        ("producer", "someone", "unknown"),
        ("source.kind", "guess", "unknown"),
        ("source.lsn", "0/3000028; drop", "malformed"),
        ("source", [], "is not an object"),
        ("system_identifier", 7312, "a string or null"),
        ("system_identifier", "73a", "malformed"),
        ("pg_version", "15", "an integer or null"),
        ("created", "yesterday", "ISO-8601"),
        ("created", "2026-12-07T13:00:00", "UTC offset"),
        ("snapshot_time", None, "ISO-8601"),
        ("finished", _DELETE, "has no 'finished'"),
        ("tables.0.columns.0.name", _DELETE, "has no 'name'"),
    ],
)
def test_parse_refuses(path: str, value: object, says: str) -> None:
    with pytest.raises(UnsafeExportManifest, match=".*" + _escape(says)) as e:
        parse(raw(_set(path, value)))
    assert e.value.exit_code == 66


def _escape(s: str) -> str:
    import re

    return re.escape(s)


def test_parse_refuses_duplicate_file() -> None:
    doc = good()
    files = doc["tables"][0]["files"]
    files[1] = copy.deepcopy(files[0])
    files[1]["rows"], files[1]["bytes"] = 1, 100
    with pytest.raises(UnsafeExportManifest, match="listed twice"):
        parse(raw(doc))


@pytest.mark.parametrize("body", [b"", b"\xff\xfe", b"[]", b'"x"', b"{", b"x" * (64 << 20 | 1)])
def test_parse_refuses_non_manifest(body: bytes) -> None:
    with pytest.raises(UnsafeExportManifest):
        parse(body)


@pytest.mark.parametrize(
    ("lsn", "says"),
    [
        ("0/3000028", "source: backup 20261207T120000Z-full at LSN 0/3000028;"),
        (None, "source: backup 20261207T120000Z-full;"),
    ],
)
def test_summary_names_the_source_lsn_only_when_known(lsn: str | None, says: str) -> None:
    import io

    from rich.console import Console

    from pgdr.export.results import ExportSummary

    doc = good()
    doc["source"]["lsn"] = lsn
    out = io.StringIO()
    ExportSummary(parse(raw(doc)), True, "file:///x").render_text(Console(file=out, width=200))
    assert says in out.getvalue() and "None" not in out.getvalue()
