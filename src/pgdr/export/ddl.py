"""`pgdr export ddl ID --duckdb|--athena`: SQL that makes an export's tables queryable where
they lie, without copying them.

DuckDB: one view per table over ``read_parquet([...])`` of exactly the files the manifest
names (not a glob: a stray file under the directory never joins the table), schema-qualified
like the source. Athena: ``CREATE EXTERNAL TABLE ... STORED AS PARQUET LOCATION`` the table's
directory, columns typed from the manifest's Arrow types.

Every name comes from the manifest, which is untrusted input: identifiers are quoted (quotes
doubled) and literals escaped, so a table named ``x"; DROP ...`` stays a name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.console import Console

from pgdr.errors import UsageError
from pgdr.export.manifest import ColumnEntry, ExportManifest, TableEntry
from pgdr.export.opened import complete_manifest, export_location
from pgdr.export.target import ExportTarget

_SCALAR_DUCKDB = {
    "bool": "BOOLEAN",
    "int8": "TINYINT",
    "int16": "SMALLINT",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "halffloat": "FLOAT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "string": "VARCHAR",
    "large_string": "VARCHAR",
    "binary": "BLOB",
    "large_binary": "BLOB",
    "date32[day]": "DATE",
    "time64[us]": "TIME",
    "timestamp[us]": "TIMESTAMP",
    "timestamp[us, tz=UTC]": "TIMESTAMPTZ",
    "month_day_nano_interval": "INTERVAL",
    "extension<arrow.uuid>": "UUID",
    "null": "VARCHAR",
}
_SCALAR_ATHENA = {
    "bool": "boolean",
    "int8": "tinyint",
    "int16": "smallint",
    "int32": "int",
    "int64": "bigint",
    "float": "float",
    "double": "double",
    "string": "string",
    "large_string": "string",
    "binary": "binary",
    "large_binary": "binary",
    "date32[day]": "date",
    "timestamp[us]": "timestamp",
    "timestamp[us, tz=UTC]": "timestamp",
    "extension<arrow.uuid>": "binary",
}
_DECIMAL = re.compile(r"^decimal(?:128|256)\((\d+), (-?\d+)\)$")
_LIST = re.compile(r"^(?:large_)?list<\w+: (.*)>$")
_DICT = re.compile(r"^dictionary<values=(\w+), indices=\w+, ordered=\d>$")
_FIXED = re.compile(r"^fixed_size_binary\[\d+\]$")
#: a struct of scalar fields (the writer's interval: months, days, microseconds)
_STRUCT = re.compile(r"^struct<([^<>]*)>$")
_FIELD = re.compile(r"^(\w+): (.+)$")
_FIELD_SPLIT = re.compile(r", (?=\w+: )")


#: Both engines hold decimals of up to 38 digits (as decimal128 does).
MAX_DECIMAL_PRECISION = 38


@dataclass(frozen=True)
class _Dialect:
    scalars: dict[str, str]
    array: str
    decimal: str
    #: a struct with its fields, e.g. "struct<{}>" over "name:type" joined by ","
    struct: str
    field: str
    separator: str


_DUCKDB = _Dialect(_SCALAR_DUCKDB, "{}[]", "DECIMAL({}, {})", "STRUCT({})", '"{}" {}', ", ")
_ATHENA = _Dialect(_SCALAR_ATHENA, "array<{}>", "decimal({}, {})", "struct<{}>", "{}:{}", ",")


def _map(arrow: str, d: _Dialect) -> str | None:
    """The engine's type for an Arrow type string (``str(pyarrow type)``); None: it has none."""
    if arrow in d.scalars:
        return d.scalars[arrow]
    if m := _DECIMAL.match(arrow):
        precision, scale = int(m[1]), int(m[2])
        if precision > MAX_DECIMAL_PRECISION or scale < 0:
            return None
        return d.decimal.format(precision, scale)
    if m := _LIST.match(arrow):
        inner = _map(m[1], d)
        return None if inner is None else d.array.format(inner)
    if m := _DICT.match(arrow):
        return _map(m[1], d)
    if _FIXED.match(arrow):
        return d.scalars["binary"]
    if m := _STRUCT.match(arrow):
        fields = []
        for part in _FIELD_SPLIT.split(m[1]):
            f = _FIELD.match(part)
            kind = _map(f[2], d) if f else None
            if f is None or kind is None:
                return None
            fields.append(d.field.format(f[1], kind))
        return d.struct.format(d.separator.join(fields))
    return None


def duckdb_type(arrow: str) -> str | None:
    return _map(arrow, _DUCKDB)


def athena_type(arrow: str) -> str | None:
    return _map(arrow, _ATHENA)


def dq(name: str) -> str:
    """A double-quoted SQL identifier (DuckDB, PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


def bq(name: str) -> str:
    """A backquoted Hive/Athena identifier."""
    return "`" + name.replace("`", "``") + "`"


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def athena_name(text: str) -> str:
    """Athena database and table names: lowercase letters, digits and underscores."""
    return re.sub(r"[^a-z0-9_]", "_", text.lower())


def _joined(base: str, relative: str) -> str:
    return f"{base.rstrip('/')}/{relative}"


def _schema_name(m: ExportManifest, t: TableEntry) -> str:
    """The source schema; prefixed by the database when the export holds several."""
    single = len({x.database for x in m.tables}) == 1
    return t.schema if single else f"{t.database}_{t.schema}"


def _empty_select(columns: tuple[ColumnEntry, ...]) -> str:
    cols = ", ".join(
        f"CAST(NULL AS {duckdb_type(c.arrow_type) or 'VARCHAR'}) AS {dq(c.name)}" for c in columns
    )
    return f"SELECT {cols or 'NULL AS nothing'} WHERE false"


def duckdb_ddl(m: ExportManifest, location: str) -> str:
    """Views for DuckDB; ``location`` is the export directory (a local path or s3:// URL)."""
    lines = [f"-- pgdr export {m.export_id} (snapshot {m.snapshot_time.isoformat()}): DuckDB views"]
    if location.startswith("s3://"):
        lines.append(
            "-- s3:// paths need DuckDB's httpfs extension and an S3 secret (CREATE SECRET)"
        )
    schemas = sorted({_schema_name(m, t) for t in m.tables})
    lines += [f"CREATE SCHEMA IF NOT EXISTS {dq(s)};" for s in schemas]
    for t in m.tables:
        name = f"{dq(_schema_name(m, t))}.{dq(t.table)}"
        if t.files:
            files = ", ".join(lit(_joined(location, f.path)) for f in t.files)
            body = f"SELECT * FROM read_parquet([{files}], hive_partitioning = false)"
        else:
            body = _empty_select(t.columns)
        lines.append(f"CREATE OR REPLACE VIEW {name} AS {body};")
    return "\n".join(lines) + "\n"


def athena_ddl(m: ExportManifest, location: str, database: str | None = None) -> str:
    """External tables for Athena; ``location`` is the export directory's s3:// URL."""
    db = athena_name(database or f"pgdr_{m.export_id}")
    lines = [
        f"-- pgdr export {m.export_id} (snapshot {m.snapshot_time.isoformat()}): Athena tables",
        f"CREATE DATABASE IF NOT EXISTS {bq(db)};",
    ]
    for t in m.tables:
        table = athena_name(f"{_schema_name(m, t)}_{t.table}")
        columns, left_out = [], []
        for c in t.columns:
            kind = athena_type(c.arrow_type)
            if kind is None:
                left_out.append(
                    f"--   {c.name} ({c.pg_type}, Arrow {c.arrow_type}): no Athena type"
                )
            else:
                columns.append(f"  {bq(c.name)} {kind}")
        if left_out:
            lines.append(f"-- {t.database}.{t.qualified}: columns left out")
            lines += left_out
        where = _joined(location, t.directory)
        stmt = [f"CREATE EXTERNAL TABLE IF NOT EXISTS {bq(db)}.{bq(table)} ("]
        stmt.append(",\n".join(columns))
        stmt.append(")")
        if t.partition_by:
            stmt.append(f"PARTITIONED BY ({bq('month')} string)")
        stmt.append("STORED AS PARQUET")
        stmt.append(f"LOCATION {lit(where)}")
        stmt.append("TBLPROPERTIES ('parquet.compression' = 'ZSTD');")
        lines.append("\n".join(stmt))
        if t.partition_by:
            lines.append(f"MSCK REPAIR TABLE {bq(db)}.{bq(table)};")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class DdlResult:
    export_id: str
    dialect: str
    location: str
    sql: str

    def render_text(self, console: Console) -> None:
        console.out(self.sql, end="", highlight=False)


def export_ddl(
    target: ExportTarget, export_id: str, dialect: str, athena_database: str | None = None
) -> DdlResult:
    """The DDL of a complete export (an incomplete one is refused: its files may be partial)."""
    m = complete_manifest(target, export_id)
    location = export_location(target, export_id)
    if dialect == "athena":
        if not location.startswith("s3://"):
            raise UsageError(f"Athena reads only s3:// exports; {target.url} is not one")
        return DdlResult(export_id, dialect, location, athena_ddl(m, location, athena_database))
    return DdlResult(export_id, dialect, location, duckdb_ddl(m, location))
