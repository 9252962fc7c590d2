"""``pgdr rds info``: the point-in-time window (earliest restorable time to
LatestRestorableTime, hence the current RPO), automated backups, pgdr's manual snapshots per
region, and the newest export task."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pgdr.config_rds import RdsSettings
from pgdr.rds.client import Aws
from pgdr.rds.instance import describe
from pgdr.rds.snapshot import pgdr_snapshots


@dataclass(frozen=True)
class PitrWindow:
    earliest: datetime | None
    latest: datetime | None
    #: now - LatestRestorableTime: what a failure now would lose.
    rpo_s: float | None
    retention_days: int


@dataclass(frozen=True)
class SnapshotLine:
    region: str
    identifier: str
    created: datetime
    status: str


@dataclass(frozen=True)
class ExportLine:
    identifier: str
    status: str
    source: str
    snapshot_time: datetime | None
    s3: str


@dataclass(frozen=True)
class RdsInfo:
    instance: str
    region: str
    status: str
    pitr: PitrWindow
    automated_backups: list[dict[str, Any]]
    snapshots: dict[str, list[SnapshotLine]]
    last_export: ExportLine | None

    def render_text(self, console: Any) -> None:
        p = self.pitr
        console.print(f"instance {self.instance} ({self.region}): {self.status}")
        console.print(
            f"PITR window: {_t(p.earliest)} .. {_t(p.latest)} "
            f"(retention {p.retention_days} days; RPO now {_s(p.rpo_s)})"
        )
        for b in self.automated_backups:
            console.print(
                f"automated backups: {b.get('Region')} {b.get('Status')} {b.get('DBInstanceAutomatedBackupsArn', '')}"
            )
        for region, snaps in self.snapshots.items():
            newest = snaps[-1].identifier if snaps else "none"
            console.print(f"manual snapshots in {region}: {len(snaps)} (newest {newest})")
        e = self.last_export
        console.print(
            f"last export: {e.identifier} {e.status} -> {e.s3}" if e else "last export: none"
        )


def pitr_window(
    instance: dict[str, Any], automated: list[dict[str, Any]], now: datetime
) -> PitrWindow:
    """The window from the API's answers (pure): earliest = the oldest RestoreWindow
    EarliestTime of the instance's automated backups (unknown when the API gives none —
    never estimated from the retention period), latest = LatestRestorableTime, RPO = now -
    latest (0 when the clocks disagree by a fraction of a second)."""
    earliest = min(
        (t for b in automated if (t := (b.get("RestoreWindow") or {}).get("EarliestTime"))),
        default=None,
    )
    latest = instance.get("LatestRestorableTime")
    return PitrWindow(
        earliest,
        latest,
        max(0.0, (now - latest).total_seconds()) if latest else None,
        int(instance.get("BackupRetentionPeriod", 0)),
    )


def info(aws: Aws, s: RdsSettings, clock: Callable[[], datetime]) -> RdsInfo:
    inst = describe(aws, s)
    backups = aws.rds_all(
        s.region,
        "DescribeDBInstanceAutomatedBackups",
        "DBInstanceAutomatedBackups",
        DBInstanceIdentifier=s.instance,
    )
    pitr = pitr_window(inst, backups, clock())
    per_region: dict[str, list[SnapshotLine]] = {r: [] for r in s.regions}
    for snap in sorted(pgdr_snapshots(aws, s), key=lambda x: (x.created, x.identifier)):
        per_region[snap.region].append(
            SnapshotLine(snap.region, snap.identifier, snap.created, snap.status)
        )
    return RdsInfo(
        s.instance,
        s.region,
        str(inst.get("DBInstanceStatus", "")),
        pitr,
        [_automated(b) for b in backups],
        per_region,
        _last_export(aws, s, inst),
    )


def _automated(b: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "DBInstanceAutomatedBackupsArn",
        "Region",
        "Status",
        "BackupRetentionPeriod",
        "Encrypted",
        "KmsKeyId",
    )
    return {k: b[k] for k in keep if k in b} | {"RestoreWindow": b.get("RestoreWindow", {})}


def _last_export(aws: Aws, s: RdsSettings, inst: dict[str, Any]) -> ExportLine | None:
    tasks = aws.rds_all(s.region, "DescribeExportTasks", "ExportTasks")
    mine = [t for t in tasks if str(t.get("ExportTaskIdentifier", "")).startswith("pgdr-")]
    if not mine:
        return None
    t = max(
        mine,
        key=lambda t: (
            t.get("TaskStartTime") or t.get("SnapshotTime") or datetime.min.replace(tzinfo=None),
            t["ExportTaskIdentifier"],
        ),
    )
    return ExportLine(
        t["ExportTaskIdentifier"],
        str(t.get("Status", "")),
        str(t.get("SourceArn", "")),
        t.get("SnapshotTime"),
        f"s3://{t.get('S3Bucket', '')}/{t.get('S3Prefix', '')}",
    )


def _t(t: datetime | None) -> str:
    return t.isoformat(timespec="seconds") if t else "unknown"


def _s(s: float | None) -> str:
    return "unknown" if s is None else f"{s:.0f} s"
