"""What `pgdr repo replicate` and `pgdr repo lag` do, and the replication that follows a
backup when the repository has ``replicate_to``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pgdr.cli.context import CliContext
from pgdr.cli.progress import Callback
from pgdr.cli.repo_target import backend, key_source, target_from_settings
from pgdr.config import resolve_repository
from pgdr.errors import PgdrError, UsageError
from pgdr.humanize import human
from pgdr.replicate.plan import ReplicaLag, replica_lag
from pgdr.replicate.run import ReplicateResult, replicate
from pgdr.repo.repository import Repository
from pgdr.storage.base import Backend


def targets(cli: CliContext, to: list[str] | None) -> list[str]:
    """``--to`` as given, else the current repository's ``replicate_to``."""
    if to:
        return to
    name, settings = cli.repo_settings()
    if not settings.replicate_to:
        raise UsageError(
            f"repository {name!r} has no replicate_to in the config: give --to NAME|URL"
        )
    return list(settings.replicate_to)


def run_replicate(
    cli: CliContext, source: Repository, to: str, *, workers: int, progress: Callback | None
) -> ReplicateResult:
    _n, settings = resolve_repository(cli.config, to)
    target = target_from_settings(settings)
    return replicate(
        source,
        backend(target),
        key_source(target),
        workers=workers,
        label=f"replica {to}" if "://" not in to else "replica",
        progress=progress,
    )


def follow_backup(cli: CliContext, source: Repository) -> None:
    """After a backup: bring every configured replica up to date. A failure is a warning —
    the backup itself is complete on the primary; the replica's lag shows it."""
    _name, settings = cli.repo_settings()
    for to in settings.replicate_to:
        try:
            r = run_replicate(cli, source, to, workers=8, progress=None)
        except PgdrError as e:
            cli.err.print(f"pgdr: warning: replica {to} not updated: {e.message}")
            continue
        state = "" if r.complete and not r.problems else f", {len(r.problems)} problem(s)"
        if not cli.quiet:
            cli.err.print(
                f"pgdr: replica {to}: {sum(r.copied.values())} object(s), "
                f"{human(r.copied_bytes)} copied{state}"
            )


@dataclass
class ReplicateReport:
    replicas: list[ReplicateResult] = field(default_factory=list)

    def render_text(self, console: Console) -> None:
        for r in self.replicas:
            r.render_text(console)


@dataclass
class LagRow:
    replica: str
    url: str
    lag: ReplicaLag


@dataclass
class LagReport:
    source: str
    replicas: list[LagRow] = field(default_factory=list)

    def render_text(self, console: Console) -> None:
        t = Table(
            "replica",
            "behind",
            "bytes",
            "seconds",
            "newest WAL (here / replica)",
            "newest backup (here / replica)",
        )
        for r in self.replicas:
            lag = r.lag
            t.add_row(
                escape(r.replica if lag.initialized else f"{r.replica} (not initialized)"),
                str(lag.objects_behind),
                human(lag.bytes_behind),
                f"{lag.seconds_behind:.0f}",
                f"{lag.newest_wal_source or '-'} / {lag.newest_wal_replica or '-'}",
                f"{lag.newest_backup_source or '-'} / {lag.newest_backup_replica or '-'}",
            )
        console.print(t)


def lag(cli: CliContext, source: Backend, names: list[str]) -> LagReport:
    """Needs no key: it compares listings only."""
    report = LagReport(source.url)
    src = list(source.list())
    for name in names:
        _n, settings = resolve_repository(cli.config, name)
        replica = backend(target_from_settings(settings))
        report.replicas.append(
            LagRow(name, replica.url, replica_lag(src, list(replica.list()), datetime.now(UTC)))
        )
    return report
