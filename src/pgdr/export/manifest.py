"""``_manifest.json`` of an export (format ``pgdr-export/1``, docs/design.md §8j).

The exports target is untrusted input: ``parse`` checks every key, type and path before
anything uses the manifest, and refuses the whole manifest with one ``UnsafeExportManifest``
(exit 66) naming the first thing wrong. A file path must be relative, use ``/``, hold no
``..`` or empty segment and lie under ``<database>/<schema>.<table>/`` of its own table, so a
reader that joins it to the export directory never leaves that table's directory.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pgdr.errors import UnsafeExportManifest

FORMAT = "pgdr-export/1"
MANIFEST_NAME = "_manifest.json"
SUCCESS_NAME = "_SUCCESS"
#: Exports bigger than this are refused before parsing (a forged manifest cannot exhaust memory).
MAX_MANIFEST_BYTES = 64 << 20

SourceKind = Literal["backup", "live", "rds-snapshot"]
Producer = Literal["pgdr", "rds-export"]
_SOURCE_KINDS: tuple[str, ...] = ("backup", "live", "rds-snapshot")
_PRODUCERS: tuple[str, ...] = ("pgdr", "rds-export")

EXPORT_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_LSN = re.compile(r"^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$")
_SYSID = re.compile(r"^\d{1,20}$")


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    backup_id: str | None = None
    lsn: str | None = None
    target_time: datetime | None = None
    snapshot: str | None = None


@dataclass(frozen=True)
class ColumnEntry:
    name: str
    pg_type: str
    arrow_type: str
    nullable: bool
    note: str | None = None


@dataclass(frozen=True)
class FileEntry:
    #: Relative to the export directory, e.g. ``app/public.users/part-00000.parquet``.
    path: str
    rows: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class TableEntry:
    database: str
    schema: str
    table: str
    rows: int
    bytes: int
    partition_by: str | None
    columns: tuple[ColumnEntry, ...]
    files: tuple[FileEntry, ...]

    @property
    def directory(self) -> str:
        """``<database>/<schema>.<table>/``: every file of the table lies under it."""
        return table_directory(self.database, self.schema, self.table)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"


@dataclass(frozen=True)
class ExportManifest:
    export_id: str
    source: Source
    snapshot_time: datetime
    created: datetime
    finished: datetime
    tables: tuple[TableEntry, ...]
    system_identifier: str | None = None
    pg_version: int | None = None
    producer: Producer = "pgdr"
    format: str = FORMAT

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def total_bytes(self) -> int:
        return sum(t.bytes for t in self.tables)

    def audit_details(self, url: str) -> dict[str, object]:
        """What the audit log records of a finished export (action ``export``, §8g)."""
        return {
            "export_id": self.export_id,
            "url": url,
            "source": self.source.kind,
            "backup_id": self.source.backup_id,
            "snapshot_time": self.snapshot_time.isoformat(),
            "tables": len(self.tables),
            "rows": self.total_rows,
            "bytes": self.total_bytes,
        }

    def table(self, database: str, qualified: str) -> TableEntry | None:
        for t in self.tables:
            if t.database == database and t.qualified == qualified:
                return t
        return None

    def to_json(self) -> bytes:
        """The manifest's bytes as written (stable key order; ``parse`` reads them back)."""
        return (json.dumps(_manifest_dict(self), indent=1, ensure_ascii=False) + "\n").encode()


def table_directory(database: str, schema: str, table: str) -> str:
    return f"{database}/{schema}.{table}/"


def check_name(what: str, name: str) -> str:
    """A database, schema or table name usable as one path segment (the writer refuses
    others; the reader refuses manifests naming them)."""
    if not name or "/" in name or "\\" in name or "\x00" in name or name in (".", ".."):
        raise UnsafeExportManifest(
            f"export manifest: {what} name {name!r} is not a safe path segment"
        )
    return name


def check_file_path(path: str, directory: str) -> str:
    """A file path of a manifest: relative, ``/``-separated, no ``..``/``.``/empty segment,
    under ``directory`` (its table's)."""
    if not path.startswith(directory):
        raise UnsafeExportManifest(
            f"export manifest: file {path!r} lies outside its table {directory!r}"
        )
    segments = path.split("/")
    if path.startswith("/") or any(s in ("", ".", "..") for s in segments):
        raise UnsafeExportManifest(
            f"export manifest: file path {path!r} is not a safe relative path"
        )
    if "\\" in path or "\x00" in path:
        raise UnsafeExportManifest(
            f"export manifest: file path {path!r} is not a safe relative path"
        )
    return path


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def success_matches(manifest_raw: bytes, success_raw: bytes) -> bool:
    """``_SUCCESS`` holds the manifest's SHA-256 hex: an export is complete only if it matches."""
    return success_raw.strip().decode("ascii", "replace") == sha256_hex(manifest_raw)


def format_time(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse(raw: bytes) -> ExportManifest:
    """Validate and load a ``_manifest.json``; ``UnsafeExportManifest`` on anything wrong."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise UnsafeExportManifest(f"export manifest: {len(raw)} bytes is more than any export has")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UnsafeExportManifest(f"export manifest: not UTF-8 JSON ({e})") from None
    r = _Reader(_obj(doc, "manifest"), "manifest")
    fmt = r.text("format")
    if fmt != FORMAT:
        raise UnsafeExportManifest(f"export manifest: format {fmt!r} is not {FORMAT!r}")
    export_id = r.text("export_id")
    if not EXPORT_ID.match(export_id):
        raise UnsafeExportManifest(f"export manifest: export_id {export_id!r} is malformed")
    producer = r.text("producer")
    if producer not in _PRODUCERS:
        raise UnsafeExportManifest(f"export manifest: producer {producer!r} is unknown")
    sysid = r.opt_text("system_identifier")
    if sysid is not None and not _SYSID.match(sysid):
        raise UnsafeExportManifest(f"export manifest: system_identifier {sysid!r} is malformed")
    tables = tuple(_table(t, f"tables[{i}]") for i, t in enumerate(r.items("tables")))
    seen: set[str] = set()
    for t in tables:
        for f in t.files:
            if f.path in seen:
                raise UnsafeExportManifest(f"export manifest: file {f.path!r} is listed twice")
            seen.add(f.path)
    return ExportManifest(
        format=fmt,
        export_id=export_id,
        producer=producer,  # type: ignore[arg-type]  # checked against _PRODUCERS
        source=_source(r.obj("source")),
        snapshot_time=r.time("snapshot_time"),
        system_identifier=sysid,
        pg_version=r.opt_int("pg_version"),
        created=r.time("created"),
        finished=r.time("finished"),
        tables=tables,
    )


def _source(doc: dict[str, Any]) -> Source:
    r = _Reader(doc, "source")
    kind = r.text("kind")
    if kind not in _SOURCE_KINDS:
        raise UnsafeExportManifest(f"export manifest: source kind {kind!r} is unknown")
    lsn = r.opt_text("lsn")
    if lsn is not None and not _LSN.match(lsn):
        raise UnsafeExportManifest(f"export manifest: source lsn {lsn!r} is malformed")
    return Source(
        kind=kind,  # type: ignore[arg-type]  # checked against _SOURCE_KINDS
        backup_id=r.opt_text("backup_id"),
        lsn=lsn,
        target_time=r.opt_time("target_time"),
        snapshot=r.opt_text("snapshot"),
    )


def _table(doc: object, where: str) -> TableEntry:
    r = _Reader(_obj(doc, where), where)
    database = check_name("database", r.text("database"))
    schema = check_name("schema", r.text("schema"))
    table = check_name("table", r.text("table"))
    directory = table_directory(database, schema, table)
    columns = tuple(_column(c, f"{where}.columns[{i}]") for i, c in enumerate(r.items("columns")))
    files = tuple(
        _file(f, f"{where}.files[{i}]", directory) for i, f in enumerate(r.items("files"))
    )
    rows, size = r.count("rows"), r.count("bytes")
    if rows != sum(f.rows for f in files) or size != sum(f.bytes for f in files):
        raise UnsafeExportManifest(
            f"export manifest: {where} ({schema}.{table}): rows/bytes differ from its files' sums"
        )
    partition_by = r.opt_text("partition_by")
    if partition_by is not None and partition_by not in {c.name for c in columns}:
        raise UnsafeExportManifest(
            f"export manifest: {where} partitioned by unknown column {partition_by!r}"
        )
    return TableEntry(database, schema, table, rows, size, partition_by, columns, files)


def _column(doc: object, where: str) -> ColumnEntry:
    r = _Reader(_obj(doc, where), where)
    return ColumnEntry(
        name=r.text("name"),
        pg_type=r.text("pg_type"),
        arrow_type=r.text("arrow_type"),
        nullable=r.flag("nullable"),
        note=r.opt_text("note"),
    )


def _file(doc: object, where: str, directory: str) -> FileEntry:
    r = _Reader(_obj(doc, where), where)
    sha = r.text("sha256")
    if not _SHA256.match(sha):
        raise UnsafeExportManifest(
            f"export manifest: {where}.sha256 is not 64 lowercase hex digits"
        )
    return FileEntry(
        check_file_path(r.text("path"), directory), r.count("rows"), r.count("bytes"), sha
    )


def _obj(doc: object, where: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise UnsafeExportManifest(f"export manifest: {where} is not an object")
    return doc


class _Reader:
    """Typed access to one JSON object; every miss names the key and where it is."""

    def __init__(self, doc: dict[str, Any], where: str) -> None:
        self.doc, self.where = doc, where

    def _get(self, key: str) -> object:
        if key not in self.doc:
            raise UnsafeExportManifest(f"export manifest: {self.where} has no {key!r}")
        return self.doc[key]

    def _bad(self, key: str, want: str) -> UnsafeExportManifest:
        return UnsafeExportManifest(f"export manifest: {self.where}.{key} is not {want}")

    def text(self, key: str) -> str:
        v = self._get(key)
        if not isinstance(v, str):
            raise self._bad(key, "a string")
        return v

    def opt_text(self, key: str) -> str | None:
        v = self._get(key)
        if v is not None and not isinstance(v, str):
            raise self._bad(key, "a string or null")
        return v

    def flag(self, key: str) -> bool:
        v = self._get(key)
        if not isinstance(v, bool):
            raise self._bad(key, "true or false")
        return v

    def count(self, key: str) -> int:
        v = self._get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise self._bad(key, "a non-negative integer")
        return v

    def opt_int(self, key: str) -> int | None:
        v = self._get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int):
            raise self._bad(key, "an integer or null")
        return v

    def time(self, key: str) -> datetime:
        v = self.opt_time(key)
        if v is None:
            raise self._bad(key, "an ISO-8601 time")
        return v

    def opt_time(self, key: str) -> datetime | None:
        v = self.opt_text(key)
        if v is None:
            return None
        try:
            t = datetime.fromisoformat(v)
        except ValueError:
            raise self._bad(key, "an ISO-8601 time") from None
        if t.tzinfo is None:
            raise self._bad(key, "an ISO-8601 time with a UTC offset")
        return t.astimezone(UTC)

    def obj(self, key: str) -> dict[str, Any]:
        return _obj(self._get(key), f"{self.where}.{key}")

    def items(self, key: str) -> list[object]:
        v = self._get(key)
        if not isinstance(v, list):
            raise self._bad(key, "a list")
        return v


def _manifest_dict(m: ExportManifest) -> dict[str, Any]:
    s = m.source
    return {
        "format": m.format,
        "export_id": m.export_id,
        "producer": m.producer,
        "source": {
            "kind": s.kind,
            "backup_id": s.backup_id,
            "lsn": s.lsn,
            "target_time": format_time(s.target_time) if s.target_time else None,
            "snapshot": s.snapshot,
        },
        "snapshot_time": format_time(m.snapshot_time),
        "system_identifier": m.system_identifier,
        "pg_version": m.pg_version,
        "created": format_time(m.created),
        "finished": format_time(m.finished),
        "tables": [
            {
                "database": t.database,
                "schema": t.schema,
                "table": t.table,
                "rows": t.rows,
                "bytes": t.bytes,
                "partition_by": t.partition_by,
                "columns": [
                    {
                        "name": c.name,
                        "pg_type": c.pg_type,
                        "arrow_type": c.arrow_type,
                        "nullable": c.nullable,
                        "note": c.note,
                    }
                    for c in t.columns
                ],
                "files": [
                    {"path": f.path, "rows": f.rows, "bytes": f.bytes, "sha256": f.sha256}
                    for f in t.files
                ],
            }
            for t in m.tables
        ],
    }
