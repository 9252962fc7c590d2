"""How each PostgreSQL column becomes an Arrow/Parquet column (pure; docs/design.md §8j).

The reader (ADBC's PostgreSQL driver) already yields Arrow for most types; this module
decides, per column, what the SELECT reads, which conversion follows, the final Arrow type
and the manifest's note when the mapping is not the obvious one:

- numeric(p,s) with p <= 38 and 0 <= s <= p: decimal128(p,s); a NaN or ±Infinity found
  while reading turns the column into a string (the export restarts that table) — said in
  the note; numeric without a precision, or wider: string, said in the note;
- interval: struct<months int32, days int32, microseconds int64> (Parquet has no interval
  with microseconds);
- enum: dictionary<int32, string> over the type's labels in their sort order;
- arrays of scalar types: lists; an array with more than one dimension or a lower bound
  other than 1 turns the column into its text form (restart, note);
- oid: int64 (it is unsigned 32-bit); every type not listed: its text form, said in the note.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Conversion = Literal["as_is", "decimal", "string", "enum", "interval", "array", "text"]

#: ADBC's mapping is the final one for these (base type names, pg_type.typname).
_AS_IS: dict[str, str] = {
    "int2": "int16",
    "int4": "int32",
    "int8": "int64",
    "float4": "float",
    "float8": "double",
    "bool": "bool",
    "text": "string",
    "varchar": "string",
    "bpchar": "string",
    "name": "string",
    "bytea": "binary",
    "date": "date32[day]",
    "time": "time64[us]",
    "timestamp": "timestamp[us]",
    "timestamptz": "timestamp[us, tz=UTC]",
    "uuid": "extension<arrow.uuid>",
    "json": "string",
    "jsonb": "string",
}
#: Element types whose arrays are exported as lists (numeric and enum elements as strings).
_LIST_ELEMENTS = {**_AS_IS, "numeric": "string"}
DECIMAL128_MAX_PRECISION = 38
INTERVAL_ARROW = "struct<months: int32, days: int32, microseconds: int64>"
PARTITION_TYPES = ("date", "timestamp", "timestamptz")


@dataclass(frozen=True)
class PgColumn:
    """One column as the catalog describes it (domains resolved to their base type)."""

    name: str
    pg_type: str  # format_type(atttypid, atttypmod) of the column itself
    typname: str  # base type's pg_type.typname
    typtype: str  # base type's pg_type.typtype ('b', 'e', 'd', 'c', 'r', 'm', 'p')
    typmod: int  # base typmod (-1: none)
    not_null: bool
    elem_typname: str | None = None  # arrays: the element's typname
    elem_typtype: str | None = None
    is_domain: bool = False
    enum_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ColumnPlan:
    name: str
    pg_type: str
    nullable: bool
    select: str  # SQL expression read by the reader
    conversion: Conversion
    arrow_type: str  # str() of the final pyarrow type
    note: str | None = None
    precision: int = 0
    scale: int = 0
    enum_labels: tuple[str, ...] = ()
    #: arrays: a boolean SQL expression true when the value cannot be a list (restart as text)
    check: str | None = None


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def numeric_precision_scale(typmod: int) -> tuple[int, int] | None:
    """(precision, scale) of a numeric typmod; None without one. PostgreSQL 15 allows a
    negative scale (11 bits, two's complement)."""
    if typmod < 4:
        return None
    mod = typmod - 4
    scale = mod & 0x7FF
    if scale & 0x400:
        scale -= 0x800
    return (mod >> 16) & 0xFFFF, scale


def plan_column(col: PgColumn, base_type: str | None = None) -> ColumnPlan:
    """``base_type``: format_type of a domain's base type (the SELECT casts to it)."""
    ident = quote_ident(col.name)
    select = f"{ident}::{base_type}" if col.is_domain and base_type else ident
    plan = ColumnPlan(col.name, col.pg_type, not col.not_null, select, "as_is", "")
    if col.typname in _AS_IS:
        return replace(plan, arrow_type=_AS_IS[col.typname])
    if col.typname == "oid":
        return replace(plan, select=f"{ident}::int8", arrow_type="int64")
    if col.typname == "numeric":
        return _numeric(plan, col)
    if col.typname == "interval":
        return replace(plan, conversion="interval", arrow_type=INTERVAL_ARROW)
    if col.typtype == "e":
        return replace(
            plan,
            conversion="enum",
            arrow_type="dictionary<values=string, indices=int32, ordered=1>",
            enum_labels=col.enum_labels,
        )
    if col.elem_typname is not None and (
        col.elem_typname in _LIST_ELEMENTS or col.elem_typtype == "e"
    ):
        elem = _LIST_ELEMENTS.get(col.elem_typname, "string")
        note = None
        if col.elem_typname == "numeric":
            note = "numeric array elements stored as strings"
        elif col.elem_typtype == "e":
            note = "enum array elements stored as strings"
        return replace(
            plan,
            select=f"{ident}::{col.elem_typname}[]" if col.elem_typtype == "e" else select,
            conversion="array",
            arrow_type=f"list<element: {elem}>",
            note=note,
            check=f"(array_ndims({ident}) > 1 OR array_lower({ident}, 1) <> 1)",
        )
    return as_text(plan, f"{col.pg_type} stored as its text form")


def _numeric(plan: ColumnPlan, col: PgColumn) -> ColumnPlan:
    ps = numeric_precision_scale(col.typmod)
    if ps is None:
        return replace(
            plan,
            conversion="string",
            arrow_type="string",
            note="numeric without a precision: stored as string",
        )
    p, s = ps
    if p > DECIMAL128_MAX_PRECISION or s < 0 or s > p:
        return replace(
            plan,
            conversion="string",
            arrow_type="string",
            note=f"numeric({p},{s}) exceeds decimal128: stored as string",
        )
    return replace(
        plan, conversion="decimal", arrow_type=f"decimal128({p}, {s})", precision=p, scale=s
    )


def as_text(plan: ColumnPlan, note: str) -> ColumnPlan:
    """The column's text form (its type's output function, as ``format('%s')`` calls it:
    ``::text`` differs for some types, e.g. inet's netmask) as a string."""
    ident = quote_ident(plan.name)
    return replace(
        plan,
        select=f"CASE WHEN {ident} IS NULL THEN NULL ELSE format('%s', {ident}) END",
        conversion="text",
        arrow_type="string",
        note=note,
        check=None,
    )


def fallback(plan: ColumnPlan) -> ColumnPlan:
    """The plan once a value the first mapping cannot hold was met (a non-finite numeric,
    a multidimensional array)."""
    if plan.conversion == "decimal":
        return replace(
            plan,
            conversion="string",
            arrow_type="string",
            note=f"{plan.pg_type} holds NaN or Infinity: stored as string",
        )
    return as_text(plan, f"{plan.pg_type} holds multidimensional arrays: stored as text")


def select_list(plans: list[ColumnPlan]) -> str:
    """The SELECT's columns: every plan's expression, then the arrays' checks."""
    exprs = [p.select for p in plans]
    exprs += [f"{p.check} AS {quote_ident('__pgdr_check_' + p.name)}" for p in plans if p.check]
    return ", ".join(exprs)


def partition_column(plans: list[ColumnPlan], name: str) -> ColumnPlan:
    """The plan of the ``--partition-by`` column; ValueError unless it is a date or time."""
    for p in plans:
        if p.name == name:
            base = p.pg_type.split(" ")[0].split("(")[0]
            if p.arrow_type.startswith(("date32", "timestamp")):
                return p
            raise ValueError(f"column {name!r} is {base}, not a date or timestamp")
    raise ValueError(f"no column {name!r}")
