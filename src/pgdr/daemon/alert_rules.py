"""Alert evaluation (pure): facts + thresholds -> conditions; conditions + previous states ->
new states + transitions. Table-tested in tests/unit/test_daemon_alerts.py.

State machine per alert (docs/design.md §8h)::

    ok ──cond──▶ pending ──held for_s──▶ firing ──not cond──▶ ok (resolved)
     ▲              │                       (for_s = 0: ok ──cond──▶ firing directly)
     └──not cond────┘

A condition whose source cannot be read right now (``active is None``: the database is down,
the repository unreachable) leaves its alert as it is, so an outage neither resolves nor
re-fires other alerts. Only ``ok -> firing`` and ``firing -> ok`` are transitions that are
notified; a firing alert is notified once, however long it fires (de-duplication).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from pgdr.daemon import export_state
from pgdr.daemon.facts import Facts
from pgdr.daemon.settings import AlertSettings
from pgdr.drill.events import drill_dedup_key
from pgdr.humanize import human

Severity = Literal["warning", "critical"]
State = Literal["ok", "pending", "firing"]

#: name -> (severity, what it means). The Prometheus rules in deploy/prometheus mirror these.
RULES: dict[str, tuple[Severity, str]] = {
    "backup_age": ("critical", "the newest backup is older than backup_max_age_s (26 h)"),
    "backup_size": ("warning", "the newest backup's size is outside ±size_band_pct of the median"),
    "drill_failed": ("critical", "the latest restore drill failed"),
    "storage_free_repository": ("warning", "free space where the repository lives is low"),
    "storage_free_pgdata": ("warning", "free space in the database's data directory is low"),
    "replica_lag": ("warning", "a standby replays more than replica_lag_max_s behind"),
    "wal_archive_failing": ("critical", "archive_command fails (pg_stat_archiver)"),
    "wal_archive_lag": ("warning", "completed WAL segments wait too long for the repository"),
    "verify_failed": ("critical", "the latest repository verify found damage"),
    "repository_unreachable": ("critical", "the repository cannot be read"),
    "postgres_down": ("critical", "the database cannot be reached"),
    "rds_rpo": ("critical", "the RDS instance's PITR lag is above rds_rpo_max_s (10 min)"),
    "rds_retention": ("warning", "the RDS instance keeps backups fewer days than [rds.policy]"),
    "export_late": ("warning", "no complete export newer than the export schedule + grace"),
    "export_failed": ("warning", "the last export job failed (or refused: no [exports])"),
}


@dataclass(frozen=True)
class Condition:
    name: str
    active: bool | None  # None: cannot be told now
    summary: str
    dedup_key: str | None = None  # instead of the per-host default (see daemon.events)

    @property
    def severity(self) -> Severity:
        return RULES[self.name][0]


@dataclass(frozen=True)
class AlertState:
    name: str
    state: State = "ok"
    since: str | None = None  # ISO time the current state began
    summary: str = ""

    @property
    def severity(self) -> Severity:
        return RULES[self.name][0]


@dataclass(frozen=True)
class Transition:
    name: str
    to: Literal["firing", "resolved"]
    summary: str
    at: str
    firing_since: str | None = None
    dedup_key: str | None = None

    @property
    def severity(self) -> Severity:
        return RULES[self.name][0]


def _h(seconds: float) -> str:
    if seconds >= 7200:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s"


def conditions(f: Facts, s: AlertSettings) -> list[Condition]:
    now, repo, pg = f.time, f.repo, f.pg
    out: list[Condition] = []

    def add(name: str, active: bool | None, summary: str, key: str | None = None) -> None:
        if name not in s.disabled:
            out.append(Condition(name, active, summary, key))

    # backups
    if not repo.up:
        add("backup_age", None, "repository unreachable")
        add("backup_size", None, "repository unreachable")
    elif not repo.backups and f.rds is not None:
        # RDS mode: AWS takes the backups (pgdr cannot read an RDS instance's files), so an
        # empty repository is the normal state; rds_rpo and rds_retention watch the backups
        add("backup_age", False, "RDS mode: AWS takes the backups (see rds_rpo)")
        add("backup_size", False, "RDS mode: no pgdr backups")
    elif not repo.backups:
        add("backup_age", True, "no backup in the repository")
        add("backup_size", False, "no backup yet")
    else:
        newest = max(repo.backups, key=lambda b: b.stop_time)
        age = (now - newest.stop_time).total_seconds()
        add(
            "backup_age",
            age > s.backup_max_age_s,
            f"newest backup {newest.id} is {_h(age)} old (limit {_h(s.backup_max_age_s)})",
        )
        add("backup_size", *size_anomaly(f, s))
    # drills
    if not repo.up:
        add("drill_failed", None, "repository unreachable")
    elif not repo.drills:
        add("drill_failed", False, "no drill yet")
    else:
        d = repo.drills[-1]
        # The failed drill itself notifies under its own key: share it, so PagerDuty keeps
        # one incident for one failure (and the next passing drill resolves it).
        key = drill_dedup_key(repo.repo_id) if repo.repo_id else None
        why = d.message if not d.passed and d.message else d.status  # the failing check
        add("drill_failed", not d.passed, f"drill {d.id}: {why}", key)
    # storage
    for name in ("repository", "pgdata"):
        vol = next((v for v in f.volumes if v.name == name), None)
        if vol is None:
            add(f"storage_free_{name}", None, f"{name} free space unknown")
            continue
        low = vol.free_pct < s.storage_free_min_pct or (
            s.storage_free_min_bytes > 0 and vol.free_bytes < s.storage_free_min_bytes
        )
        add(
            f"storage_free_{name}",
            low,
            f"{name} ({vol.path}): {human(vol.free_bytes)} free ({vol.free_pct:.1f} %, "
            f"limit {s.storage_free_min_pct:g} %)",
        )
    # the database: replication and archiving
    if not pg.up:
        for name in ("replica_lag", "wal_archive_failing"):
            add(name, None, "database unreachable")
    else:
        lags = [(sb.replay_lag_s or 0.0, sb.name) for sb in pg.standbys]
        worst = max(lags, default=(0.0, ""))
        add(
            "replica_lag",
            worst[0] > s.replica_lag_max_s,
            f"standby {worst[1]} replays {worst[0]:.1f} s behind (limit {s.replica_lag_max_s:g} s)"
            if lags
            else "no standbys",
        )
        add("wal_archive_failing", *archiving_failing(f))
    if f.wal_lag_segments is None:
        add("wal_archive_lag", None, "WAL lag unknown")
    else:
        secs = f.wal_lag_seconds or 0.0
        add(
            "wal_archive_lag",
            f.wal_lag_segments > s.wal_lag_max_segments or secs > s.wal_lag_max_s,
            f"{f.wal_lag_segments} completed segment(s) not in the repository, oldest waiting "
            f"~{_h(secs)} (limits {s.wal_lag_max_segments} segments, {_h(s.wal_lag_max_s)})",
        )
    # verify: the latest completed run (failures to run at all are retried, not recorded)
    verifies = [j for j in repo.jobs if j.kind == "verify"]
    if not verifies:
        add("verify_failed", False, "no verify yet")
    else:
        v = verifies[-1]
        bad = v.status == "failed" and v.error_kind == "verify-failed"
        add("verify_failed", bad, cause(v.error) or f"verify at {v.finished} found no damage")
    for c in rds_conditions(f, s):
        add(c.name, c.active, c.summary)
    # exports: the target's newest complete export and the last export job
    add("export_late", *export_state.lateness(f.exports, now, s.export_grace_s))
    add("export_failed", *export_state.failure(repo.jobs, f.exports))
    add("repository_unreachable", not repo.up, cause(repo.error) or f"{repo.url} reachable")
    add("postgres_down", not pg.up, cause(pg.error) or "database reachable")
    return out


def rds_conditions(f: Facts, s: AlertSettings) -> list[Condition]:
    """RDS mode: PITR lag (now - LatestRestorableTime) and retention against [rds.policy];
    without [rds], neither can fire."""
    r = f.rds
    if r is None:
        return [
            Condition("rds_rpo", False, "no [rds] instance"),
            Condition("rds_retention", False, "no [rds] instance"),
        ]
    if not r.up:
        why = cause(r.error) or f"RDS instance {r.instance} unreachable"
        return [Condition("rds_rpo", None, why), Condition("rds_retention", None, why)]
    lag = r.pitr_lag_s(f.time)
    rpo = (
        Condition(
            "rds_rpo",
            lag > s.rds_rpo_max_s,
            f"RDS instance {r.instance} restorable to {_h(lag)} ago (limit {_h(s.rds_rpo_max_s)})",
        )
        if lag is not None
        else Condition(
            "rds_rpo", True, f"RDS instance {r.instance} has no restorable time: backups off"
        )
    )
    days, want = r.retention_days or 0, r.policy_days or 0
    kept = Condition(
        "rds_retention",
        days < want,
        f"RDS instance {r.instance} keeps automated backups {days} day(s) "
        f"([rds.policy] retention_days {want})",
    )
    return [rpo, kept]


def cause(error: str | None) -> str:
    """An error as one line for a title: libpq's first line names the socket or host that
    failed; later lines are hints ("\tIs the server running locally…") and tabs or newlines
    would break a webhook title, a Slack message or a log line."""
    lines = [" ".join(ln.split()) for ln in (error or "").splitlines()]
    return next((ln for ln in lines if ln), "")


def size_anomaly(f: Facts, s: AlertSettings) -> tuple[bool, str]:
    backups = sorted(f.repo.backups, key=lambda b: b.stop_time)
    before = backups[:-1][-s.size_window :]
    if len(before) < s.size_min_backups:
        return False, f"needs {s.size_min_backups} earlier backups to judge sizes"
    last = backups[-1]
    median = statistics.median(b.bytes for b in before)
    low, high = median * (1 - s.size_band_pct / 100), median * (1 + s.size_band_pct / 100)
    outside = not low <= last.bytes <= high
    return outside, (
        f"backup {last.id} is {human(last.bytes)}; median of the {len(before)} before it "
        f"{human(median)}, band {human(low)} .. {human(high)}"
    )


def archiving_failing(f: Facts) -> tuple[bool, str]:
    pg = f.pg
    if pg.archive_mode == "off":
        return True, "archive_mode is off: no WAL reaches the repository"
    failed, archived = pg.last_failed_time, pg.last_archived_time
    if failed is not None and (archived is None or failed > archived):
        return True, (
            f"archive_command failed for {pg.last_failed_wal} ({pg.failed_count} failure(s) so far)"
        )
    return False, f"last archived {pg.last_archived_wal or 'nothing yet'}"


def step(
    prev: dict[str, AlertState], conds: list[Condition], now: datetime, for_s: float
) -> tuple[dict[str, AlertState], list[Transition]]:
    """Advance every alert's state by one evaluation."""
    at = now.isoformat()
    states = dict(prev)
    out: list[Transition] = []
    for c in conds:
        st = states.get(c.name, AlertState(c.name))
        if c.active is None:
            continue
        if c.active:
            if st.state == "ok":
                st = AlertState(c.name, "pending", at, c.summary)
            if st.state == "pending" and _held(st.since, now) >= for_s:
                out.append(Transition(c.name, "firing", c.summary, at, at, c.dedup_key))
                st = AlertState(c.name, "firing", at, c.summary)
            else:
                st = replace(st, summary=c.summary)
        else:
            if st.state == "firing":
                out.append(Transition(c.name, "resolved", c.summary, at, st.since, c.dedup_key))
            if st.state != "ok":
                st = AlertState(c.name, "ok", at, c.summary)
            else:
                st = replace(st, summary=c.summary)
        states[c.name] = st
    return states, out


def _held(since: str | None, now: datetime) -> float:
    return (now - datetime.fromisoformat(since)).total_seconds() if since else 0.0


def firing(states: dict[str, AlertState]) -> list[AlertState]:
    return [s for s in states.values() if s.state == "firing"]
