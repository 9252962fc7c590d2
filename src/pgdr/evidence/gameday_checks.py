"""The preconditions of each game day, as pure judgements over listings, settings and
dates: each returns the cause that breaks it (one line for the operator) or None."""

from __future__ import annotations

from datetime import datetime, timedelta

from pgdr.replicate.plan import replica_lag
from pgdr.storage.base import ObjectInfo

GAMEDAYS = (
    "region-failure",
    "malicious-deletion",
    "complete-loss",
    "corruption",
    "accidental-deletion",
)


def replica_problem(
    name: str,
    source: list[ObjectInfo],
    replica: list[ObjectInfo],
    now: datetime,
    max_lag_s: float,
) -> str | None:
    """Region failure: the replica must hold a repository, a backup, and be fresh."""
    lag = replica_lag(source, replica, now)
    if not lag.initialized:
        return f"replica {name} is empty: it holds no repository (run `pgdr repo replicate`)"
    if lag.newest_backup_replica is None:
        return f"replica {name} holds no backup"
    if lag.newest_backup_source and lag.newest_backup_replica < lag.newest_backup_source:
        return (
            f"replica {name} is stale: it lacks backup {lag.newest_backup_source} "
            f"(newest there: {lag.newest_backup_replica})"
        )
    if lag.seconds_behind > max_lag_s:
        return (
            f"replica {name} is stale: {lag.objects_behind} object(s) behind, the oldest "
            f"missing for {lag.seconds_behind:.0f} s (> {max_lag_s:g} s)"
        )
    return None


def lock_setting_problem(
    repository: str, url: str, mode: str | None, days: float | None, window: timedelta
) -> str | None:
    """Malicious deletion: Object Lock configured and at least as long as the window."""
    if not url.startswith("s3://"):
        return f"Object Lock is off: repository {repository} is not on S3 ({url})"
    if not mode:
        return f"Object Lock is off: repository {repository} has no s3.object_lock_mode"
    window_days = window.total_seconds() / 86400
    if not days or days < window_days:
        return (
            f"Object Lock covers {days or 0:g} days, less than the {window_days:g}-day window "
            f"of repository {repository}"
        )
    return None


def retention_problem(
    key: str, written: datetime | None, until: datetime | None, now: datetime, window: timedelta
) -> str | None:
    """An object the window needs must be locked until it leaves the window."""
    if until is None:
        return f"Object Lock is off: {key} has no retention (bucket without Object Lock?)"
    if until <= now:
        return f"Object Lock has expired on {key} (retained until {until.isoformat()})"
    if written is not None and until < written + window:
        return (
            f"Object Lock on {key} ends {until.isoformat()}, before it leaves the window "
            f"({(written + window).isoformat()})"
        )
    return None
