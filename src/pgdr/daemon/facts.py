"""A snapshot of everything alerts, metrics, `pgdr status` and the dashboard look at: plain
data, collected by ``collect_repo`` / ``collect_pg`` / ``collect_fs`` and read by pure code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pgdr.daemon.history import JobRecord


@dataclass(frozen=True)
class BackupFact:
    id: str
    type: str  # full | incr
    start_time: datetime
    stop_time: datetime
    bytes: int
    stored_bytes: int
    new_bytes: int
    timeline: int
    #: Taken by the daemon's scheduler (annotated pgdr.job; its job record counts the run);
    #: False for a manual `pgdr backup`, which has no job record.
    scheduled: bool = False

    @property
    def seconds(self) -> float:
        return (self.stop_time - self.start_time).total_seconds()


@dataclass(frozen=True)
class DrillFact:
    id: str
    time: datetime
    passed: bool
    status: str
    seconds: float | None = None
    rto_s: float | None = None
    rpo_s: float | None = None
    message: str = ""  # the drill's own one-line verdict (why it failed)


@dataclass
class RepoFacts:
    url: str
    up: bool
    error: str | None = None
    backups: list[BackupFact] = field(default_factory=list)  # oldest first
    window_start: datetime | None = None
    window_end: datetime | None = None
    #: Production's timeline (pgdr.restore.production): the window is measured on its path.
    production_timeline: int | None = None
    bytes_by_kind: dict[str, int] = field(default_factory=dict)
    objects_by_kind: dict[str, int] = field(default_factory=dict)
    #: Newest archived segment per timeline (segment number) and when it was stored.
    wal_newest: dict[int, int] = field(default_factory=dict)
    wal_newest_time: datetime | None = None
    wal_gaps: int = 0
    jobs: list[JobRecord] = field(default_factory=list)
    drills: list[DrillFact] = field(default_factory=list)  # oldest first
    replicas: list[ReplicaFact] = field(default_factory=list)
    repo_id: str | None = None  # the repository's id (drill notifications are keyed by it)


@dataclass(frozen=True)
class ReplicaFact:
    """A second repository this one replicates into (``replicate_to``), compared by listing."""

    name: str
    up: bool
    error: str | None = None
    initialized: bool = False
    objects_behind: int = 0
    bytes_behind: int = 0
    seconds_behind: float = 0.0


@dataclass(frozen=True)
class Standby:
    name: str
    client_addr: str | None
    state: str
    replay_lag_s: float | None
    lag_bytes: int | None


@dataclass
class PgFacts:
    up: bool
    error: str | None = None
    in_recovery: bool = False
    timeline: int | None = None
    current_segment: int | None = None  # segment number of the WAL insert position
    wal_segment_size: int = 16 << 20
    archive_mode: str | None = None
    archived_count: int = 0
    failed_count: int = 0
    last_archived_wal: str | None = None
    last_archived_time: datetime | None = None
    last_failed_wal: str | None = None
    last_failed_time: datetime | None = None
    data_dir: str | None = None
    standbys: list[Standby] = field(default_factory=list)


@dataclass(frozen=True)
class Volume:
    name: str  # repository | pgdata
    path: str
    free_bytes: int
    total_bytes: int

    @property
    def free_pct(self) -> float:
        return 100.0 * self.free_bytes / self.total_bytes if self.total_bytes else 0.0


@dataclass(frozen=True)
class RdsFact:
    """The [rds] instance as DescribeDBInstances reports it (RDS mode, docs/design.md §8h)."""

    instance: str
    up: bool
    error: str | None = None
    #: The newest point a restore can reach; None: automated backups are off.
    latest_restorable: datetime | None = None
    retention_days: int | None = None
    #: What [rds.policy] retention_days asks for.
    policy_days: int | None = None

    def pitr_lag_s(self, now: datetime) -> float | None:
        """The current RPO: now - LatestRestorableTime (never negative)."""
        if self.latest_restorable is None:
            return None
        return max(0.0, (now - self.latest_restorable).total_seconds())


@dataclass(frozen=True)
class ExportTableFact:
    database: str
    table: str  # schema.table
    rows: int
    bytes: int


@dataclass(frozen=True)
class ExportFact:
    """The ``[exports]`` target as the newest complete export's ``_manifest.json`` tells it
    (read from the target, so it survives daemon restarts; docs/design.md §8h)."""

    #: None: ``[exports] url`` is not configured (``error`` says so).
    url: str | None
    up: bool
    error: str | None = None
    #: The schedule's longest gap between two slots (None: the export is not scheduled).
    period_s: float | None = None
    latest_id: str | None = None
    #: When the newest complete export started / finished, and the moment its data is of.
    latest_started: datetime | None = None
    latest_finished: datetime | None = None
    latest_snapshot: datetime | None = None
    latest_source: str | None = None
    tables: tuple[ExportTableFact, ...] = ()
    complete: int = 0
    incomplete: int = 0

    @property
    def configured(self) -> bool:
        return self.url is not None

    @property
    def latest_seconds(self) -> float | None:
        if self.latest_started is None or self.latest_finished is None:
            return None
        return max(0.0, (self.latest_finished - self.latest_started).total_seconds())


@dataclass
class Facts:
    time: datetime
    repo: RepoFacts
    pg: PgFacts
    volumes: list[Volume] = field(default_factory=list)
    wal_lag_segments: int | None = None
    wal_lag_seconds: float | None = None
    #: RDS mode only ([rds] configured): the instance's PITR state.
    rds: RdsFact | None = None
    #: The exports target (None: not watched, e.g. facts built by hand).
    exports: ExportFact | None = None


def wal_lag(pg: PgFacts, repo: RepoFacts, now: datetime) -> tuple[int | None, float | None]:
    """Completed WAL segments not yet in the repository, and for how long the oldest of them
    has waited (approximated by the age of the newest archived one). None when unknown."""
    if not pg.up or not repo.up or pg.in_recovery or pg.current_segment is None:
        return None, None
    if pg.timeline is None:
        return None, None
    stored = [seg for tli, seg in repo.wal_newest.items() if tli <= pg.timeline]
    newest = max(stored) if stored else -1
    segments = max(0, pg.current_segment - newest - 1)
    if segments == 0:
        return 0, 0.0
    since = repo.wal_newest_time
    seconds = (now - since).total_seconds() if since is not None else None
    return segments, seconds
