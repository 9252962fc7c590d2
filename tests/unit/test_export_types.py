"""How PostgreSQL columns map to Arrow (pgdr.export.types, .convert, .reader.choose_tables)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pgdr.export.convert import NeedsFallback, convert_batch, interval_struct, unwrap
from pgdr.export.reader import choose_tables
from pgdr.export.types import (
    PgColumn,
    fallback,
    numeric_precision_scale,
    partition_column,
    plan_column,
    select_list,
)


def col(typname: str, pg_type: str | None = None, typmod: int = -1, **kw: object) -> PgColumn:
    return PgColumn(
        name=str(kw.pop("name", "c")),
        pg_type=pg_type or typname,
        typname=typname,
        typtype=str(kw.pop("typtype", "b")),
        typmod=typmod,
        not_null=bool(kw.pop("not_null", False)),
        **kw,  # type: ignore[arg-type]
    )


def numeric_mod(p: int, s: int) -> int:
    return ((p << 16) | (s & 0x7FF)) + 4


@pytest.mark.parametrize(
    ("typmod", "want"),
    [
        (-1, None),
        (numeric_mod(12, 3), (12, 3)),
        (numeric_mod(38, 0), (38, 0)),
        (numeric_mod(1000, 1000), (1000, 1000)),
        (numeric_mod(5, -2), (5, -2)),
    ],
)
def test_numeric_precision_scale(typmod: int, want: tuple[int, int] | None) -> None:
    assert numeric_precision_scale(typmod) == want


@pytest.mark.parametrize(
    ("column", "conversion", "arrow", "note"),
    [
        (col("int8"), "as_is", "int64", None),
        (col("timestamptz"), "as_is", "timestamp[us, tz=UTC]", None),
        (col("jsonb"), "as_is", "string", None),
        (col("numeric", "numeric(12,3)", numeric_mod(12, 3)), "decimal", "decimal128(12, 3)", None),
        (
            col("numeric", "numeric(38,38)", numeric_mod(38, 38)),
            "decimal",
            "decimal128(38, 38)",
            None,
        ),
        (
            col("numeric", "numeric(39,2)", numeric_mod(39, 2)),
            "string",
            "string",
            "numeric(39,2) exceeds decimal128: stored as string",
        ),
        (
            col("numeric", "numeric(5,-2)", numeric_mod(5, -2)),
            "string",
            "string",
            "numeric(5,-2) exceeds decimal128: stored as string",
        ),
        (col("numeric"), "string", "string", "numeric without a precision: stored as string"),
        (
            col("interval"),
            "interval",
            "struct<months: int32, days: int32, microseconds: int64>",
            None,
        ),
        (
            col("mood", typtype="e", enum_labels=("a", "b")),
            "enum",
            "dictionary<values=string, indices=int32, ordered=1>",
            None,
        ),
        (
            col("_int4", "integer[]", elem_typname="int4", elem_typtype="b"),
            "array",
            "list<element: int32>",
            None,
        ),
        (
            col("_numeric", "numeric[]", elem_typname="numeric", elem_typtype="b"),
            "array",
            "list<element: string>",
            "numeric array elements stored as strings",
        ),
        (
            col("_interval", "interval[]", elem_typname="interval", elem_typtype="b"),
            "text",
            "string",
            "interval[] stored as its text form",
        ),
        (
            col("timetz", "time with time zone"),
            "text",
            "string",
            "time with time zone stored as its text form",
        ),
        (col("oid"), "as_is", "int64", None),
    ],
)
def test_plan_column(column: PgColumn, conversion: str, arrow: str, note: str | None) -> None:
    plan = plan_column(column)
    assert (plan.conversion, plan.arrow_type, plan.note) == (conversion, arrow, note)


def test_select_quotes_names_and_checks_arrays_last() -> None:
    plans = [
        plan_column(col("int4", name='we"ird')),
        plan_column(col("_int4", "integer[]", name="a", elem_typname="int4", elem_typtype="b")),
        plan_column(col("inet", name="ip")),
        plan_column(col("int4", "posint", name="d", is_domain=True), "integer"),
    ]
    assert select_list(plans) == (
        '"we""ird", "a", CASE WHEN "ip" IS NULL THEN NULL ELSE format(\'%s\', "ip") END, '
        '"d"::integer, '
        '(array_ndims("a") > 1 OR array_lower("a", 1) <> 1) AS "__pgdr_check_a"'
    )


def test_fallbacks() -> None:
    dec = plan_column(col("numeric", "numeric(6,2)", numeric_mod(6, 2)))
    assert fallback(dec).conversion == "string"
    assert fallback(dec).note == "numeric(6,2) holds NaN or Infinity: stored as string"
    arr = plan_column(col("_int4", "integer[]", elem_typname="int4", elem_typtype="b"))
    assert fallback(arr).conversion == "text" and fallback(arr).check is None


def test_convert_batch_decimal_enum_interval_and_fallback() -> None:
    dec = plan_column(col("numeric", "numeric(6,2)", numeric_mod(6, 2), name="n"))
    enum = plan_column(col("mood", name="m", typtype="e", enum_labels=("sad", "ok")))
    iv = plan_column(col("interval", name="iv"))
    batch = pa.record_batch(
        {
            "n": pa.array(["1.50", None, "-3"]),
            "m": pa.array(["ok", None, "sad"]),
            "iv": pa.array(
                [pa.MonthDayNano([14, 3, 1_500_000]), None, pa.MonthDayNano([0, -1, -1000])],
                pa.month_day_nano_interval(),
            ),
        }
    )
    out = convert_batch(batch, [dec, enum, iv])
    assert out.schema.field("n").type == pa.decimal128(6, 2)
    assert out.column(1).to_pylist() == ["ok", None, "sad"]
    assert out.column(1).indices.to_pylist() == [1, None, 0]
    assert out.column(2).to_pylist() == [
        {"months": 14, "days": 3, "microseconds": 1500},
        None,
        {"months": 0, "days": -1, "microseconds": -1},
    ]
    nan = pa.record_batch({"n": pa.array(["nan", "1"])})
    with pytest.raises(NeedsFallback) as e:
        convert_batch(nan, [dec])
    assert e.value.column == "n"
    assert convert_batch(nan, [fallback(dec)]).column(0).to_pylist() == ["NaN", "1"]


def test_interval_struct_of_a_slice() -> None:
    arr = pa.array(
        [pa.MonthDayNano([1, 2, 3000]), pa.MonthDayNano([4, 5, 6000]), None],
        pa.month_day_nano_interval(),
    )
    assert interval_struct(arr.slice(1)).to_pylist() == [
        {"months": 4, "days": 5, "microseconds": 6},
        None,
    ]


_U1 = bytes(range(16))
_U2 = bytes(range(16, 32))


def _opaque(values: list[bytes | None], storage: pa.DataType = pa.binary()) -> pa.Array:
    return pa.ExtensionArray.from_storage(
        pa.opaque(storage, "uuid", "PostgreSQL"), pa.array(values, storage)
    )


@pytest.mark.parametrize(
    "storage",
    [
        _opaque([_U1, None, _U2]),  # ADBC before 1.9: opaque binary storage
        _opaque([_U1, None, _U2], pa.binary(16)),
        pa.ExtensionArray.from_storage(pa.uuid(), pa.array([_U1, None, _U2], pa.binary(16))),
    ],
)
def test_uuid_scalars_from_either_driver(storage: pa.Array) -> None:
    got = unwrap(storage.slice(1))
    assert got.type == pa.uuid()
    assert got.storage.to_pylist() == [None, _U2]


def test_uuid_lists_keep_nulls_and_offsets() -> None:
    values = _opaque([_U1, _U2, None])
    col = pa.ListArray.from_arrays(
        pa.array([0, 1, 1, 3, 3], pa.int32()), values, mask=pa.array([False, True, False, False])
    ).slice(1)
    got = unwrap(col)
    assert got.type == pa.list_(pa.uuid())
    assert [None if v is None else [u and u.bytes for u in v] for v in got.to_pylist()] == [
        None,
        [_U2, None],
        [],
    ]


def test_uuid_values_that_are_not_16_bytes_are_refused() -> None:
    with pytest.raises(pa.ArrowInvalid):
        unwrap(_opaque([b"short"]))


def test_partition_column_must_be_a_date_or_time() -> None:
    plans = [plan_column(col("date", name="d")), plan_column(col("text", name="t"))]
    assert partition_column(plans, "d").name == "d"
    with pytest.raises(ValueError, match="not a date or timestamp"):
        partition_column(plans, "t")
    with pytest.raises(ValueError, match="no column"):
        partition_column(plans, "x")


@pytest.mark.parametrize(
    ("include", "exclude", "want"),
    [
        ([], [], ["public.a", "public.b", "sales.a"]),
        (["a"], [], ["public.a"]),
        (["*.a"], [], ["public.a", "sales.a"]),
        (["sales.*", "b"], [], ["public.b", "sales.a"]),
        ([], ["sales.*"], ["public.a", "public.b"]),
        (["*"], ["public.*"], []),
    ],
)
def test_choose_tables(include: list[str], exclude: list[str], want: list[str]) -> None:
    found = [("public", "a"), ("public", "b"), ("sales", "a")]
    got = choose_tables(found, include, exclude)
    assert [f"{s}.{t}" for s, t in got] == want


@pytest.mark.parametrize(
    ("blocks", "parts", "min_blocks", "want"),
    [
        (100, 1, 1, [None]),
        (100, 2, 1000, [None]),
        (1, 2, 1, [None]),
        (100, 2, 1, ["ctid < '(50,0)'", "ctid >= '(50,0)'"]),
        (
            10,
            3,
            1,
            ["ctid < '(3,0)'", "ctid >= '(3,0)' AND ctid < '(6,0)'", "ctid >= '(6,0)'"],
        ),
    ],
)
def test_block_ranges(blocks: int, parts: int, min_blocks: int, want: list[str | None]) -> None:
    from pgdr.export.reader import block_ranges

    assert block_ranges(blocks, parts, min_blocks) == want
