"""The daemon's rds_snapshot and rds_export jobs against moto's server over real HTTP: the
job takes the snapshot, copies it to the DR region with that region's key and applies
[rds.snapshots] retention in both regions; the export job exports the newest pgdr snapshot
and normalises it; both audit what they changed in the repository, and an unreachable
repository leaves the job standing with a warning (the change on AWS happened).

The jobs run through the registry the daemon schedules from, with the dependencies the CLI
wires (``RdsJobDeps``); the clock is the one field a test sets, to judge retention days
later. Moto completes snapshots, copies and export tasks at once and writes no export files:
those come from ``tests.fixtures.rds_export_files``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from pgdr.audit.log import list_keys, read_entries
from pgdr.config import parse_config
from pgdr.config_rds import RdsSettings, require_rds
from pgdr.daemon.jobs import REGISTRY, JobContext, JobDeps, RdsJobDeps
from pgdr.errors import StorageUnreachable
from pgdr.rds.client import Aws
from pgdr.rds.export import task_id
from pgdr.repo.repository import Repository
from tests.fixtures.moto_server import make_kms_key, make_rds_instance
from tests.fixtures.rds_export_files import TABLES, export_objects

pytestmark = pytest.mark.component

PRIMARY, DR = "us-east-1", "eu-west-1"


@pytest.fixture
def rds(moto_endpoint: str) -> RdsSettings:
    instance = make_rds_instance(moto_endpoint, f"pgdr-job{os.getpid()}-{os.urandom(2).hex()}", 35)
    dr_key = make_kms_key(moto_endpoint, DR)
    bucket = f"pgdr-job-exports-{os.getpid()}-{os.urandom(2).hex()}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name=PRIMARY).create_bucket(Bucket=bucket)
    text = f"""
[rds]
instance = "{instance}"
region = "{PRIMARY}"
endpoint_url = "{moto_endpoint}"

[[rds.policy.copy_regions]]
region = "{DR}"
kms_key_id = "{dr_key}"

[rds.snapshots]
keep_days = 1
keep_count = 1

[rds.exports]
bucket = "{bucket}"
prefix = "exports"
iam_role_arn = "arn:aws:iam::123456789012:role/pgdr-rds-export"
kms_key_id = "arn:aws:kms:{PRIMARY}:123456789012:key/export"
"""
    return require_rds(parse_config(text, Path("rds.toml")))


def _run(kind: str, repo: Repository, deps: RdsJobDeps) -> dict[str, object]:
    ctx = JobContext(kind, datetime.now(UTC), lambda: repo, "", deps=JobDeps(rds=deps))
    return REGISTRY[kind].run(ctx)


def _audit(repo: Repository, action: str) -> list[dict[str, object]]:
    good, bad = read_entries(repo, list_keys(repo))
    assert not bad
    return [e.details for e in sorted(good.values(), key=lambda e: e.seq) if e.action == action]


def _pgdr_snapshots(endpoint: str, region: str, instance: str) -> list[str]:
    client = boto3.client("rds", endpoint_url=endpoint, region_name=region)
    return sorted(
        x["DBSnapshotIdentifier"]
        for x in client.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
        if x["DBSnapshotIdentifier"].startswith(f"pgdr-{instance}-")
    )


def test_snapshot_job_copies_expires_and_audits(
    rds: RdsSettings, repo: Repository, moto_endpoint: str
) -> None:
    start = datetime.now(UTC)
    taken = []
    for i in range(3):  # three slots a few seconds apart: all inside the 1-day window
        deps = RdsJobDeps(
            rds,
            lambda: Aws(endpoint_url=moto_endpoint),
            clock=lambda i=i: start + timedelta(seconds=i),
        )  # type: ignore[misc]
        out = _run("rds_snapshot", repo, deps)
        assert out["deleted"] == [] and "warning" not in out
        (copy,) = out["copies"]  # type: ignore[misc]
        assert copy["region"] == DR and copy["kms_key_id"] == rds.policy.copy_regions[0].kms_key_id
        taken.append(out["identifier"])
    for region in (PRIMARY, DR):
        assert _pgdr_snapshots(moto_endpoint, region, rds.instance) == sorted(taken)
    assert _audit(repo, "rds-snapshot-expire") == []  # nothing deleted: nothing audited

    # Three days later the window holds none of them (moto stamps the real time): the
    # newest, the fourth, is the window's anchor and keep_count = 1; the three before go, in
    # both regions, and the deletion is in the audit log.
    later = RdsJobDeps(
        rds, lambda: Aws(endpoint_url=moto_endpoint), clock=lambda: start + timedelta(days=3)
    )
    out = _run("rds_snapshot", repo, later)
    assert sorted(out["deleted"]) == sorted(f"{r}:{i}" for r in (PRIMARY, DR) for i in taken)  # type: ignore[arg-type]
    for region in (PRIMARY, DR):
        assert _pgdr_snapshots(moto_endpoint, region, rds.instance) == [out["identifier"]]
    (entry,) = _audit(repo, "rds-snapshot-expire")
    assert entry == {"instance": rds.instance, "deleted": out["deleted"]}


def test_export_job_exports_the_newest_snapshot_and_audits(
    rds: RdsSettings, repo: Repository, moto_endpoint: str
) -> None:
    aws = lambda: Aws(endpoint_url=moto_endpoint)  # noqa: E731
    snap = _run("rds_snapshot", repo, RdsJobDeps(rds, aws))
    export_id = "20261208T060000Z-d4e5f6"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=PRIMARY)
    for rel, data in export_objects(task_id(export_id)).items():  # what RDS would write
        s3.put_object(
            Bucket=rds.exports.bucket, Key=f"{rds.exports.staging_prefix}/{rel}", Body=data
        )

    out = _run("rds_export", repo, RdsJobDeps(rds, aws, export_id=lambda _now: export_id))
    assert out["export_id"] == export_id and out["snapshot"] == snap["identifier"]
    assert out["rows"] == sum(sum(rows) for rows, _cols in TABLES.values())
    listed = s3.list_objects_v2(Bucket=rds.exports.bucket, Prefix=f"exports/{export_id}/")
    keys = {o["Key"].rsplit("/", 1)[-1] for o in listed.get("Contents", [])}
    assert {"_manifest.json", "_SUCCESS"} <= keys
    (entry,) = _audit(repo, "rds-export")
    assert entry == {
        "instance": rds.instance,
        "export_id": export_id,
        "snapshot": snap["identifier"],
    }


def test_an_unreachable_repository_leaves_the_job_standing_with_a_warning(
    rds: RdsSettings, moto_endpoint: str
) -> None:
    def unreachable() -> Repository:
        raise StorageUnreachable("s3://pgdr-repo: storage unreachable (connection refused)")

    deps = RdsJobDeps(rds, lambda: Aws(endpoint_url=moto_endpoint))
    ctx = JobContext("rds_snapshot", datetime.now(UTC), unreachable, "", deps=JobDeps(rds=deps))
    out = REGISTRY["rds_snapshot"].run(ctx)  # nothing deleted: the repository is not needed
    assert "warning" not in out
    later = RdsJobDeps(
        rds,
        lambda: Aws(endpoint_url=moto_endpoint),
        clock=lambda: datetime.now(UTC) + timedelta(days=3),
    )
    ctx = JobContext("rds_snapshot", datetime.now(UTC), unreachable, "", deps=JobDeps(rds=later))
    out = REGISTRY["rds_snapshot"].run(ctx)
    assert out["deleted"], out  # the first snapshot went, in both regions
    assert out["warning"] == (
        "rds-snapshot-expire done but not audited: "
        "s3://pgdr-repo: storage unreachable (connection refused)"
    )
