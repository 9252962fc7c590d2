"""Dashboard series (pure): backups per day count scheduled runs (job records) and manual
backups (the catalog, no job record) once each; the storage series carries both the backups'
stored data and the repository's total, the number `pgdr status` shows."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from pgdr.daemon.alert_rules import conditions
from pgdr.daemon.facts import DrillFact
from pgdr.daemon.history import JobRecord
from pgdr.daemon.series import dashboard_series
from pgdr.daemon.settings import AlertSettings
from pgdr.daemon.status import build_status
from tests.fixtures.daemon_facts import NOW, GiB, facts

pytestmark = pytest.mark.unit


def job(kind: str, hours_ago: float, status: str = "success") -> JobRecord:
    t = (NOW - timedelta(hours=hours_ago)).isoformat()
    return JobRecord(f"j-{kind}-{hours_ago}", kind, t, t, t, status)


@pytest.mark.parametrize(
    ("scheduled", "jobs", "succeeded", "failed", "manual"),
    [
        (0, [], 8, 0, 8),  # all by hand: the old chart showed "no scheduled runs yet"
        (8, [], 0, 0, 0),  # scheduled, records not read (yet): nothing counted twice
        (8, [job("backup_incr", 2), job("backup_incr", 3, "failed")], 1, 1, 0),
        (5, [job("backup_full", 1), job("verify", 1), job("drill", 1)], 4, 0, 3),
    ],
)
def test_success_counts_scheduled_and_manual(
    scheduled: int, jobs: list[JobRecord], succeeded: int, failed: int, manual: int
) -> None:
    f = facts()
    backups = [replace(b, scheduled=i >= 8 - scheduled) for i, b in enumerate(f.repo.backups)]
    f.repo = replace(f.repo, backups=backups, jobs=jobs)
    bs = dashboard_series(f)["backup_success"]
    assert (bs["succeeded"], bs["failed"], bs["manual"]) == (succeeded, failed, manual)
    assert bs["runs"] == succeeded + failed
    assert sum(d["success"] for d in bs["days"]) == succeeded
    assert sum(d["manual"] for d in bs["days"]) == manual


def test_storage_series_names_data_and_repository_total() -> None:
    f = facts()
    st = dashboard_series(f)["storage"]
    stored = sum(b.stored_bytes for b in f.repo.backups)
    assert st["data_bytes"] == st["trend"][-1]["bytes"] == stored
    status = build_status(f, {}, {})
    assert st["total_bytes"] == status.repository["total_bytes"] == 23 * GiB


def test_failed_drill_alert_names_the_reason() -> None:
    why = "drill failed: indexes [app]: missing: public.orders_customer_id_idx"
    d = DrillFact("d2", NOW, False, "failed", 40.0, 40.0, 30.0, why)
    f = facts(repo_drills=[d])
    c = next(c for c in conditions(f, AlertSettings()) if c.name == "drill_failed")
    assert c.active and c.summary == f"drill d2: {why}"
