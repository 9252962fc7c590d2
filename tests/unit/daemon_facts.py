"""Building Facts snapshots for the pure tests of alerts, metrics and status."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pgdr.daemon.facts import (
    BackupFact,
    DrillFact,
    Facts,
    PgFacts,
    ReplicaFact,
    RepoFacts,
    Standby,
    Volume,
)
from pgdr.daemon.history import JobRecord

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
GiB = 1 << 30


def backup(hours_ago: float, size: int = 10 * GiB, kind: str = "incr", n: int = 0) -> BackupFact:
    stop = NOW - timedelta(hours=hours_ago)
    return BackupFact(
        id=f"b{n}-{hours_ago}",
        type=kind,
        start_time=stop - timedelta(minutes=10),
        stop_time=stop,
        bytes=size,
        stored_bytes=size // 10,
        new_bytes=size // 5,
        timeline=1,
    )


def record(kind: str, status: str = "success", error_kind: str | None = None) -> JobRecord:
    t = (NOW - timedelta(hours=1)).isoformat()
    return JobRecord(
        id=f"x-{kind}",
        kind=kind,
        slot=t,
        started=t,
        finished=t,
        status=status,
        error="verify found damage: data/ab/abcd: missing" if status == "failed" else None,
        error_kind=error_kind,
    )


def facts(**kw: Any) -> Facts:
    """A healthy server: daily backups of 10 GiB, archiving fine, one standby, disks half full."""
    repo = RepoFacts(
        url="file:///srv/pgdr",
        up=True,
        backups=[backup(24 * i + 9, n=i) for i in range(7, -1, -1)],
        window_start=NOW - timedelta(days=7),
        window_end=NOW - timedelta(seconds=30),
        bytes_by_kind={"data": 20 * GiB, "wal": 3 * GiB},
        objects_by_kind={"data": 1200, "wal": 900},
        wal_newest={1: 99},
        wal_newest_time=NOW - timedelta(seconds=30),
        jobs=[record("verify")],
        drills=[DrillFact("d1", NOW - timedelta(days=2), True, "passed", 300.0, 300.0, 60.0)],
        replicas=[
            ReplicaFact(
                "dr",
                up=True,
                initialized=True,
                objects_behind=3,
                bytes_behind=4096,
                seconds_behind=42.0,
            ),
            ReplicaFact("offline", up=False, error="unreachable"),
        ],
    )
    pg = PgFacts(
        up=True,
        timeline=1,
        current_segment=100,
        archive_mode="on",
        archived_count=99,
        last_archived_wal="000000010000000000000063",
        last_archived_time=NOW - timedelta(seconds=30),
        data_dir="/var/lib/postgresql/15/main",
        standbys=[Standby("replica1", "10.0.0.2", "streaming", 0.2, 1024)],
    )
    volumes = [
        Volume("repository", "/srv/pgdr", 500 * GiB, 1000 * GiB),
        Volume("pgdata", "/var/lib/postgresql", 100 * GiB, 200 * GiB),
    ]
    f = Facts(NOW, repo, pg, volumes, wal_lag_segments=0, wal_lag_seconds=0.0)
    for key, value in kw.items():
        if key.startswith("repo_"):
            f.repo = replace(f.repo, **{key[5:]: value})
        elif key.startswith("pg_"):
            f.pg = replace(f.pg, **{key[3:]: value})
        else:
            setattr(f, key, value)
    return f
