"""RDS mode against moto's standalone server over real HTTP (RDS, S3, KMS, Secrets Manager):
policy drift found and fixed, snapshot + cross-region copy with the DR region's KMS key,
retention of manual snapshots, `rds info`, export normalisation.

One module-scoped workflow makes every AWS call through one recording observer (pgdr's own
boto3 event hook, ``Aws.observer``); the tests assert on its results, and
``test_terraform_module`` compares the recorded calls with the Terraform module's IAM policy.
Moto ignores times it is told and completes snapshots, copies and export tasks at once: the
waits below therefore never sleep (``Waiting.sleep`` refuses to be called), and the export
files moto does not write are provided by ``tests.fixtures.rds_export_files``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from pgdr.config import parse_config
from pgdr.config_rds import RdsSettings, require_rds
from pgdr.errors import AwsNotFound, AwsUnreachable
from pgdr.rds import instance as rds_instance
from pgdr.rds.client import Aws
from pgdr.rds.credentials import drill_password
from pgdr.rds.export import run_export, task_id
from pgdr.rds.info import RdsInfo, info
from pgdr.rds.instance import PolicyReport
from pgdr.rds.snapshot import SnapshotResult, expire_snapshots, take
from pgdr.rds.wait import Waiting
from tests.fixtures.rds_export_files import TABLES, export_objects

pytestmark = pytest.mark.component

PRIMARY, DR = "us-east-1", "eu-west-1"


def _no_sleep(_s: float) -> None:
    raise AssertionError("moto finishes at once: a wait that sleeps is waiting for nothing")


NO_WAIT = Waiting(timeout_s=30, sleep=_no_sleep)


@dataclass
class Workflow:
    settings: RdsSettings
    dr_key: str
    calls: set[str] = field(default_factory=set)
    before: PolicyReport | None = None
    applied: PolicyReport | None = None
    after: PolicyReport | None = None
    snaps: list[SnapshotResult] = field(default_factory=list)
    expired: list[Any] = field(default_factory=list)
    remaining: dict[str, list[str]] = field(default_factory=dict)
    info: RdsInfo | None = None
    export: Any = None
    export_objects: dict[str, bytes] = field(default_factory=dict)
    password: str = ""


def _settings(
    endpoint: str, instance: str, dr_key: str, secret_arn: str, bucket: str
) -> RdsSettings:
    text = f"""
[rds]
instance = "{instance}"
region = "{PRIMARY}"
endpoint_url = "{endpoint}"

[rds.policy]
retention_days = 35
backup_window = "03:00-04:00"
storage_encrypted = false
replicate_automated_backups_to = "{DR}"

[[rds.policy.copy_regions]]
region = "{DR}"
kms_key_id = "{dr_key}"

[rds.snapshots]
keep_days = 1
keep_count = 2
tags = {{ team = "recalls" }}

[rds.drill]
password_secret_arn = "{secret_arn}"

[rds.exports]
bucket = "{bucket}"
prefix = "exports"
iam_role_arn = "arn:aws:iam::123456789012:role/pgdr-rds-export"
kms_key_id = "arn:aws:kms:{PRIMARY}:123456789012:key/export"
tables = ["app.public.users", "app.public.recalls"]
"""
    return require_rds(parse_config(text, Path("rds.toml")))


@pytest.fixture(scope="module")
def wf(moto_endpoint: str) -> Workflow:
    instance = f"pgdr-t{os.getpid()}"
    rds = boto3.client("rds", endpoint_url=moto_endpoint, region_name=PRIMARY)
    rds.create_db_instance(
        DBInstanceIdentifier=instance,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        EngineVersion="15.4",
        MasterUsername="postgres",
        MasterUserPassword="not-the-secret",
        AllocatedStorage=20,
        BackupRetentionPeriod=7,  # drift: the policy wants 35
        PreferredBackupWindow="01:00-02:00",  # drift
    )
    dr_key = boto3.client("kms", endpoint_url=moto_endpoint, region_name=DR).create_key()[
        "KeyMetadata"
    ]["Arn"]
    secret = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name=PRIMARY)
    arn = secret.create_secret(
        Name=f"pgdr/{instance}",
        SecretString=json.dumps({"username": "postgres", "password": "s3cret-pw"}),
    )["ARN"]
    bucket = f"pgdr-rds-exports-{os.getpid()}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name=PRIMARY).create_bucket(Bucket=bucket)
    w = Workflow(_settings(moto_endpoint, instance, dr_key, arn, bucket), dr_key)
    # one retry only: moto answers StartDBInstanceAutomatedBackupsReplication with a 500
    aws = Aws(endpoint_url=moto_endpoint, observer=w.calls.add, max_attempts=2)
    s = w.settings

    w.before = rds_instance.check(aws, s)
    w.applied = rds_instance.apply(aws, s)
    w.after = rds_instance.check(aws, s)

    start = datetime.now(UTC)
    for i in range(4):
        w.snaps.append(
            take(aws, s, now=start + timedelta(seconds=i), waiting=NO_WAIT, expire=False)
        )
    # moto stamps snapshots with the real time: judged 3 days later, all four lie before the
    # 1-day window, so the policy keeps the newest (anchor and floor) and keep_count = 2.
    w.expired, _deleted = expire_snapshots(aws, s, now=datetime.now(UTC) + timedelta(days=3))
    for region in (PRIMARY, DR):
        client = boto3.client("rds", endpoint_url=moto_endpoint, region_name=region)
        w.remaining[region] = sorted(
            x["DBSnapshotIdentifier"]
            for x in client.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
            if x["DBSnapshotIdentifier"].startswith(f"pgdr-{instance}-")
        )

    export_id = "20261207T030000Z-a1b2c3"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=PRIMARY)
    w.export_objects = export_objects(task_id(export_id))
    for rel, data in w.export_objects.items():  # what RDS would write (moto writes nothing)
        s3.put_object(Bucket=bucket, Key=f"rds-export-staging/{rel}", Body=data)
    w.export = run_export(aws, s, now=datetime.now(UTC), waiting=NO_WAIT, export_id=export_id)
    w.info = info(aws, s, lambda: datetime.now(UTC))
    w.password = drill_password(aws, s)
    return w


def test_policy_drift_found(wf: Workflow) -> None:
    assert wf.before is not None
    status = {r.setting: (r.status, r.actual) for r in wf.before.settings}
    assert status == {
        "BackupRetentionPeriod": ("drift", 7),
        "PreferredBackupWindow": ("drift", "01:00-02:00"),
        "CopyTagsToSnapshot": ("drift", False),
        "DeletionProtection": ("drift", False),
        "StorageEncrypted": ("ok", False),
        # moto keeps no replicated automated backups in the DR region: asked there, it has none
        "AutomatedBackupsReplication": ("drift", []),
    }


def test_policy_apply_fixes_drift(wf: Workflow) -> None:
    assert wf.applied is not None and wf.after is not None
    assert wf.applied.applied == {
        "BackupRetentionPeriod": 35,
        "PreferredBackupWindow": "03:00-04:00",
        "CopyTagsToSnapshot": True,
        "DeletionProtection": True,
    }
    # moto lacks StartDBInstanceAutomatedBackupsReplication (HTTP 500): apply reports it as
    # not applied, on one line, and the drift stays reported — never claimed as fixed
    (failure,) = wf.applied.failures
    assert failure.startswith("automated-backup replication to eu-west-1: rds ")
    assert "StartDBInstanceAutomatedBackupsReplication in eu-west-1" in failure
    assert "\n" not in failure and len(failure) < 500
    assert [r.setting for r in wf.after.drift] == ["AutomatedBackupsReplication"]
    assert {r.setting: r.actual for r in wf.after.settings}["BackupRetentionPeriod"] == 35


def test_snapshot_copied_with_the_dr_regions_key(wf: Workflow, moto_endpoint: str) -> None:
    first = wf.snaps[0]
    assert [c.region for c in first.copies] == [DR]
    assert first.copies[0].kms_key_id == wf.dr_key
    dr = boto3.client("rds", endpoint_url=moto_endpoint, region_name=DR)
    # the newest copy still exists (kept by retention): moto reports the key it was given
    last = wf.snaps[-1]
    copy = dr.describe_db_snapshots(DBSnapshotIdentifier=last.identifier)["DBSnapshots"][0]
    assert copy["KmsKeyId"] == wf.dr_key and copy["Status"] == "available"
    tags = {t["Key"]: t["Value"] for t in copy["TagList"]}
    assert tags["pgdr:snapshot"] == "true" and tags["team"] == "recalls"


def test_manual_snapshot_retention(wf: Workflow) -> None:
    ids = [r.identifier for r in wf.snaps]
    assert wf.remaining == {PRIMARY: sorted(ids[2:]), DR: sorted(ids[2:])}
    removed = sorted((v.region, v.identifier) for v in wf.expired if not v.keep)
    assert removed == sorted((r, i) for r in (PRIMARY, DR) for i in ids[:2])
    kept_newest = next(v for v in wf.expired if v.identifier == ids[3] and v.region == DR)
    assert "keep_count" in kept_newest.reason


def test_info(wf: Workflow) -> None:
    i = wf.info
    assert i is not None and i.status == "available"
    assert i.pitr.retention_days == 35 and i.pitr.latest is not None
    assert i.pitr.rpo_s is not None and 0 <= i.pitr.rpo_s < 3600
    # moto's automated backups carry no RestoreWindow: the earliest time is unknown, and
    # pgdr says so instead of estimating it (pitr_window is table-tested in tests/unit)
    assert i.pitr.earliest is None
    ids = [r.identifier for r in wf.snaps]
    assert {r: [x.identifier for x in v] for r, v in i.snapshots.items()} == {
        PRIMARY: ids[2:],
        DR: ids[2:],
    }
    assert i.last_export is not None and i.last_export.identifier == wf.export.task
    assert i.last_export.status.upper() == "COMPLETE"


def test_export_normalised(wf: Workflow, moto_endpoint: str) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=PRIMARY)
    bucket = wf.settings.exports.bucket
    base = f"exports/{wf.export.export_id}/"
    raw = s3.get_object(Bucket=bucket, Key=base + "_manifest.json")["Body"].read()
    success = s3.get_object(Bucket=bucket, Key=base + "_SUCCESS")["Body"].read()
    assert success.decode() == hashlib.sha256(raw).hexdigest()
    m = json.loads(raw)
    assert set(m) == {
        "format",
        "export_id",
        "producer",
        "source",
        "snapshot_time",
        "system_identifier",
        "pg_version",
        "created",
        "finished",
        "tables",
    }
    assert (m["format"], m["producer"], m["export_id"]) == (
        "pgdr-export/1",
        "rds-export",
        wf.export.export_id,
    )
    assert m["source"] == {
        "kind": "rds-snapshot",
        "backup_id": None,
        "lsn": None,
        "target_time": None,
        "snapshot": wf.snaps[-1].arn,
    }
    assert m["pg_version"] == 150004
    by_name = {(t["database"], t["schema"], t["table"]): t for t in m["tables"]}
    assert set(by_name) == set(TABLES)
    users = by_name[("app", "public", "users")]
    assert users["rows"] == 5 and len(users["files"]) == 2
    assert users["columns"] == [
        {"name": "id", "pg_type": "bigint", "arrow_type": "int64", "nullable": True, "note": None},
        {
            "name": "email",
            "pg_type": "character varying(255)",
            "arrow_type": "string",
            "nullable": True,
            "note": None,
        },
    ]
    assert by_name[("app", "public", "recalls")]["rows"] == 4
    for t in m["tables"]:
        assert t["bytes"] == sum(f["bytes"] for f in t["files"])
        for f in t["files"]:
            assert f["path"].startswith(f"{t['database']}/{t['schema']}.{t['table']}/")
            data = s3.get_object(Bucket=bucket, Key=base + f["path"])["Body"].read()
            assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["bytes"]
            # the very bytes RDS wrote, moved from staging
            assert data == wf.export_objects[f"{wf.export.task}/{f['path']}"]
    staged = s3.list_objects_v2(Bucket=bucket, Prefix="rds-export-staging/").get("Contents", [])
    assert staged == []


def test_drill_password_from_secrets_manager(wf: Workflow) -> None:
    assert wf.password == "s3cret-pw"


def test_unknown_instance_is_not_found(moto_endpoint: str, wf: Workflow) -> None:
    s = wf.settings.model_copy(update={"instance": "no-such-db"})
    with pytest.raises(
        AwsNotFound, match=r"rds DescribeDBInstances in us-east-1: DBInstanceNotFound"
    ):
        rds_instance.check(Aws(endpoint_url=moto_endpoint), s)


def test_unreachable_endpoint_is_104(silent_endpoint: str) -> None:
    aws = Aws(endpoint_url=silent_endpoint, max_attempts=1, connect_timeout_s=1, read_timeout_s=1)
    with pytest.raises(AwsUnreachable) as e:
        aws.rds(PRIMARY, "DescribeDBInstances")
    assert e.value.exit_code == 104 and "\n" not in e.value.message


#: What an API call is authorized as, where IAM's action differs from the operation's name.
API_TO_IAM = {
    "s3:ListObjectsV2": {"s3:ListBucket"},
    "s3:CopyObject": {"s3:GetObject", "s3:PutObject"},
}
#: Permissions AWS checks on pgdr's behalf during the calls recorded above (no call of their
#: own to record), and the one pgdr call made by another tested module — each with its why.
IMPLIED = {
    "rds:AddTagsToResource": "CreateDBSnapshot and CopyDBSnapshot pass Tags: tagging on create is authorized separately",
    "kms:CreateGrant": "CopyDBSnapshot with KmsKeyId and StartExportTask: RDS uses the key for pgdr",
    "kms:DescribeKey": "CopyDBSnapshot with KmsKeyId and StartExportTask: RDS reads the key for pgdr",
    "iam:PassRole": "StartExportTask hands [rds.exports] iam_role_arn to RDS",
    "sns:Publish": "pgdr's sns notification channel (pgdr.notify.sns, tested with moto in "
    "test_notify_channels) delivers the RPO, retention and drill alerts",
}


def test_terraform_iam_policy_is_exactly_the_calls_made(wf: Workflow) -> None:
    """The module's pgdr policy allows every call these tests made, and nothing more."""
    from tests.fixtures.terraform import load_module, policy_actions

    made = set().union(*(API_TO_IAM.get(c, {c}) for c in wf.calls))
    allowed = policy_actions(load_module(), "pgdr")
    assert allowed == made | set(IMPLIED), {
        "allowed but never called": sorted(allowed - made - set(IMPLIED)),
        "called but not allowed": sorted(made - allowed),
    }
    assert not made & set(IMPLIED), "an implied permission was recorded: drop it from IMPLIED"


def test_export_holding_a_file_that_is_not_parquet_is_refused(
    wf: Workflow, moto_endpoint: str
) -> None:
    """The bucket is untrusted: a forged data file fails the export in one line, and the
    export stays incomplete (no _manifest.json, no _SUCCESS) so no reader lists it."""
    from pgdr.errors import UnsafeManifest

    export_id = "20261207T040000Z-d4e5f6"
    task = task_id(export_id)
    bucket = wf.settings.exports.bucket
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=PRIMARY)
    objects = export_objects(task)
    forged = next(k for k in objects if k.endswith(".parquet"))
    objects[forged] = b"PAR1 not really"
    for rel, data in objects.items():
        s3.put_object(Bucket=bucket, Key=f"rds-export-staging/{rel}", Body=data)
    with pytest.raises(UnsafeManifest, match="is not a readable Parquet file") as e:
        run_export(
            Aws(endpoint_url=moto_endpoint),
            wf.settings,
            now=datetime.now(UTC),
            waiting=NO_WAIT,
            export_id=export_id,
        )
    assert "\n" not in e.value.message
    names = {
        o["Key"].rsplit("/", 1)[-1]
        for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"exports/{export_id}/").get(
            "Contents", []
        )
    }
    assert "_SUCCESS" not in names and "_manifest.json" not in names


def test_drill_password_secret_missing_is_103(wf: Workflow, moto_endpoint: str) -> None:
    gone = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pgdr/none-AbCdEf"
    drill = wf.settings.drill.model_copy(update={"password_secret_arn": gone})
    s = wf.settings.model_copy(update={"drill": drill})
    with pytest.raises(
        AwsNotFound, match="secretsmanager GetSecretValue in us-east-1: ResourceNotFoundException"
    ):
        drill_password(Aws(endpoint_url=moto_endpoint), s)
