"""RDS mode's pure cores: policy drift, manual-snapshot retention (through pgdr.retention's
policy), the PITR window, export normalisation and its refusals, waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pgdr.config_rds import CopyRegion, RdsPolicy
from pgdr.errors import AwsError, AwsWaitTimeout, UnsafeManifest
from pgdr.rds.export_manifest import (
    ArrowField,
    DataFile,
    TableInfo,
    manifest,
    pg_type,
    pg_version_num,
    tables_from_info,
)
from pgdr.rds.info import pitr_window
from pgdr.rds.policy import ReplicationFacts, compare, modify_params, region_of_arn
from pgdr.rds.retention import Snapshot, judge
from pgdr.rds.wait import Waiting, wait_for

pytestmark = pytest.mark.unit

GOOD = {
    "BackupRetentionPeriod": 35,
    "PreferredBackupWindow": "03:00-04:00",
    "CopyTagsToSnapshot": True,
    "DeletionProtection": True,
    "StorageEncrypted": True,
}
POLICY = RdsPolicy()
REPL = RdsPolicy(
    copy_regions=[CopyRegion(region="eu-west-1", kms_key_id="k-eu")],
    replicate_automated_backups_to="eu-west-1",
)

DRIFT_CASES: list[
    tuple[str, dict[str, Any], RdsPolicy, ReplicationFacts, dict[str, str], dict[str, Any]]
] = [
    ("all ok", GOOD, POLICY, ReplicationFacts(()), {}, {}),
    (
        "retention and window",
        {**GOOD, "BackupRetentionPeriod": 7, "PreferredBackupWindow": "01:00-01:30"},
        POLICY,
        ReplicationFacts(()),
        {"BackupRetentionPeriod": "drift", "PreferredBackupWindow": "drift"},
        {"BackupRetentionPeriod": 35, "PreferredBackupWindow": "03:00-04:00"},
    ),
    (
        "flags missing from the answer count as off",
        {"BackupRetentionPeriod": 35, "PreferredBackupWindow": "03:00-04:00"},
        POLICY,
        ReplicationFacts(()),
        {
            "CopyTagsToSnapshot": "drift",
            "DeletionProtection": "drift",
            "StorageEncrypted": "manual",
        },
        {"CopyTagsToSnapshot": True, "DeletionProtection": True},
    ),
    (
        "encryption cannot be applied in place",
        {**GOOD, "StorageEncrypted": False},
        POLICY,
        ReplicationFacts(()),
        {"StorageEncrypted": "manual"},
        {},
    ),
    (
        "encrypted though not asked for is fine",
        GOOD,
        RdsPolicy(storage_encrypted=False),
        ReplicationFacts(()),
        {},
        {},
    ),
    ("replication present", GOOD, REPL, ReplicationFacts(("eu-west-1",)), {}, {}),
    (
        "replication elsewhere",
        GOOD,
        REPL,
        ReplicationFacts(("ap-south-1",)),
        {"AutomatedBackupsReplication": "drift"},
        {},
    ),
    (
        "replication unknown is not checked",
        GOOD,
        REPL,
        ReplicationFacts(None, "the DR region did not answer"),
        {"AutomatedBackupsReplication": "not-checked"},
        {},
    ),
]


@pytest.mark.parametrize(
    ("instance", "policy", "repl", "statuses", "params"),
    [c[1:] for c in DRIFT_CASES],
    ids=[c[0] for c in DRIFT_CASES],
)
def test_drift(
    instance: dict[str, Any],
    policy: RdsPolicy,
    repl: ReplicationFacts,
    statuses: dict[str, str],
    params: dict[str, Any],
) -> None:
    rows = compare(instance, policy, repl)
    assert {r.setting: r.status for r in rows if r.status != "ok"} == statuses
    assert modify_params(rows) == params
    for r in rows:
        assert r.drifts == (r.status in ("drift", "manual"))


def test_region_of_arn() -> None:
    assert region_of_arn("arn:aws:rds:eu-west-1:123456789012:auto-backup:ab-x") == "eu-west-1"
    assert region_of_arn("not-an-arn") is None


NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _snaps(region: str, days_ago: list[float], status: str = "available") -> list[Snapshot]:
    return [Snapshot(region, f"s-{d}", NOW - timedelta(days=d), status=status) for d in days_ago]


RETENTION_CASES = [
    # (name, snapshots, keep_days, keep_count, kept ids per region)
    ("inside the window all kept", _snaps("r1", [1, 2, 3]), 7, 0, {"r1": ["s-3", "s-2", "s-1"]}),
    (
        "older ones: only the anchor (newest before the window start) stays",
        _snaps("r1", [1, 10, 20, 30]),
        7,
        0,
        {"r1": ["s-10", "s-1"]},
    ),
    (
        "keep_count keeps the newest N past the window",
        _snaps("r1", [40, 50, 60, 70]),
        7,
        3,
        {"r1": ["s-60", "s-50", "s-40"]},
    ),
    (
        "all too old: the newest is never deleted",
        _snaps("r1", [40, 50]),
        7,
        0,
        {"r1": ["s-40"]},
    ),
    (
        "each region on its own",
        _snaps("r1", [1, 30]) + _snaps("r2", [30, 60]),
        7,
        0,
        {"r1": ["s-30", "s-1"], "r2": ["s-30"]},
    ),
    (
        "a copy in progress is kept",
        _snaps("r1", [40]) + _snaps("r1", [90], status="copying"),
        7,
        0,
        {"r1": ["s-90", "s-40"]},
    ),
]


@pytest.mark.parametrize(
    ("snaps", "days", "count", "kept"),
    [c[1:] for c in RETENTION_CASES],
    ids=[c[0] for c in RETENTION_CASES],
)
def test_snapshot_retention(
    snaps: list[Snapshot], days: int, count: int, kept: dict[str, list[str]]
) -> None:
    verdicts = judge(snaps, NOW, days, count)
    got: dict[str, list[str]] = {}
    for v in verdicts:
        if v.keep:
            got.setdefault(v.region, []).append(v.identifier)
        assert v.reason and "backup" not in v.reason and "timeline" not in v.reason, v.reason
    assert got == kept
    assert len(verdicts) == len(snaps)


def test_pitr_window() -> None:
    latest = NOW - timedelta(minutes=4)
    autos = [
        {"RestoreWindow": {"EarliestTime": NOW - timedelta(days=35)}},
        {"RestoreWindow": {"EarliestTime": NOW - timedelta(days=20)}},
        {"RestoreWindow": {}},
    ]
    w = pitr_window({"LatestRestorableTime": latest, "BackupRetentionPeriod": 35}, autos, NOW)
    assert (w.earliest, w.latest, w.rpo_s, w.retention_days) == (
        NOW - timedelta(days=35),
        latest,
        240.0,
        35,
    )
    skew = pitr_window({"LatestRestorableTime": NOW + timedelta(seconds=1)}, [], NOW)
    assert skew.rpo_s == 0.0 and skew.earliest is None
    assert pitr_window({}, [], NOW).rpo_s is None


def _info(status: str = "COMPLETE", target: str = "app.public.users") -> dict[str, Any]:
    return {
        "perTableStatus": [
            {
                "status": status,
                "target": target,
                "sizeGB": 0.0,
                "schemaMetadata": {
                    "originalTypeMappings": [
                        {
                            "columnName": "id",
                            "originalType": "bigint",
                            "expectedExportedType": "int64",
                        },
                        {
                            "columnName": "note",
                            "originalType": "character",
                            "expectedExportedType": "binary (UTF8)",
                            "originalCharMaxLength": 3,
                        },
                    ]
                },
            }
        ]
    }


FIELDS = (ArrowField("id", "int64", False), ArrowField("note", "string", True))


def _file(path: str, rows: int = 2) -> DataFile:
    return DataFile(path, 10, "ab" * 32, rows, FIELDS)


def _manifest(tables: list[TableInfo], files: list[DataFile]) -> dict[str, Any]:
    return manifest(
        export_id="20261207T030000Z-a1b2c3",
        snapshot_arn="arn:aws:rds:us-east-1:1:snapshot:s",
        snapshot_time=NOW,
        created=NOW,
        finished=NOW + timedelta(minutes=1),
        pg_version=150004,
        tables=tables,
        files=files,
    )


def test_manifest_from_export_info() -> None:
    tables = tables_from_info([_info()])
    m = _manifest(
        tables,
        [
            _file("app/public.users/1/part-00001-u.gz.parquet", 3),
            _file("app/public.users/1/part-00000-u.gz.parquet"),
        ],
    )
    assert m["snapshot_time"] == "2026-12-07T12:00:00Z" and m["finished"] == "2026-12-07T12:01:00Z"
    (t,) = m["tables"]
    assert (t["rows"], t["bytes"]) == (5, 20)
    assert [f["path"] for f in t["files"]] == [
        "app/public.users/1/part-00000-u.gz.parquet",
        "app/public.users/1/part-00001-u.gz.parquet",
    ]
    assert t["columns"][1] == {
        "name": "note",
        "pg_type": "character(3)",
        "arrow_type": "string",
        "nullable": True,
        "note": None,
    }


BAD_EXPORTS = [
    ("target outside", [_info(target="app.public../../x")], [], UnsafeManifest),
    ("target with a slash", [_info(target="app.pub/lic.users")], [], UnsafeManifest),
    ("two-part target", [_info(target="app.users")], [], UnsafeManifest),
    ("no perTableStatus", [{"tables": []}], [], UnsafeManifest),
    ("not an object", [["perTableStatus"]], [], UnsafeManifest),
    ("an entry not an object", [{"perTableStatus": ["x"]}], [], UnsafeManifest),
    (
        "a column without a name",
        [
            {
                "perTableStatus": [
                    {
                        "target": "a.b.c",
                        "status": "COMPLETE",
                        "schemaMetadata": {"originalTypeMappings": [{"originalType": "int"}]},
                    }
                ]
            }
        ],
        [],
        UnsafeManifest,
    ),
    ("a stray file", [_info()], ["app/public.other/1/part-0.parquet"], UnsafeManifest),
    (
        "a file escaping its table",
        [_info()],
        ["app/public.users/../../etc/x.parquet"],
        UnsafeManifest,
    ),
    ("a table RDS did not finish", [_info(status="FAILED")], [], AwsError),
]


@pytest.mark.parametrize(
    ("docs", "paths", "error"), [c[1:] for c in BAD_EXPORTS], ids=[c[0] for c in BAD_EXPORTS]
)
def test_export_refusals(
    docs: list[dict[str, Any]], paths: list[str], error: type[Exception]
) -> None:
    with pytest.raises(error) as e:
        _manifest(tables_from_info(docs), [_file(p) for p in paths])
    assert "\n" not in str(e.value)


def test_type_and_version_mapping() -> None:
    assert (
        pg_type({"originalType": "character varying", "originalCharMaxLength": 40})
        == "character varying(40)"
    )
    assert pg_type({"originalType": "numeric", "originalNumPrecision": 10}) == "numeric"
    assert [pg_version_num(v) for v in ("15.4", "16", "9.6", "x", None)] == [
        150004,
        160000,
        None,
        None,
        None,
    ]


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s


def test_wait_backs_off_then_succeeds() -> None:
    clock = FakeClock()
    states = iter(["creating", "creating", "creating", "available"])
    w = Waiting(
        timeout_s=100, first_interval_s=5, max_interval_s=15, clock=clock.now, sleep=clock.sleep
    )
    assert wait_for("snap", lambda: next(states), {"available"}, {"failed"}, w) == "available"
    assert clock.slept == [5, 10, 15]


def test_wait_times_out_and_fails() -> None:
    clock = FakeClock()
    w = Waiting(timeout_s=12, first_interval_s=5, clock=clock.now, sleep=clock.sleep)
    with pytest.raises(AwsWaitTimeout, match="still 'copying' after 12 s"):
        wait_for("copy", lambda: "copying", {"available"}, {"failed"}, w)
    assert sum(clock.slept) == 12
    with pytest.raises(AwsError, match="ended in state 'failed'"):
        wait_for("copy", lambda: "failed", {"available"}, {"failed"}, w)
