"""Arrow types of an export's manifest mapped to DuckDB and Athena column types; names quoted."""

from __future__ import annotations

import pytest

from pgdr.export.ddl import athena_name, athena_type, bq, dq, duckdb_type, lit

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("arrow", "duckdb", "athena"),
    [
        ("bool", "BOOLEAN", "boolean"),
        ("int16", "SMALLINT", "smallint"),
        ("int32", "INTEGER", "int"),
        ("int64", "BIGINT", "bigint"),
        ("float", "FLOAT", "float"),
        ("double", "DOUBLE", "double"),
        ("string", "VARCHAR", "string"),
        ("large_string", "VARCHAR", "string"),
        ("binary", "BLOB", "binary"),
        ("fixed_size_binary[16]", "BLOB", "binary"),
        ("date32[day]", "DATE", "date"),
        ("time64[us]", "TIME", None),  # Athena has no time of day
        ("timestamp[us]", "TIMESTAMP", "timestamp"),
        ("timestamp[us, tz=UTC]", "TIMESTAMPTZ", "timestamp"),
        ("month_day_nano_interval", "INTERVAL", None),
        ("extension<arrow.uuid>", "UUID", "binary"),
        ("decimal128(10, 2)", "DECIMAL(10, 2)", "decimal(10, 2)"),
        ("decimal128(38, 0)", "DECIMAL(38, 0)", "decimal(38, 0)"),
        ("decimal256(60, 2)", None, None),  # wider than either engine holds
        ("list<item: int32>", "INTEGER[]", "array<int>"),
        ("list<item: list<item: string>>", "VARCHAR[][]", "array<array<string>>"),
        ("large_list<item: int64>", "BIGINT[]", "array<bigint>"),
        ("list<item: month_day_nano_interval>", "INTERVAL[]", None),
        ("dictionary<values=string, indices=int32, ordered=0>", "VARCHAR", "string"),
        (
            "struct<months: int32, days: int32, microseconds: int64>",
            'STRUCT("months" INTEGER, "days" INTEGER, "microseconds" BIGINT)',
            "struct<months:int,days:int,microseconds:bigint>",
        ),
        ("struct<a: list<item: int32>>", None, None),
        ("struct<a: time64[us]>", 'STRUCT("a" TIME)', None),
    ],
)
def test_type_mapping(arrow: str, duckdb: str | None, athena: str | None) -> None:
    assert duckdb_type(arrow) == duckdb
    assert athena_type(arrow) == athena


@pytest.mark.parametrize(
    ("name", "double", "back", "literal", "athena"),
    [
        ("users", '"users"', "`users`", "'users'", "users"),
        ('a"b', '"a""b"', '`a"b`', "'a\"b'", "a_b"),
        ("a`b'c", '"a`b\'c"', "`a``b'c`", "'a`b''c'", "a_b_c"),
        ("Public.Users", '"Public.Users"', "`Public.Users`", "'Public.Users'", "public_users"),
    ],
)
def test_quoting(name: str, double: str, back: str, literal: str, athena: str) -> None:
    assert (dq(name), bq(name), lit(name), athena_name(name)) == (double, back, literal, athena)


def test_athena_partitioned_table_and_left_out_columns() -> None:
    from datetime import UTC, datetime

    from pgdr.export.ddl import athena_ddl, duckdb_ddl
    from pgdr.export.manifest import ColumnEntry, ExportManifest, FileEntry, Source, TableEntry

    t0 = datetime(2026, 12, 7, tzinfo=UTC)
    sha = "0" * 64
    table = TableEntry(
        "app",
        "public",
        "recalls",
        2,
        20,
        "created",
        (
            ColumnEntry("id", "bigint", "int64", False),
            ColumnEntry("created", "date", "date32[day]", False),
            ColumnEntry(
                "span", "interval", "struct<months: int32, days: int32, microseconds: int64>", True
            ),
            ColumnEntry("at", "time without time zone", "time64[us]", True),
        ),
        (
            FileEntry("app/public.recalls/month=2026-11/part-00000.parquet", 1, 10, sha),
            FileEntry("app/public.recalls/month=2026-12/part-00000.parquet", 1, 10, sha),
        ),
    )
    m = ExportManifest("20261207T130000Z-a1b2c3", Source("live"), t0, t0, t0, (table,))
    sql = athena_ddl(m, "s3://b/exports/20261207T130000Z-a1b2c3", "dr")
    assert "CREATE DATABASE IF NOT EXISTS `dr`;" in sql
    assert "PARTITIONED BY (`month` string)" in sql
    assert "MSCK REPAIR TABLE `dr`.`public_recalls`;" in sql
    assert "LOCATION 's3://b/exports/20261207T130000Z-a1b2c3/app/public.recalls/'" in sql
    assert "`span` struct<months:int,days:int,microseconds:bigint>" in sql
    assert "--   at (time without time zone, Arrow time64[us]): no Athena type" in sql
    duck = duckdb_ddl(m, "/x/20261207T130000Z-a1b2c3")
    assert duck.count("month=") == 2 and "hive_partitioning = false" in duck
