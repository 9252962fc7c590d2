"""`pgdr export ddl`: the DuckDB views run in DuckDB against the files and give back every row
and type written; Athena statements name the table directories on S3; an incomplete export
is refused. The export is written by the test with pyarrow per the format contract."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from pgdr.export.target import ExportTarget
from pgdr.storage import open_backend
from tests.e2e.cli import pgdr
from tests.fixtures.export_files import EXPORT_ID, TableData, write_export
from tests.fixtures.moto_server import bucket_url, make_bucket

pytestmark = [pytest.mark.component, pytest.mark.e2e]

UTC = dt.UTC


def _items() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
            "small": pa.array([-32768, 32767, None, 0, 1], pa.int16()),
            "price": pa.array(
                [Decimal("0.01"), Decimal("-99999999.99"), None, Decimal("0"), Decimal("1.50")],
                pa.decimal128(10, 2),
            ),
            "name": pa.array(["a", "ünïcode", None, "", "x'y\"z"], pa.string()),
            "blob": pa.array([b"\x00\xff", b"", None, b"abc", b"\x01"], pa.binary()),
            "ok": pa.array([True, False, None, True, False], pa.bool_()),
            "born": pa.array(
                [dt.date(1970, 1, 1), dt.date(2026, 12, 7), None, dt.date(1, 1, 1), None],
                pa.date32(),
            ),
            "at": pa.array(
                [
                    dt.datetime(2026, 12, 7, 13, 0, 0, 123456, tzinfo=UTC),
                    None,
                    dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
                    dt.datetime(2026, 1, 1, tzinfo=UTC),
                    dt.datetime(2026, 6, 1, 12, tzinfo=UTC),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "tags": pa.array([[1, 2], [], None, [None, 3], [4]], pa.list_(pa.int32())),
            "mood": pa.array(["happy", "sad", None, "happy", "ok"]).dictionary_encode(),
        }
    )


PG_TYPES = {
    "id": "bigint",
    "small": "smallint",
    "price": "numeric(10,2)",
    "name": "text",
    "blob": "bytea",
    "ok": "boolean",
    "born": "date",
    "at": "timestamp with time zone",
    "tags": "integer[]",
    "mood": "mood",
}
WEIRD = 'we"ird; DROP TABLE x'


def _tables() -> list[TableData]:
    empty = pa.table({"k": pa.array([], pa.int32()), "v": pa.array([], pa.string())})
    return [
        TableData("app", "public", "items", _items(), PG_TYPES, rows_per_part=2),
        TableData("app", "public", WEIRD, _items().select(["id", "name"]), PG_TYPES),
        TableData("app", "audit", "empty", empty, {"k": "integer", "v": "text"}),
    ]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("exports")
    target = ExportTarget(open_backend(f"file://{root}"), "exports")
    write_export(target, _tables())
    # a stray file in a table's directory is no part of the table
    stray = root / "exports" / EXPORT_ID / "app" / "public.items" / "stray.parquet"
    stray.write_bytes(
        (root / "exports" / EXPORT_ID / "app/public.items/part-00000.parquet").read_bytes()
    )
    return root


def _ddl(root: Path, *flags: str) -> str:
    r = pgdr("export", "ddl", EXPORT_ID, *flags, "--url", f"file://{root}/exports")
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_duckdb_views_read_back_every_row(exported: Path) -> None:
    sql = _ddl(exported, "--duckdb")
    con = duckdb.connect()
    con.execute(sql)
    got = con.sql('SELECT * FROM "public"."items" ORDER BY id').to_arrow_table()
    want = _items()
    assert got.column_names == want.column_names
    for name in want.column_names:
        assert got[name].to_pylist() == want[name].to_pylist(), name
    weird = con.execute(
        f'SELECT id, name FROM "public"."{WEIRD.replace(chr(34), chr(34) * 2)}" ORDER BY id'
    )
    assert weird.fetchall() == [(r["id"], r["name"]) for r in want.to_pylist()]
    # the empty table is a typed view with no rows
    assert con.execute('SELECT count(*) FROM "audit"."empty"').fetchone() == (0,)
    kinds = con.execute('DESCRIBE "audit"."empty"').fetchall()
    assert [(k[0], k[1]) for k in kinds] == [("k", "INTEGER"), ("v", "VARCHAR")]
    # every statement named a schema that exists: nothing leaked out of the quotes
    assert {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    } == {
        "items",
        WEIRD,
        "empty",
    }


def test_incomplete_export_is_refused(tmp_path: Path) -> None:
    target = ExportTarget(open_backend(f"file://{tmp_path}"), "")
    write_export(target, _tables()[:1])
    (tmp_path / EXPORT_ID / "_SUCCESS").unlink()
    r = pgdr("export", "ddl", EXPORT_ID, "--url", f"file://{tmp_path}")
    assert r.returncode == 65 and "incomplete" in r.stderr, r.stderr


def test_athena_on_file_target_is_a_usage_error(exported: Path) -> None:
    r = pgdr("export", "ddl", EXPORT_ID, "--athena", "--url", f"file://{exported}/exports")
    assert r.returncode == 2 and "only s3://" in r.stderr, r.stderr


def test_athena_tables_on_s3(moto_endpoint: str) -> None:
    bucket = make_bucket(moto_endpoint)
    url = bucket_url(moto_endpoint, bucket, "exports")
    target = ExportTarget(open_backend(url), "")
    write_export(target, _tables())
    r = pgdr("export", "ddl", EXPORT_ID, "--athena", "--url", url)
    assert r.returncode == 0, r.stderr
    sql = r.stdout
    assert "CREATE DATABASE IF NOT EXISTS `pgdr_20261207t130000z_a1b2c3`;" in sql
    assert f"LOCATION 's3://{bucket}/exports/{EXPORT_ID}/app/public.items/'" in sql, sql
    for column in (
        "`id` bigint",
        "`small` smallint",
        "`price` decimal(10, 2)",
        "`blob` binary",
        "`at` timestamp",
        "`tags` array<int>",
        "`mood` string",
    ):
        assert column in sql, column
    assert sql.count("STORED AS PARQUET") == 3
    assert "`public_we_ird__drop_table_x`" in sql
