"""An RDS snapshot export, normalised into pgdr's export format (``_manifest.json``,
``pgdr-export/1``, producer ``rds-export``, source kind ``rds-snapshot``) — pure, table-tested.

RDS writes ``<staging>/<task>/<database>/<schema>.<table>/<batch>/part-….parquet`` plus
``export_tables_info_<task>_from_…_to_….json`` files whose ``perTableStatus`` entries name
each table (``target`` = ``database.schema.table``), its status and its columns' original
PostgreSQL types (``schemaMetadata.originalTypeMappings``). Both the listing and those files
are untrusted input: every name becomes one path segment only after ``safe_segment``, every
file must lie under its own table's directory, and a data file no COMPLETE table accounts for
refuses the whole export (exit 39) — nothing is written for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pgdr.errors import AwsError, UnsafeManifest

FORMAT = "pgdr-export/1"
PRODUCER = "rds-export"
SOURCE_KIND = "rds-snapshot"


@dataclass(frozen=True)
class ArrowField:
    name: str
    type: str
    nullable: bool


@dataclass(frozen=True)
class DataFile:
    """One exported Parquet file: its path relative to the task's directory (as RDS wrote it,
    and as it is copied under the export directory), and what pgdr read from it."""

    path: str
    bytes: int
    sha256: str
    rows: int
    fields: tuple[ArrowField, ...]


@dataclass(frozen=True)
class TableInfo:
    database: str
    schema: str
    table: str
    status: str
    #: (column name, PostgreSQL type as RDS reports it, RDS's exported type)
    columns: tuple[tuple[str, str, str], ...]


def safe_segment(what: str, name: str) -> str:
    if not name or name in (".", "..") or any(c in name for c in "/\\\x00"):
        raise UnsafeManifest(f"RDS export: {what} name {name!r} is not a safe path segment")
    return name


def safe_relative(path: str) -> str:
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in path:
        raise UnsafeManifest(f"RDS export: file {path!r} is not a safe relative path")
    return path


def tables_from_info(docs: Sequence[Any]) -> list[TableInfo]:
    """Every table of the ``export_tables_info`` documents (one per batch of tables)."""
    out: list[TableInfo] = []
    for doc in docs:
        entries = doc.get("perTableStatus") if isinstance(doc, dict) else None
        if not isinstance(entries, list):
            raise UnsafeManifest(
                "RDS export: an export_tables_info file has no perTableStatus list"
            )
        for e in entries:
            if not isinstance(e, dict):
                raise UnsafeManifest("RDS export: a perTableStatus entry is not an object")
            target = str(e.get("target", ""))
            parts = target.split(".", 2)
            if len(parts) != 3:
                raise UnsafeManifest(f"RDS export: target {target!r} is not database.schema.table")
            db, schema, table = (
                safe_segment(w, p)
                for w, p in zip(("database", "schema", "table"), parts, strict=True)
            )
            meta = e.get("schemaMetadata")
            mappings = meta.get("originalTypeMappings") if isinstance(meta, dict) else None
            cols = tuple(_column(target, m) for m in mappings or [])
            out.append(TableInfo(db, schema, table, str(e.get("status", "")), cols))
    return out


def _column(target: str, m: Any) -> tuple[str, str, str]:
    if not isinstance(m, dict) or not isinstance(m.get("columnName"), str):
        raise UnsafeManifest(f"RDS export: {target}: a column mapping has no columnName")
    return (m["columnName"], pg_type(m), str(m.get("expectedExportedType", "")))


def pg_type(mapping: dict[str, Any]) -> str:
    """The PostgreSQL type as format_type() writes it, from RDS's original type mapping
    (length or precision where RDS gives one)."""
    t = str(mapping.get("originalType", ""))
    raw = mapping.get("originalCharMaxLength")
    length = raw if isinstance(raw, int) else 0
    if length > 0 and t in ("character varying", "varchar", "character", "char", "bpchar"):
        return f"{t}({length})"
    return t


def manifest(
    *,
    export_id: str,
    snapshot_arn: str,
    snapshot_time: datetime,
    created: datetime,
    finished: datetime,
    pg_version: int | None,
    tables: Sequence[TableInfo],
    files: Sequence[DataFile],
) -> dict[str, Any]:
    """The ``_manifest.json`` object. Every file must belong to exactly one COMPLETE table;
    a table not COMPLETE fails the export (AwsError: RDS did not export it)."""
    for f in files:
        safe_relative(f.path)
    entries: list[dict[str, Any]] = []
    claimed: set[str] = set()
    for t in sorted(tables, key=lambda t: (t.database, t.schema, t.table)):
        if t.status.upper() != "COMPLETE":
            raise AwsError(
                f"RDS export: table {t.database}.{t.schema}.{t.table} ended {t.status!r}"
            )
        directory = f"{t.database}/{t.schema}.{t.table}/"
        mine = sorted((f for f in files if f.path.startswith(directory)), key=lambda f: f.path)
        claimed |= {f.path for f in mine}
        entries.append(_table_entry(t, directory, mine))
    stray = sorted({f.path for f in files} - claimed)
    if stray:
        raise UnsafeManifest(
            f"RDS export: file {stray[0]!r} belongs to no exported table "
            f"({len(stray)} such file(s)); no manifest written"
        )
    return {
        "format": FORMAT,
        "export_id": export_id,
        "producer": PRODUCER,
        "source": {
            "kind": SOURCE_KIND,
            "backup_id": None,
            "lsn": None,
            "target_time": None,
            "snapshot": snapshot_arn,
        },
        "snapshot_time": _iso(snapshot_time),
        "system_identifier": None,
        "pg_version": pg_version,
        "created": _iso(created),
        "finished": _iso(finished),
        "tables": entries,
    }


def _table_entry(t: TableInfo, directory: str, files: list[DataFile]) -> dict[str, Any]:
    arrow = {f.name: f for df in files[:1] for f in df.fields}
    columns = []
    for name, pgt, exported in t.columns:
        a = arrow.get(name)
        columns.append(
            {
                "name": name,
                "pg_type": pgt,
                "arrow_type": a.type if a else exported,
                "nullable": a.nullable if a else True,
                "note": None if a else f"no data file: type as RDS reports it ({exported})",
            }
        )
    return {
        "database": t.database,
        "schema": t.schema,
        "table": t.table,
        "rows": sum(f.rows for f in files),
        "bytes": sum(f.bytes for f in files),
        "partition_by": None,
        "columns": columns,
        "files": [
            {"path": f.path, "rows": f.rows, "bytes": f.bytes, "sha256": f.sha256} for f in files
        ],
    }


def pg_version_num(engine_version: str | None) -> int | None:
    """``15.4`` -> 150004 (server_version_num); None when unknown or unreadable."""
    if not engine_version:
        return None
    parts = engine_version.split(".")
    try:
        major = int(parts[0])
        minor = int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return None
    return major * 10000 + minor if major >= 10 else None


def _iso(t: datetime) -> str:
    """As pgdr's own exports write times: UTC, ``Z`` (a naive time is taken as UTC)."""
    t = t if t.tzinfo else t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")
