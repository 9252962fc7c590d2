"""The daemon's config sections: ``[schedule]``, ``[alerts]``, ``[daemon]``, ``[web]``.

Defaults follow the reference policy: incremental backups daily at 03:00 UTC (Monday to
Saturday), a full backup Sundays at 03:00, a drill Sundays at 02:00, verify daily at 05:00,
an export monthly (the 1st, 04:00). Like ``[drill]``, these tables stay raw in
``pgdr.config.Config`` (keeping the models off the wal-push path) and are validated where
they are used, by :func:`daemon_sections`, with the same one-line errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, field_validator

from pgdr.daemon.cron import Schedule
from pgdr.settings_types import STRICT, LaxPath, Secret


class _M(BaseModel):
    model_config = STRICT


class ScheduleSettings(_M):
    """Cron expressions in UTC (five fields), @daily-style macros, ``@every 30s``, or "off"."""

    backup_full: str = "0 3 * * 0"
    backup_incr: str = "0 3 * * 1-6"
    drill: str = "0 2 * * 0"
    #: The RDS drill (`pgdr drill --rds`: a point-in-time restore of [rds] instance); off
    #: unless scheduled, e.g. "0 2 * * 0" on RDS (weekly, Sundays 02:00 UTC).
    rds_drill: str = "off"
    #: RDS mode: a tagged manual snapshot copied to each DR region, then [rds.snapshots]
    #: retention (`pgdr rds snapshot`); off unless scheduled, e.g. "0 5 * * *" (daily, after
    #: the 03:00-04:00 backup window).
    rds_snapshot: str = "off"
    #: RDS mode: a snapshot export to [rds.exports] (`pgdr rds export`); off unless
    #: scheduled, e.g. "0 6 1 * *" (monthly).
    rds_export: str = "off"
    verify: str = "0 5 * * *"
    export: str = "0 4 1 * *"
    #: A separate retention schedule; by default retention runs after each backup instead.
    expire: str = "off"
    #: Apply the retention policy ([retention]) right after every successful backup.
    expire_after_backup: bool = True
    #: Read every pack on scheduled verifies (slow on large repositories).
    verify_read_data: bool = False

    @field_validator(
        "backup_full",
        "backup_incr",
        "drill",
        "rds_drill",
        "rds_snapshot",
        "rds_export",
        "verify",
        "export",
        "expire",
    )
    @classmethod
    def _expr(cls, v: str) -> str:
        Schedule.parse(v)  # ValueError with a one-line reason
        return v

    def expressions(self) -> dict[str, str]:
        return {
            "backup_full": self.backup_full,
            "backup_incr": self.backup_incr,
            "drill": self.drill,
            "rds_drill": self.rds_drill,
            "rds_snapshot": self.rds_snapshot,
            "rds_export": self.rds_export,
            "verify": self.verify,
            "export": self.export,
            "expire": self.expire,
        }


class AlertSettings(_M):
    #: Last successful backup older than this (26 h: a daily backup plus slack).
    backup_max_age_s: float = Field(default=26 * 3600, gt=0)
    #: Size anomaly: the newest backup outside ±band % of the median of the ones before it.
    size_band_pct: float = Field(default=50.0, gt=0, le=1000)
    size_window: int = Field(default=7, ge=2, le=100)
    size_min_backups: int = Field(default=3, ge=1, le=100)
    #: Storage free below this share (repository on file://, and PGDATA) …
    storage_free_min_pct: float = Field(default=10.0, ge=0, le=100)
    #: … or below this many bytes (0: only the percentage applies).
    storage_free_min_bytes: int = Field(default=0, ge=0)
    replica_lag_max_s: float = Field(default=30.0, gt=0)
    #: WAL archiving lagging: completed segments not yet in the repository, or seconds.
    wal_lag_max_segments: int = Field(default=16, ge=1)
    wal_lag_max_s: float = Field(default=600.0, gt=0)
    #: RDS mode: PITR lag (now - LatestRestorableTime) above this fires rds_rpo.
    rds_rpo_max_s: float = Field(default=600.0, gt=0)
    #: export_late: the newest complete export may be this much older than the export
    #: schedule's longest gap (monthly: 31 days + 2 days).
    export_grace_s: float = Field(default=2 * 86400, gt=0)
    #: A condition must hold this long before the alert fires (0: at the first evaluation).
    for_s: float = Field(default=0.0, ge=0)
    #: Alerts not to evaluate, by name (see `pgdr status`).
    disabled: list[str] = []
    #: Channels (names under [notifications]) alerts go to; default all.
    notify: list[str] | None = None


class DaemonSettings(_M):
    #: Local state: lock, alert states, the job-record outbox (default like drills:
    #: $PGDR_STATE_DIR, /var/lib/pgdr as root, else ~/.local/state/pgdr).
    state_dir: LaxPath | None = None
    #: How often facts are collected, metrics refreshed and alerts evaluated.
    eval_interval_s: float = Field(default=60.0, ge=0.2, le=3600)
    #: First retry of a job that failed for an environmental reason; doubles up to the max.
    retry_s: float = Field(default=60.0, ge=0.1)
    retry_max_s: float = Field(default=900.0, ge=0.1)
    #: On SIGTERM, running jobs get this long to finish before the daemon exits anyway.
    shutdown_grace_s: float = Field(default=600.0, ge=0)


class WebSettings(_M):
    enabled: bool = True
    #: host:port; the dashboard binds to localhost unless configured otherwise.
    listen: str = "127.0.0.1:8484"
    #: Bearer token (also accepted as the basic-auth password with any user name). Without
    #: token and username/password a token is generated into <state dir>/web-token.
    token: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    #: Serve /metrics without authentication. Off by default: metrics name the database
    #: host, repository and backup schedule; give Prometheus the token instead.
    metrics_public: bool = False
    #: Host names the dashboard answers to besides localhost, the bind host, this machine's
    #: name and IP addresses (a DNS-rebinding defence); "*" turns the check off (a proxy
    #: that checks Host itself in front).
    allowed_hosts: list[str] = []

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, v: list[str]) -> list[str]:
        for name in v:
            if name != "*" and (not name or any(c in name for c in "/@ \t") or "://" in name):
                raise ValueError(f"expected host names like pgdr.example.com, got {name!r}")
        return v

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        host, sep, port = v.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("expected host:port, e.g. 127.0.0.1:8484")
        return v


@dataclass(frozen=True)
class DaemonSections:
    schedule: ScheduleSettings
    alerts: AlertSettings
    daemon: DaemonSettings
    web: WebSettings


def daemon_sections(config: Any) -> DaemonSections:
    """The validated daemon sections of a :class:`pgdr.config.Config`."""
    from pgdr.config import section

    schedule: ScheduleSettings = section(config, "schedule", ScheduleSettings)
    # [rds.snapshots] schedule (where RDS mode first documented it) schedules the snapshot
    # job too, unless [schedule] rds_snapshot is given: [schedule] wins.
    legacy = (getattr(config, "rds", None) or {}).get("snapshots", {}).get("schedule")
    if legacy is not None and "rds_snapshot" not in (getattr(config, "schedule", None) or {}):
        try:
            Schedule.parse(str(legacy))
        except ValueError as e:
            from pgdr.errors import ConfigError

            raise ConfigError(f"[rds.snapshots] schedule = {legacy!r}: {e}") from None
        schedule = schedule.model_copy(update={"rds_snapshot": str(legacy)})
    return DaemonSections(
        schedule=schedule,
        alerts=section(config, "alerts", AlertSettings),
        daemon=section(config, "daemon", DaemonSettings),
        web=section(config, "web", WebSettings),
    )
