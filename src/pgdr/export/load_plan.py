"""`pgdr export restore`, decided without touching PostgreSQL or storage (pure): which table of
the manifest, under which name, with which column types, and how Arrow values become values
PostgreSQL's COPY takes.

The manifest is untrusted input. Its ``pg_type`` strings end up in a CREATE TABLE, so each
must read as a type name and nothing else (:func:`safe_pg_type`): words, quoted identifiers,
dots, one ``(n[,m])`` modifier, ``[]`` — no quote, semicolon, comment or operator. Names are
always quoted as identifiers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pgdr.errors import UnsafeExportManifest, UsageError
from pgdr.export.manifest import ColumnEntry, ExportManifest, TableEntry

_TYPE_TOKEN = re.compile(
    r'\s*(?:"[^"\x00]{1,63}"|[A-Za-z_][A-Za-z0-9_$]{0,62}|\(\s*-?\d{1,4}(?:\s*,\s*-?\d{1,4})?\s*\)|\[\d*\]|\.)'
)
MAX_TYPE_LENGTH = 200


def safe_pg_type(pg_type: str) -> str:
    """``pg_type`` when it reads as a type name (``format_type`` output), else refuse the
    manifest: it would otherwise be SQL run in the target database."""
    pos = 0
    text = pg_type.strip()
    while pos < len(text) and len(text) <= MAX_TYPE_LENGTH:
        m = _TYPE_TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
    if not text or pos != len(text) or len(text) > MAX_TYPE_LENGTH:
        raise UnsafeExportManifest(
            f"export manifest: column type {pg_type!r} is not a PostgreSQL type name"
        )
    return text


@dataclass(frozen=True)
class TargetName:
    schema: str
    table: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"


def choose_table(m: ExportManifest, wanted: str, database: str | None) -> TableEntry:
    """The table ``wanted`` (``schema.table``, or ``table`` when one schema has it) of the
    export, in ``database`` when given (needed only when several databases have it)."""
    schema, _, table = wanted.rpartition(".")
    found = [
        t
        for t in m.tables
        if t.table == table
        and (not schema or t.schema == schema)
        and (database is None or t.database == database)
    ]
    if len(found) == 1:
        return found[0]
    known = ", ".join(f"{t.database}:{t.qualified}" for t in m.tables) or "none"
    if not found:
        raise UsageError(f"export {m.export_id} has no table {wanted!r} (tables: {known})")
    raise UsageError(
        f"{wanted!r} names {len(found)} tables of export {m.export_id} ({known}): "
        "give schema.table and --database"
    )


def target_name(source: TableEntry, as_name: str | None) -> TargetName:
    """``--as NAME`` (``table`` in the source's schema, or ``schema.table``); default the
    source's own schema and name."""
    if as_name is None:
        return TargetName(source.schema, source.table)
    schema, _, table = as_name.rpartition(".")
    if not table or "\x00" in as_name:
        raise UsageError(f"--as {as_name!r} is not a table name (NAME or SCHEMA.NAME)")
    return TargetName(schema or source.schema, table)


@dataclass(frozen=True)
class ColumnDef:
    name: str
    pg_type: str
    not_null: bool
    #: Why the type differs from the source's (None: it is the source's)
    note: str | None = None


def is_enum(c: ColumnEntry) -> bool:
    return c.arrow_type.startswith("dictionary<")


def column_defs(t: TableEntry, type_exists: dict[str, bool]) -> list[ColumnDef]:
    """The target's columns: the source's types (``type_exists[pg_type]``: the target database
    knows it). A type it lacks (an enum, a domain, an extension's type) becomes ``text`` (or
    ``text[]`` for its arrays): the values are their text form, and the note says so."""
    out = []
    for c in t.columns:
        kind = safe_pg_type(c.pg_type)
        if type_exists.get(kind, False):
            out.append(ColumnDef(c.name, kind, not c.nullable))
            continue
        text = "text[]" if c.arrow_type.startswith(("list<", "large_list<")) else "text"
        note = f"type {kind} does not exist in the target database: created as {text}"
        out.append(ColumnDef(c.name, text, not c.nullable, note))
    return out


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_table_sql(target: TargetName, columns: list[ColumnDef]) -> str:
    cols = ",\n  ".join(
        f"{quote_ident(c.name)} {c.pg_type}{' NOT NULL' if c.not_null else ''}" for c in columns
    )
    return f"CREATE TABLE {quote_ident(target.schema)}.{quote_ident(target.table)} (\n  {cols}\n)"


# --- values ----------------------------------------------------------------------------------

INTERVAL_FIELDS = frozenset({"months", "days", "microseconds"})


def interval_text(months: int, days: int, microseconds: int) -> str:
    """An interval in PostgreSQL's input syntax, exact to the microsecond."""
    return f"{months} mons {days} days {microseconds} microseconds"


def pg_value(v: Any) -> Any:
    """An Arrow value (``to_pylist``) as COPY takes it: intervals (the writer's struct, or
    Arrow's month_day_nano) as interval text, lists element by element, the rest as is."""
    if isinstance(v, dict) and v.keys() >= INTERVAL_FIELDS:
        return interval_text(int(v["months"]), int(v["days"]), int(v["microseconds"]))
    if type(v).__name__ == "MonthDayNano":
        return interval_text(int(v.months), int(v.days), int(v.nanoseconds) // 1000)
    if isinstance(v, timedelta):
        return interval_text(0, v.days, v.seconds * 1_000_000 + v.microseconds)
    if isinstance(v, list):
        return [pg_value(x) for x in v]
    return v


def needs_conversion(arrow_type: str) -> bool:
    """Columns whose values :func:`pg_value` changes (the others are copied as read)."""
    return any(k in arrow_type for k in ("interval", "struct<", "duration"))


#: Arrow types whose values Arrow itself casts to text PostgreSQL reads back exactly
#: (shortest round-trip floats, decimal digits, ISO dates and times, ``Z`` for UTC, enum
#: labels): ~5x faster than building a Python object per value.
_TEXT_CASTABLE = re.compile(
    r"^(?:u?int(?:8|16|32|64)|float|double|bool|string|large_string|date32\[day\]|time64\[us\]"
    r"|timestamp\[us(?:, tz=UTC)?\]|decimal128\(\d+, -?\d+\)"
    r"|dictionary<values=(?:large_)?string, indices=\w+, ordered=\d>)$"
)


def text_castable(arrow_type: str) -> bool:
    return _TEXT_CASTABLE.match(arrow_type) is not None
