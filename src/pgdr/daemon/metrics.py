"""Prometheus exposition of the latest snapshot (prefix ``pgdr_``, units in names).

Scrapes never touch the database or the repository: they render what the last evaluation
collected, plus the scheduler's live state. The list is in docs/design.md §8h; the shipped
alerting rules and Grafana dashboard use only these names (a test checks it).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from pgdr import __version__
from pgdr.daemon.alert_rules import AlertState, archiving_failing
from pgdr.daemon.facts import Facts
from pgdr.daemon.settings import AlertSettings


@dataclass
class View:
    """What one rendering reads."""

    facts: Facts | None
    alerts: dict[str, AlertState] = field(default_factory=dict)
    scheduler: list[dict[str, Any]] = field(default_factory=list)
    settings: AlertSettings = field(default_factory=AlertSettings)


def _g(name: str, doc: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


def families(v: View) -> Iterator[Metric]:
    info = _g("pgdr_info", "pgdr build information", ["version"])
    info.add_metric([__version__], 1)
    yield info
    running = _g("pgdr_job_running", "1 while a job of this kind runs", ["kind"])
    pending = _g("pgdr_job_pending", "1 while a due run waits (e.g. for a retry)", ["kind"])
    failed_att = CounterMetricFamily(
        "pgdr_job_failed_attempts", "failed attempts since the daemon started", labels=["kind"]
    )
    for s in v.scheduler:
        running.add_metric([s["kind"]], 1 if s["running"] else 0)
        pending.add_metric([s["kind"]], 1 if s["pending"] else 0)
        failed_att.add_metric([s["kind"]], s["failed_attempts"])
    yield running
    yield pending
    yield failed_att
    firing = _g("pgdr_alert_firing", "1 while the alert fires", ["alert", "severity"])
    for a in sorted(v.alerts.values(), key=lambda a: a.name):
        firing.add_metric([a.name, a.severity], 1 if a.state == "firing" else 0)
    yield firing
    f = v.facts
    if f is None:
        return
    now = f.time.timestamp()
    yield _single("pgdr_collect_timestamp_seconds", "when these facts were collected", now)
    yield _single("pgdr_repository_up", "1 when the repository can be read", int(f.repo.up))
    yield _single("pgdr_postgres_up", "1 when the database answers", int(f.pg.up))
    yield from _backups(f, v.settings)
    yield from _jobs(f)
    yield from _wal(f)
    yield from _repository(f)
    yield from _drills(f)
    yield from _rds(f)
    yield from _exports(f)
    yield from _replicas(f)
    free = _g("pgdr_storage_free_bytes", "free bytes on the volume", ["volume", "path"])
    size = _g("pgdr_storage_size_bytes", "size of the volume in bytes", ["volume", "path"])
    for vol in f.volumes:
        free.add_metric([vol.name, vol.path], vol.free_bytes)
        size.add_metric([vol.name, vol.path], vol.total_bytes)
    yield free
    yield size
    if f.pg.up:
        lag_s = _g("pgdr_replication_lag_seconds", "standby replay lag", ["standby"])
        lag_b = _g(
            "pgdr_replication_lag_bytes", "WAL bytes a standby has not replayed", ["standby"]
        )
        for sb in f.pg.standbys:
            lag_s.add_metric([sb.name], sb.replay_lag_s or 0.0)
            if sb.lag_bytes is not None:
                lag_b.add_metric([sb.name], sb.lag_bytes)
        yield lag_s
        yield lag_b
        yield _single("pgdr_replication_standbys", "standbys connected", len(f.pg.standbys))


def _single(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _backups(f: Facts, s: AlertSettings) -> Iterator[Metric]:
    if not f.repo.up:
        return
    now = f.time
    names = {
        "age": ("pgdr_backup_last_success_age_seconds", "age of the newest backup"),
        "ts": ("pgdr_backup_last_success_timestamp_seconds", "end time of the newest backup"),
        "dur": ("pgdr_backup_last_duration_seconds", "duration of the newest backup"),
        "size": ("pgdr_backup_last_size_bytes", "size of the newest backup's files"),
        "stored": ("pgdr_backup_last_stored_bytes", "bytes the newest backup added, stored"),
        "count": ("pgdr_backups", "backups in the repository"),
    }
    fam = {k: _g(n, d, ["type"]) for k, (n, d) in names.items()}
    counts = Counter(b.type for b in f.repo.backups)
    for t in ("full", "incr"):
        of_type = [b for b in f.repo.backups if b.type == t]
        fam["count"].add_metric([t], counts[t])
        if not of_type:
            continue
        b = max(of_type, key=lambda b: b.stop_time)
        fam["age"].add_metric([t], (now - b.stop_time).total_seconds())
        fam["ts"].add_metric([t], b.stop_time.timestamp())
        fam["dur"].add_metric([t], b.seconds)
        fam["size"].add_metric([t], b.bytes)
        fam["stored"].add_metric([t], b.stored_bytes)
    yield from fam.values()
    ordered = sorted(f.repo.backups, key=lambda b: b.stop_time)
    before = ordered[:-1][-s.size_window :]
    if before:
        median = statistics.median(b.bytes for b in before)
        yield _single(
            "pgdr_backup_recent_median_size_bytes",
            "median size of the backups before the newest (size-anomaly band centre)",
            median,
        )
        if len(before) >= s.size_min_backups and median > 0:
            yield _single(
                "pgdr_backup_size_deviation_ratio",
                "(newest backup size - recent median) / recent median",
                (ordered[-1].bytes - median) / median,
            )
    if f.repo.window_start and f.repo.window_end:
        start, end = f.repo.window_start.timestamp(), f.repo.window_end.timestamp()
        yield _single(
            "pgdr_recovery_window_start_timestamp_seconds", "earliest restorable time", start
        )
        yield _single("pgdr_recovery_window_end_timestamp_seconds", "latest restorable time", end)
        yield _single(
            "pgdr_recovery_window_seconds", "length of the recoverable window", end - start
        )


def _jobs(f: Facts) -> Iterator[Metric]:
    runs = CounterMetricFamily("pgdr_job_runs", "job runs recorded", labels=["kind", "result"])
    last_ok = _g("pgdr_job_last_success_timestamp_seconds", "end of the last success", ["kind"])
    counts: Counter[tuple[str, str]] = Counter()
    last: dict[str, float] = {}
    for j in f.repo.jobs:
        counts[(j.kind, j.status)] += 1
        if j.status == "success":
            ts = datetime.fromisoformat(j.finished).timestamp()
            last[j.kind] = max(ts, last.get(j.kind, 0.0))
    for (kind, result), n in sorted(counts.items()):
        runs.add_metric([kind, result], n)
    for kind, ts in sorted(last.items()):
        last_ok.add_metric([kind], ts)
    yield runs
    yield last_ok
    exports = [j for j in f.repo.jobs if j.kind == "export"]
    if exports:
        yield _single(
            "pgdr_export_last_job_success",
            "1 when the last export job succeeded (0: it failed or refused)",
            int(exports[-1].status == "success"),
        )
    verifies = [j for j in f.repo.jobs if j.kind == "verify"]
    if verifies:
        v = verifies[-1]
        yield _single(
            "pgdr_verify_last_success",
            "1 when the last verify found no damage",
            int(v.status == "success"),
        )


def _wal(f: Facts) -> Iterator[Metric]:
    if f.wal_lag_segments is not None:
        yield _single(
            "pgdr_wal_archive_lag_segments",
            "completed WAL segments not yet stored",
            f.wal_lag_segments,
        )
        yield _single(
            "pgdr_wal_archive_lag_seconds",
            "how long the oldest unstored one waits",
            f.wal_lag_seconds or 0.0,
        )
    if f.pg.up:
        pg = f.pg
        yield CounterMetricFamily(
            "pgdr_wal_archived", "pg_stat_archiver.archived_count", value=pg.archived_count
        )
        yield CounterMetricFamily(
            "pgdr_wal_archive_failures", "pg_stat_archiver.failed_count", value=pg.failed_count
        )
        failing, _why = archiving_failing(f)
        yield _single(
            "pgdr_wal_archive_failing",
            "1 while archive_command fails (or archive_mode is off)",
            int(failing),
        )
    if f.repo.up and f.repo.wal_newest_time is not None:
        yield _single(
            "pgdr_wal_last_archived_timestamp_seconds",
            "when the newest WAL object was stored",
            f.repo.wal_newest_time.timestamp(),
        )
    if f.repo.up:
        yield _single(
            "pgdr_wal_gaps", "missing WAL segments inside the archived ranges", f.repo.wal_gaps
        )


def _repository(f: Facts) -> Iterator[Metric]:
    if not f.repo.up:
        return
    size = _g("pgdr_repository_bytes", "bytes stored, by object kind", ["kind"])
    objs = _g("pgdr_repository_objects", "objects stored, by kind", ["kind"])
    for kind in sorted(f.repo.bytes_by_kind):
        size.add_metric([kind], f.repo.bytes_by_kind[kind])
        objs.add_metric([kind], f.repo.objects_by_kind.get(kind, 0))
    yield size
    yield objs


def _rds(f: Facts) -> Iterator[Metric]:
    r = f.rds
    if r is None:
        return
    up = _g("pgdr_rds_up", "1 when DescribeDBInstances of the [rds] instance answered", ["db"])
    up.add_metric([r.instance], int(r.up))
    yield up
    lag = r.pitr_lag_s(f.time)
    if lag is not None:
        g = _g("pgdr_rds_pitr_lag_seconds", "now - LatestRestorableTime: the RDS RPO", ["db"])
        g.add_metric([r.instance], lag)
        yield g
    if r.retention_days is not None:
        g = _g("pgdr_rds_retention_seconds", "BackupRetentionPeriod of the instance", ["db"])
        g.add_metric([r.instance], r.retention_days * 86400)
        yield g
    if r.policy_days is not None:
        g = _g("pgdr_rds_retention_policy_seconds", "[rds.policy] retention_days", ["db"])
        g.add_metric([r.instance], r.policy_days * 86400)
        yield g


def _drills(f: Facts) -> Iterator[Metric]:
    if not f.repo.drills:
        return
    d = f.repo.drills[-1]
    yield _single("pgdr_drill_last_success", "1 when the latest drill passed", int(d.passed))
    yield _single(
        "pgdr_drill_last_timestamp_seconds", "when the latest drill ran", d.time.timestamp()
    )
    if d.seconds is not None:
        yield _single("pgdr_drill_last_duration_seconds", "duration of the latest drill", d.seconds)
    if d.rto_s is not None:
        yield _single("pgdr_drill_last_rto_seconds", "measured recovery time", d.rto_s)
    if d.rpo_s is not None:
        yield _single("pgdr_drill_last_rpo_seconds", "measured recovery point gap", d.rpo_s)


def _exports(f: Facts) -> Iterator[Metric]:
    """From the newest complete export's ``_manifest.json`` on the target (not from memory:
    the values survive a restart of the daemon)."""
    e = f.exports
    if e is None or not e.configured:
        return
    yield _single("pgdr_export_target_up", "1 when the exports target can be listed", int(e.up))
    if not e.up:
        return
    yield _by_state("pgdr_exports", "exports at the target", ["state"], e.complete, e.incomplete)
    if e.latest_finished is None:
        return
    yield _single(
        "pgdr_export_last_success_timestamp_seconds",
        "when the newest complete export finished",
        e.latest_finished.timestamp(),
    )
    if e.latest_seconds is not None:
        yield _single(
            "pgdr_export_last_duration_seconds",
            "how long the newest complete export took",
            e.latest_seconds,
        )
    rows = _g("pgdr_export_rows", "rows of each table in the newest complete export", LABELS)
    size = _g("pgdr_export_bytes", "Parquet bytes of each table in the newest export", LABELS)
    for t in e.tables:
        rows.add_metric([t.database, t.table], t.rows)
        size.add_metric([t.database, t.table], t.bytes)
    yield rows
    yield size


LABELS = ("database", "table")


def _by_state(name: str, doc: str, labels: list[str], complete: int, incomplete: int) -> Metric:
    g = _g(name, doc, labels)
    g.add_metric(["complete"], complete)
    g.add_metric(["incomplete"], incomplete)
    return g


class _ViewCollector(Collector):
    def __init__(self, view: View) -> None:
        self.view = view

    def collect(self) -> Iterable[Metric]:
        return list(families(self.view))


def render(view: View) -> bytes:
    from prometheus_client import generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ViewCollector(view))
    return generate_latest(registry)


def _replicas(f: Facts) -> Iterator[Metric]:
    """Second repositories (``replicate_to``): allowed to lag, and the lag is exported."""
    up = _g("pgdr_replica_up", "1 when the replica repository can be listed", ["replica"])
    secs = _g(
        "pgdr_replica_lag_seconds",
        "age of the oldest object the replica lacks (0: nothing missing)",
        ["replica"],
    )
    objs = _g("pgdr_replica_lag_objects", "objects the replica lacks", ["replica"])
    size = _g("pgdr_replica_lag_bytes", "bytes the replica lacks", ["replica"])
    for r in f.repo.replicas:
        up.add_metric([r.name], int(r.up))
        if r.up:
            secs.add_metric([r.name], r.seconds_behind)
            objs.add_metric([r.name], r.objects_behind)
            size.add_metric([r.name], r.bytes_behind)
    yield from (up, secs, objs, size)
