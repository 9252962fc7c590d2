"""``pgdr rds snapshot``: a tagged manual snapshot, waited for, copied to each DR region with
that region's KMS key, each copy waited for; then retention of manual snapshots in every
region (``pgdr.rds.retention``). Only snapshots pgdr took (tag ``pgdr:snapshot``) are ever
judged or deleted: a snapshot someone else took is not pgdr's to remove."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pgdr.config_rds import RdsSettings
from pgdr.rds.client import Aws
from pgdr.rds.retention import Snapshot, SnapshotVerdict, judge
from pgdr.rds.wait import Waiting, wait_for

TAG = "pgdr:snapshot"


@dataclass(frozen=True)
class Copy:
    region: str
    identifier: str
    arn: str
    kms_key_id: str
    status: str


@dataclass(frozen=True)
class SnapshotResult:
    instance: str
    region: str
    identifier: str
    arn: str
    created: datetime | None
    copies: list[Copy]
    retention: list[SnapshotVerdict] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def render_text(self, console: Any) -> None:
        console.print(f"snapshot {self.identifier} of {self.instance} ({self.region}): available")
        for c in self.copies:
            console.print(
                f"  copied to {c.region} as {c.identifier} (KMS {c.kms_key_id}): {c.status}"
            )
        for v in self.retention:
            word = "keep" if v.keep else "[red]delete[/]"
            console.print(f"  {v.region} {v.identifier}: {word} — {v.reason}")


def snapshot_id(instance: str, now: datetime) -> str:
    """``pgdr-<instance>-<YYYYmmdd-HHMMSS>``: sortable, unique per second, a valid
    identifier (letters, digits, hyphens)."""
    return f"pgdr-{instance}-{now.astimezone(UTC):%Y%m%d-%H%M%S}"


def take(
    aws: Aws,
    s: RdsSettings,
    *,
    now: datetime,
    waiting: Waiting,
    expire: bool = True,
) -> SnapshotResult:
    ident = snapshot_id(s.instance, now)
    tags = [{"Key": TAG, "Value": "true"}, {"Key": "pgdr:instance", "Value": s.instance}]
    tags += [{"Key": k, "Value": v} for k, v in sorted(s.snapshots.tags.items())]
    made = aws.rds(
        s.region,
        "CreateDBSnapshot",
        DBSnapshotIdentifier=ident,
        DBInstanceIdentifier=s.instance,
        Tags=tags,
    )["DBSnapshot"]
    _wait_snapshot(aws, s.region, ident, waiting)
    copies = [
        _copy(aws, s, made["DBSnapshotArn"], ident, c.region, c.kms_key_id, tags, waiting)
        for c in s.policy.copy_regions
    ]
    info = _describe(aws, s.region, ident)
    verdicts: list[SnapshotVerdict] = []
    deleted: list[str] = []
    if expire:
        verdicts, deleted = expire_snapshots(aws, s, now=now)
    return SnapshotResult(
        s.instance,
        s.region,
        ident,
        made["DBSnapshotArn"],
        info.get("SnapshotCreateTime"),
        copies,
        verdicts,
        deleted,
    )


def _copy(
    aws: Aws,
    s: RdsSettings,
    source_arn: str,
    ident: str,
    region: str,
    kms_key_id: str,
    tags: list[dict[str, str]],
    waiting: Waiting,
) -> Copy:
    """CopyDBSnapshot in the DR region, encrypted with that region's key (a KMS key never
    leaves its region, so each copy needs its own)."""
    out = aws.rds(
        region,
        "CopyDBSnapshot",
        SourceDBSnapshotIdentifier=source_arn,
        TargetDBSnapshotIdentifier=ident,
        KmsKeyId=kms_key_id,
        SourceRegion=s.region,
        CopyTags=False,
        Tags=tags,
    )["DBSnapshot"]
    status = _wait_snapshot(aws, region, ident, waiting)
    return Copy(region, ident, out["DBSnapshotArn"], str(out.get("KmsKeyId", kms_key_id)), status)


def _describe(aws: Aws, region: str, ident: str) -> dict[str, Any]:
    out = aws.rds(region, "DescribeDBSnapshots", DBSnapshotIdentifier=ident)
    snap: dict[str, Any] = out["DBSnapshots"][0]
    return snap


def _wait_snapshot(aws: Aws, region: str, ident: str, waiting: Waiting) -> str:
    return wait_for(
        f"snapshot {ident} in {region}",
        lambda: str(_describe(aws, region, ident).get("Status", "")),
        {"available"},
        {"failed", "incompatible-restore", "incompatible-parameters"},
        waiting,
    )


def pgdr_snapshots(aws: Aws, s: RdsSettings) -> list[Snapshot]:
    """Manual snapshots pgdr took of this instance, in every configured region."""
    found: list[Snapshot] = []
    for region in s.regions:
        snaps = aws.rds_all(
            region, "DescribeDBSnapshots", "DBSnapshots", SnapshotType="manual", MaxRecords=100
        )
        for snap in snaps:
            tags = {t["Key"]: t["Value"] for t in snap.get("TagList", [])}
            if tags.get(TAG) != "true" or tags.get("pgdr:instance") != s.instance:
                continue
            found.append(
                Snapshot(
                    region,
                    snap["DBSnapshotIdentifier"],
                    snap.get("SnapshotCreateTime") or datetime.now(UTC),
                    snap.get("DBSnapshotArn", ""),
                    str(snap.get("Status", "")),
                )
            )
    return found


def expire_snapshots(
    aws: Aws, s: RdsSettings, *, now: datetime, dry_run: bool = False
) -> tuple[list[SnapshotVerdict], list[str]]:
    verdicts = judge(pgdr_snapshots(aws, s), now, s.snapshots.keep_days, s.snapshots.keep_count)
    deleted: list[str] = []
    for v in verdicts:
        if not v.keep and not dry_run:
            aws.rds(v.region, "DeleteDBSnapshot", DBSnapshotIdentifier=v.identifier)
            deleted.append(f"{v.region}:{v.identifier}")
    return verdicts, deleted
