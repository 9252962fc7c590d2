"""Replica lag and the copy plan: pure functions over listings (the daemon's metric)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pgdr.replicate.plan import CATEGORIES, category_of, plan_copy, replica_lag
from pgdr.storage.base import ObjectInfo

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 24, 3, 0, 0, tzinfo=UTC)
PACK = "data/ab/ab" + "0" * 62
SEG1 = "wal/00000001/000000010000000000000005"
SEG2 = "wal/00000002/000000020000000000000003"
HIST = "wal/00000002/00000002.history"
BACKUP_F = "manifests/backup/20261123T030000ZF"
BACKUP_I = "manifests/backup/20261124T030000ZI"


def obj(key: str, size: int = 10, age_s: float | None = 60.0) -> ObjectInfo:
    return ObjectInfo(key, size, None if age_s is None else NOW - timedelta(seconds=age_s))


BASE = [obj("config"), obj("keyring/1-a"), obj(PACK, 1000, 600), obj("index/" + "1" * 64)]


@pytest.mark.parametrize(
    ("source", "replica", "expect"),
    [
        pytest.param(
            [], [], dict(initialized=False, objects_behind=0, seconds_behind=0.0), id="empty"
        ),
        pytest.param(
            BASE, BASE, dict(initialized=True, objects_behind=0, bytes_behind=0), id="identical"
        ),
        pytest.param(
            [*BASE, obj(SEG1, 100, 90), obj(SEG2, 50, 30)],
            BASE,
            dict(
                objects_behind=2,
                bytes_behind=150,
                seconds_behind=90.0,
                oldest_missing=SEG1,
                behind_by_category={"wal": 2},
            ),
            id="two-wal-segments-behind",
        ),
        pytest.param(
            BASE,
            [obj("keyring/1-a")],
            dict(initialized=False, objects_behind=2, oldest_missing=PACK, seconds_behind=600.0),
            id="first-replication-half-done",
        ),
        pytest.param(
            [*BASE, obj("locks/x"), obj("keys/abc"), obj("plans/1"), obj("gcplan/1")],
            BASE,
            dict(objects_behind=0, seconds_behind=0.0),
            id="locks-keys-unknown-are-not-lag",
        ),
        pytest.param(
            [*BASE, obj(SEG1, 100, None)],
            BASE,
            dict(objects_behind=1, seconds_behind=0.0, oldest_missing=SEG1),
            id="no-modification-time",
        ),
        pytest.param(
            [*BASE, obj(SEG1), obj(SEG2), obj(HIST), obj(BACKUP_F), obj(BACKUP_I)],
            [*BASE, obj(SEG1), obj(BACKUP_F)],
            dict(
                newest_wal_source="000000020000000000000003",
                newest_wal_replica="000000010000000000000005",
                newest_backup_source="20261124T030000ZI",
                newest_backup_replica="20261123T030000ZF",
                behind_by_category={"wal": 2, "manifests": 1},
            ),
            id="newest-wal-across-timelines-and-newest-backup",
        ),
        pytest.param(
            [*BASE, obj(SEG1, 100, 5)],
            [*BASE, obj(SEG1, 99, 5)],
            dict(objects_behind=0),
            id="different-size-is-not-missing",
        ),
    ],
)
def test_replica_lag(source: list[ObjectInfo], replica: list[ObjectInfo], expect: dict) -> None:
    lag = replica_lag(source, replica, NOW)
    for field, want in expect.items():
        assert getattr(lag, field) == want, field


def test_plan_copy_orders_categories_and_reports_differences() -> None:
    source = [
        obj("audit/000000000001-" + "a" * 64),
        obj(BACKUP_I),
        obj(SEG1),
        obj(PACK, 1000),
        obj("keyring/1-a"),
        obj("config"),
        obj("keys/abc"),
        obj("locks/x"),
        obj("plans/1-a"),
        obj("gcplan/1"),
        obj("gcplan/2"),
    ]
    target = [obj(SEG1, 11), obj("keyring/1-a")]
    plan = plan_copy(source, target)
    assert [name for name, _ in CATEGORIES] == list(plan.missing)
    assert [o.key for o in plan.missing["data"]] == [PACK]
    assert [o.key for o in plan.missing["manifests"]] == [BACKUP_I]
    assert plan.missing["keyring"] == [] and plan.present == 1
    assert plan.differs == [SEG1]
    assert plan.unknown == {"gcplan/": 2}
    assert plan.objects == 3 and plan.bytes == 1020


@pytest.mark.parametrize(
    ("key", "category"),
    [
        ("keyring/1", "keyring"),
        (PACK, "data"),
        ("index/" + "0" * 64, "index"),
        (SEG1, "wal"),
        (BACKUP_I, "manifests"),
        ("audit/x", "audit"),
        ("config", None),
        ("keys/a", None),
        ("locks/a", None),
    ],
)
def test_category_of(key: str, category: str | None) -> None:
    assert category_of(key) == category
