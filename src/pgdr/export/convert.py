"""Arrow batches as the reader yields them -> the columns the plan promises (docs/design.md §8j).

``NeedsFallback`` names a column whose values the first mapping cannot hold (a NaN numeric in
a decimal column, a multidimensional array): the caller restarts the table with
``types.fallback`` for it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pgdr.export.types import ColumnPlan

INTERVAL_TYPE = pa.struct(
    [("months", pa.int32()), ("days", pa.int32()), ("microseconds", pa.int64())]
)
#: How ADBC spells non-finite numerics, and how PostgreSQL does.
_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


class NeedsFallback(Exception):  # control flow inside an export, never reaches an operator
    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


def arrow_type(plan: ColumnPlan) -> pa.DataType:
    """The final pyarrow type of a planned column (its str() is ``plan.arrow_type``)."""
    c = plan.conversion
    if c == "decimal":
        return pa.decimal128(plan.precision, plan.scale)
    if c in ("string", "text"):
        return pa.string()
    if c == "enum":
        return pa.dictionary(pa.int32(), pa.string(), ordered=True)
    if c == "interval":
        return INTERVAL_TYPE
    raise ValueError(f"{plan.name}: {c} columns take the reader's type")


def convert_batch(batch: pa.RecordBatch, plans: list[ColumnPlan]) -> pa.RecordBatch:
    """The planned columns of ``batch`` (plans first, in order; then the arrays' checks)."""
    checks = batch.num_columns - len(plans)
    check_at = len(plans)
    arrays: list[pa.Array] = []
    for i, plan in enumerate(plans):
        col = batch.column(i)
        if plan.check is not None:
            flag = batch.column(check_at)
            check_at += 1
            if pc.any(flag).as_py():
                raise NeedsFallback(plan.name)
        arrays.append(convert_column(col, plan))
    assert check_at == len(plans) + checks
    fields = [
        pa.field(p.name, a.type, nullable=p.nullable) for p, a in zip(plans, arrays, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def unwrap(col: pa.Array) -> pa.Array:
    """Extension arrays the reader uses for types Arrow lacks (numeric, json: opaque over
    string) as their storage; lists of them likewise. UUIDs become or stay Arrow's uuid type
    (Parquet has UUID): the ADBC driver before 1.9 gives them as an opaque binary."""
    t = col.type
    if isinstance(t, pa.OpaqueType) and t.type_name == "uuid":  # ADBC before 1.9
        return pa.ExtensionArray.from_storage(pa.uuid(), col.storage.cast(pa.binary(16)))
    if isinstance(t, pa.BaseExtensionType) and not isinstance(t, pa.UuidType):
        return col.storage
    value_type = t.value_type if isinstance(t, pa.ListType) else None
    if isinstance(value_type, pa.BaseExtensionType) and not isinstance(value_type, pa.UuidType):
        return _map_list_values(col, unwrap)
    return col


def _map_list_values(col: pa.ListArray, fn: Callable[[pa.Array], pa.Array]) -> pa.ListArray:
    """``col`` with ``fn`` applied to its values, nulls kept (a slice of a list array too)."""
    start = col.offsets[0].as_py()
    end = col.offsets[-1].as_py()
    offsets = pc.subtract(col.offsets, pa.scalar(start, col.offsets.type))
    mask = col.is_null() if col.null_count else None
    return pa.ListArray.from_arrays(offsets, fn(col.values.slice(start, end - start)), mask=mask)


def convert_column(col: pa.Array, plan: ColumnPlan) -> pa.Array:
    c = plan.conversion
    col = unwrap(col)
    if c == "decimal":
        if _has_non_finite(col):
            raise NeedsFallback(plan.name)
        return pc.cast(col, pa.decimal128(plan.precision, plan.scale))
    if c == "string":
        return _postgres_numeric_text(col)
    if c == "enum":
        labels = pa.array(plan.enum_labels, pa.string())
        indices = pc.cast(pc.index_in(col, value_set=labels), pa.int32())
        return pa.DictionaryArray.from_arrays(indices, labels, ordered=True)
    if c == "interval":
        return interval_struct(col)
    if c == "text":
        return col if col.type == pa.string() else pc.cast(col, pa.string())
    if (
        c == "array"
        and isinstance(col.type, pa.ListType)
        and col.type.value_field.name != "element"
    ):
        # Parquet's compliant nested name: the type read back is the type written
        return col.cast(pa.list_(pa.field("element", col.type.value_type)))
    if pa.types.is_timestamp(col.type) and col.type.tz is not None and col.type.tz != "UTC":
        return pc.cast(col, pa.timestamp(col.type.unit, "UTC"))
    return col


def _has_non_finite(col: pa.Array) -> bool:
    if col.null_count == len(col):
        return False
    return bool(pc.any(pc.is_in(col, value_set=pa.array(list(_NON_FINITE)))).as_py())


def _postgres_numeric_text(col: pa.Array) -> pa.Array:
    if not _has_non_finite(col):
        return col
    out = col
    for adbc, pg in _NON_FINITE.items():
        out = pc.if_else(pc.equal(out, adbc), pg, out)
    return out


def interval_struct(col: pa.Array) -> pa.Array:
    """month_day_nano_interval -> struct<months, days, microseconds>, nulls kept."""
    n = len(col)
    dt = np.dtype([("months", "<i4"), ("days", "<i4"), ("nanos", "<i8")])
    buf = col.buffers()[1]
    values = (
        np.frombuffer(buf, dtype=dt, count=col.offset + n)[col.offset :]
        if buf is not None
        else np.zeros(n, dtype=dt)
    )
    mask = col.is_null().to_numpy(zero_copy_only=False) if col.null_count else None
    return pa.StructArray.from_arrays(
        [
            pa.array(values["months"], pa.int32()),
            pa.array(values["days"], pa.int32()),
            pa.array(values["nanos"] // 1000, pa.int64()),
        ],
        fields=list(INTERVAL_TYPE),
        mask=pa.array(mask) if mask is not None else None,
    )
