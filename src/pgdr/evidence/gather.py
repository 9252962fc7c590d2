"""Reading the facts the reports are judged on: the config, the repository's records and
listings, the replicas' listings. Everything else in pgdr.evidence is pure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pgdr.audit.verify import read_log
from pgdr.catalog.load import load_backups
from pgdr.config import Config, resolve_repository
from pgdr.evidence.compliance import Facts
from pgdr.evidence.cost import LOCAL, bytes_by_class
from pgdr.evidence.deployment import Deployment
from pgdr.evidence.figures import SCENARIOS, Figures, figures_for
from pgdr.evidence.records import drill_docs, gamedays, measurements
from pgdr.evidence.settings import RunbookSettings
from pgdr.replicate.plan import replica_lag
from pgdr.repo.repository import Repository
from pgdr.storage.base import Backend

#: The alert thresholds' defaults (pgdr.daemon.settings; the daemon is a sibling app).
BACKUP_MAX_AGE_S = 26 * 3600.0
REPLICA_LAG_MAX_S = 30.0


def scenario_figures(
    repo: Repository, d: Deployment, rb: RunbookSettings, now: datetime
) -> dict[str, Figures]:
    ms = measurements(drill_docs(repo), gamedays(repo), set(d.replicas.values()))
    age = timedelta(days=rb.max_evidence_age_days)
    return {s: figures_for(s, ms, now, rb.last_n, age) for s in SCENARIOS}


def cost_locations(
    config: Config, name: str, source: Backend, open_backend: Callable[[str], Backend]
) -> list[tuple[str, str, dict[str, tuple[int, int]]]]:
    """(name, url, class -> (objects, bytes)) of the repository and each replica."""
    _n, s = resolve_repository(config, name)
    out = [(name, source.url, bytes_by_class(source.list()))]
    for r in s.replicate_to:
        b = open_backend(r)
        out.append((r, b.url, bytes_by_class(b.list())))
    return out


def compliance_facts(
    config: Config,
    name: str,
    repo: Repository,
    replicas: dict[str, Backend],
    period: timedelta,
    now: datetime | None = None,
) -> Facts:
    now = now or datetime.now(UTC)
    _n, s = resolve_repository(config, name)
    catalog = load_backups(repo)
    log = read_log(repo)
    src = list(repo.backend.list())
    lags: dict[str, float | None] = {}
    for rname, backend in replicas.items():
        lag = replica_lag(src, list(backend.list()), now)
        lags[rname] = lag.seconds_behind if lag.initialized else None
    lock_days = s.s3.object_lock_days or (
        config.retention.lock_days if s.s3.object_lock_mode else None
    )
    return Facts(
        now=now,
        period=period,
        backups=[(m.id, m.stop_time) for m in catalog.manifests],
        backup_max_age=timedelta(
            seconds=float(config.alerts.get("backup_max_age_s", BACKUP_MAX_AGE_S))
        ),
        drills=drill_docs(repo),
        audit_ok=log.ok,
        audit_entries=len(log.entries),
        audit_newest=log.entries[-1].key if log.entries else None,
        audit_problem="; ".join(f"{p.entry}: {p.message}" for p in log.problems) or None,
        window_days=config.retention.window.total_seconds() / 86400,
        encryption=repo.config.encryption,
        key_slots=len(repo.key_slots()),
        object_lock_mode=s.s3.object_lock_mode,
        object_lock_days=lock_days,
        replicas=lags,
        replica_lag_max_s=float(config.alerts.get("replica_lag_max_s", REPLICA_LAG_MAX_S)),
    )


__all__ = ["LOCAL", "compliance_facts", "cost_locations", "scenario_figures"]
