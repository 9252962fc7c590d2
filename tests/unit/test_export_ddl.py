"""Arrow types of an export's manifest mapped to DuckDB and Athena column types; names quoted."""

from __future__ import annotations

import pytest

from pgdr.export.ddl import athena_name, athena_type, bq, dq, duckdb_type, lit


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
        ("struct<a: int32>", None, None),
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
