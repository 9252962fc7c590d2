"""The [rds] instance's PITR state for alerts and metrics: one DescribeDBInstances per
evaluation, through a callable the CLI wires (``pgdr.rds.client``); a failed call is
``up = False`` with its one-line error, never a crashed evaluation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pgdr.daemon.facts import RdsFact
from pgdr.errors import PgdrError


def collect_rds(describe: Callable[[], dict[str, Any]], instance: str, policy_days: int) -> RdsFact:
    """``describe``: the instance's DescribeDBInstances entry."""
    try:
        inst = describe()
    except PgdrError as e:
        return RdsFact(instance, False, e.message, policy_days=policy_days)
    retention = inst.get("BackupRetentionPeriod")
    return RdsFact(
        instance,
        True,
        latest_restorable=inst.get("LatestRestorableTime"),
        retention_days=int(retention) if retention is not None else None,
        policy_days=policy_days,
    )
