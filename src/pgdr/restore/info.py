"""`pgdr info`: what can be restored — backups, WAL per timeline with gaps, and the window
from the earliest restorable point to the newest archived WAL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console

from pgdr.catalog.load import load_backups
from pgdr.catalog.manifest import BackupManifest
from pgdr.catalog.wal import HistoryCache, WalCatalog, read_histories
from pgdr.errors import PgdrError
from pgdr.pg.wal import is_segment, parse_segment_name, segment_name
from pgdr.repo.format import WAL_PREFIX
from pgdr.repo.repository import Repository
from pgdr.restore.info_view import info_lines
from pgdr.restore.production import production_lineage
from pgdr.restore.restorable import backup_wal_problem
from pgdr.storage.base import ObjectInfo

SEG_SIZE = 16 << 20


@dataclass
class WalRange:
    timeline: int
    first: str
    last: str
    segments: int
    gaps: list[str] = field(default_factory=list)
    history_files: int = 0
    newest_archived_at: str | None = None
    #: "production", "production's history (…)" or "side branch off timeline N at LSN".
    role: str = "production"


@dataclass
class Info:
    repository: str
    backups: list[dict[str, Any]]
    wal: list[WalRange]
    window_start: str | None
    window_end: str | None
    #: Production's timeline (pgdr.restore.production); restores and drills follow it.
    production_timeline: int | None = None
    #: Why nothing is restorable although backups exist (the first backup's missing WAL).
    not_restorable: str | None = None
    #: backups whose manifest cannot be read: {id: why} (the CLI exits IntegrityError)
    damaged: dict[str, str] = field(default_factory=dict)

    def render_text(self, console: Console) -> None:
        """Fits the terminal's width (pgdr.restore.info_view)."""
        for line in info_lines(self, console.width):
            console.print(line)


def repository_info(
    repo: Repository,
    *,
    backups: Sequence[BackupManifest] | None = None,
    wal_objects: Iterable[ObjectInfo] | None = None,
    histories: HistoryCache | None = None,
) -> Info:
    """``backups`` and ``wal_objects`` (a listing of ``wal/``) may be passed in by a caller
    that already has them (the daemon caches immutable manifests, and with ``histories`` the
    parsed timeline history files)."""
    damaged: dict[str, str] = {}
    if backups is None:
        catalog = load_backups(repo)
        backups, damaged = catalog.manifests, catalog.damaged
    backups = sorted(backups, key=lambda b: b.stop_time)
    seg_size = backups[0].wal_segment_size if backups else SEG_SIZE
    per_tli: dict[int, list[tuple[int, datetime | None]]] = {}
    history: dict[int, int] = {}
    wal = WalCatalog.from_listing(
        repo.backend.list(WAL_PREFIX) if wal_objects is None else wal_objects
    )
    stored, archived = wal.stored, wal.archived
    for tli, files in stored.items():
        for name, when in files.items():
            if is_segment(name):
                per_tli.setdefault(tli, []).append((parse_segment_name(name, seg_size)[1], when))
            else:
                history[tli] = history.get(tli, 0) + 1
    try:
        timelines = (
            histories.read(repo, wal) if histories is not None else read_histories(repo, archived)
        )
    except PgdrError:  # a damaged history file: verify names it; info still shows the rest
        timelines = {}
    lineage = production_lineage(backups, stored, timelines)
    ranges = []
    newest: datetime | None = None  # the window ends at production's newest WAL
    for tli, segs in sorted(per_tli.items()):
        nos = sorted(s for s, _ in segs)
        have = set(nos)
        gaps = [segment_name(tli, s, seg_size) for s in range(nos[0], nos[-1] + 1) if s not in have]
        times = [m for _, m in segs if m is not None]
        last_at = max(times) if times else None
        if last_at and tli in lineage.path and (newest is None or last_at > newest):
            newest = last_at
        ranges.append(
            WalRange(
                tli,
                segment_name(tli, nos[0], seg_size),
                segment_name(tli, nos[-1], seg_size),
                len(nos),
                gaps,
                history.get(tli, 0),
                last_at.isoformat() if last_at else None,
                lineage.describe(tli),
            )
        )
    problems = {b.id: backup_wal_problem(b, archived) for b in backups}
    rows = [backup_row(b, problems[b.id]) for b in backups]
    # Restorable means a restore would succeed: only backups whose WAL range is archived.
    good = [b for b in backups if problems[b.id] is None]
    start = good[0].stop_time.isoformat() if good else None
    end = (
        newest.isoformat()
        if (good and newest)
        else (good[-1].stop_time.isoformat() if good else None)
    )
    if end is not None and start is not None and end < start:
        end = good[-1].stop_time.isoformat()
    first_problem = next((p for p in problems.values() if p), None)
    return Info(
        repo.backend.url,
        rows,
        ranges,
        start,
        end,
        lineage.timeline if backups or archived else None,
        None if good else first_problem,
        damaged,
    )


def backup_row(b: BackupManifest, problem: str | None) -> dict[str, Any]:
    """A backup as `pgdr info` shows it (and --json prints it)."""
    return {
        "id": b.id,
        "type": b.type,
        "label": b.label,
        "annotations": dict(b.annotations),
        "start_time": b.start_time.isoformat(),
        "stop_time": b.stop_time.isoformat(),
        "seconds": b.seconds,
        "start_lsn": b.start_lsn_text,
        "stop_lsn": b.stop_lsn_text,
        "timeline": b.timeline,
        "bytes": b.stats.bytes,
        "stored_bytes": b.stats.stored_bytes,
        "new_bytes": b.stats.new_bytes,
        "files": b.stats.files,
        "page_checksum_errors": [e.to_doc() for e in b.page_checksum_errors],
        "error": bool(b.page_checksum_errors),
        "wal_start": b.wal[0] if b.wal else None,
        "wal_stop": b.wal[-1] if b.wal else None,
        "databases": list(b.databases),
        "data_checksums": b.data_checksums,
        "pg_version_num": b.pg_version_num,
        "system_identifier": b.system_identifier,
        "restorable": problem is None,
        "problem": problem,
    }
