"""A backup manifest document, typed: the key names live here (the writer in
``pgdr.backup.run`` builds its document with them) and ``BackupManifest.from_doc`` parses and
checks a stored document once. A document that is not a backup manifest raises
``ManifestError`` (the loader names it as damaged, never "no backups").

The file list is kept as stored (``files``): ``pgdr.restore.safety.check_manifest`` is the
one place that validates entries before a restore writes them (docs/design.md §11), and
returns them as ``FileEntry``s."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pgdr.catalog.fields import count, text
from pgdr.catalog.snapshot import CatalogSnapshot
from pgdr.pg.wal import DEFAULT_SEG_SIZE, format_lsn, parse_lsn

KIND = "backup"

# The manifest document's keys (docs/design.md "Backup manifest").
ID = "id"
TYPE = "type"
LABEL = "label"
ANNOTATIONS = "annotations"
START_TIME = "start_time"
STOP_TIME = "stop_time"
START_LSN = "start_lsn"
STOP_LSN = "stop_lsn"
TIMELINE = "timeline"
WAL_SEGMENT_SIZE = "wal_segment_size"
WAL = "wal"
SYSTEM_IDENTIFIER = "system_identifier"
PG_VERSION_NUM = "pg_version_num"
DATA_DIR = "data_dir"
DATABASES = "databases"
#: {oid as text: name} of every database in pg_database (what base/<oid>/ belongs to).
DATABASE_OIDS = "database_oids"
BACKUP_LABEL = "backup_label"
TABLESPACE_MAP = "tablespace_map"
FILES = "files"
CATALOG = "catalog"
PAGE_CHECKSUM_ERRORS = "page_checksum_errors"
DATA_CHECKSUMS = "data_checksums"
STATS = "stats"
#: Keys of ``stats``.
STAT_BYTES, STAT_NEW_BYTES, STAT_STORED_BYTES, STAT_FILES = (
    "bytes",
    "new_bytes",
    "stored_bytes",
    "files",
)


class ManifestError(ValueError):
    """A stored document that is not a usable backup manifest."""


def manifest_key(backup_id: str) -> str:
    return f"manifests/{KIND}/{backup_id}"


@dataclass(frozen=True)
class BackupStats:
    bytes: int = 0
    new_bytes: int = 0
    stored_bytes: int = 0
    files: int = 0


@dataclass(frozen=True)
class PageErrors:
    """Pages of one relation file whose checksum failed while the backup read them."""

    file: str
    blocks: tuple[int, ...]

    def to_doc(self) -> dict[str, object]:
        return {"file": self.file, "blocks": list(self.blocks)}


@dataclass(frozen=True)
class BackupManifest:
    id: str
    type: str  # full | incr
    label: str
    start_time: datetime
    stop_time: datetime
    start_lsn: int
    stop_lsn: int
    timeline: int
    wal: tuple[str, ...]  # the WAL files from start to stop LSN, in order
    wal_segment_size: int = DEFAULT_SEG_SIZE
    annotations: Mapping[str, str] = field(default_factory=dict)
    system_identifier: str = ""
    pg_version_num: int = 0
    data_dir: str = ""
    databases: tuple[str, ...] = ()
    #: Every database's oid and name (``restore --database`` keeps base/<oid>/ by name);
    #: empty in a manifest written before it was recorded.
    database_oids: Mapping[int, str] = field(default_factory=dict)
    backup_label: object = None  # text in every manifest; checked before a restore uses it
    tablespace_map: str | None = None
    files: object = ()  # the entries as stored: see the module docstring
    #: What the backup recorded of its source database (drills compare with it).
    catalog: CatalogSnapshot = field(default_factory=CatalogSnapshot)
    page_checksum_errors: tuple[PageErrors, ...] = ()
    data_checksums: bool | None = None
    stats: BackupStats = field(default_factory=BackupStats)

    @property
    def start_lsn_text(self) -> str:
        return format_lsn(self.start_lsn)

    @property
    def stop_lsn_text(self) -> str:
        return format_lsn(self.stop_lsn)

    @property
    def seconds(self) -> float:
        return (self.stop_time - self.start_time).total_seconds()

    def without_contents(self) -> BackupManifest:
        """The same facts without the file list and catalog snapshot (what a long-lived
        cache such as the daemon's keeps)."""
        return _replace(self, files=(), catalog=CatalogSnapshot())

    @classmethod
    def from_doc(cls, doc: object, backup_id: str | None = None) -> BackupManifest:
        """Parse a stored document; ``backup_id``: the id its object is stored under, which
        the document must name (a manifest copied under another name is not that backup)."""
        if not isinstance(doc, dict):
            raise ManifestError("not a backup manifest (damaged or forged)")
        if backup_id is not None and doc.get(ID) != backup_id:
            raise ManifestError("not a backup manifest (damaged or forged)")
        try:
            return cls._parse(doc)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ManifestError(f"not a usable backup manifest: {_why(e)}") from None

    @classmethod
    def _parse(cls, d: dict[str, Any]) -> BackupManifest:
        stats = d.get(STATS) or {}
        return cls(
            id=text(d[ID]),
            type=text(d[TYPE]),
            label=str(d.get(LABEL) or ""),
            start_time=_time(d[START_TIME]),
            stop_time=_time(d[STOP_TIME]),
            start_lsn=parse_lsn(text(d[START_LSN])),
            stop_lsn=parse_lsn(text(d[STOP_LSN])),
            timeline=count(d[TIMELINE]),
            wal=tuple(text(n) for n in d.get(WAL) or ()),
            wal_segment_size=count(d.get(WAL_SEGMENT_SIZE) or DEFAULT_SEG_SIZE),
            annotations={str(k): str(v) for k, v in (d.get(ANNOTATIONS) or {}).items()},
            system_identifier=str(d.get(SYSTEM_IDENTIFIER) or ""),
            pg_version_num=count(d.get(PG_VERSION_NUM) or 0),
            data_dir=str(d.get(DATA_DIR) or ""),
            databases=tuple(str(x) for x in d.get(DATABASES) or ()),
            database_oids={
                count(int(text(k))): text(v) for k, v in (d.get(DATABASE_OIDS) or {}).items()
            },
            backup_label=d.get(BACKUP_LABEL),
            tablespace_map=d.get(TABLESPACE_MAP),
            files=d.get(FILES, ()),
            catalog=CatalogSnapshot.from_doc(d.get(CATALOG)),
            page_checksum_errors=tuple(
                PageErrors(str(e["file"]), tuple(int(b) for b in e["blocks"]))
                for e in d.get(PAGE_CHECKSUM_ERRORS) or ()
            ),
            data_checksums=d.get(DATA_CHECKSUMS),
            stats=BackupStats(
                int(stats.get(STAT_BYTES, 0)),
                int(stats.get(STAT_NEW_BYTES, 0)),
                int(stats.get(STAT_STORED_BYTES, 0)),
                int(stats.get(STAT_FILES, 0)),
            ),
        )


def _replace(m: BackupManifest, **changes: Any) -> BackupManifest:
    import dataclasses

    return dataclasses.replace(m, **changes)


def _why(e: Exception) -> str:
    return f"no {e.args[0]!r}" if isinstance(e, KeyError) else str(e)


def _time(v: object) -> datetime:
    when = datetime.fromisoformat(text(v))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# A file entry's keys.
F_PATH, F_KIND, F_MODE, F_MTIME = "path", "kind", "mode", "mtime"
F_SIZE, F_REFS, F_CHUNK, F_TARGET = "size", "refs", "chunk", "target"


@dataclass(frozen=True)
class FileEntry:
    """One entry of a backup's file list as a restore creates it: what
    ``pgdr.restore.safety.check_files`` returns once it accepted the stored entry."""

    path: str
    kind: str  # file | dir | link (a tablespace) | gone (dropped during the backup)
    mode: int = 0
    mtime: float | None = None
    size: int = 0
    refs: tuple[int, int] = (0, 0)  # [start, count] in the manifest's reference table
    chunk: int = 0
    target: str = ""  # a tablespace link's location

    @property
    def file_mtime(self) -> float:
        """A file's modification time (files always have one: ``check_files``)."""
        return self.mtime if self.mtime is not None else 0.0
