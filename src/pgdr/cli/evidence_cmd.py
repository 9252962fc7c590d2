"""`pgdr runbook`, `pgdr gameday SCENARIO`, `pgdr report cost`, `pgdr report compliance`:
operational evidence from measured facts (docs/design.md §8n)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from pgdr.cli.context import CliContext, get_context
from pgdr.cli.output import emit, fail_after_result
from pgdr.cli.repo_target import backend, open_repository, target_from_settings

if TYPE_CHECKING:
    from pgdr.repo.repository import Repository
    from pgdr.storage.base import Backend

app = typer.Typer(help="Reports from measured facts: storage cost, compliance evidence.")


def _write(path: Path, text: str) -> None:
    from pgdr.errors import UsageError
    from pgdr.localfs import atomic_write

    try:
        atomic_write(path, text)  # owner-only: reports name tables, hosts and keys
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror}") from None


def _bindir() -> str:
    from pgdr.errors import PgdrError
    from pgdr.pg.binaries import find_bindir

    try:
        return str(find_bindir(None))
    except PgdrError:
        return ""


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _replica(cli: CliContext, name: str) -> Backend:
    from pgdr.config import resolve_repository

    return backend(target_from_settings(resolve_repository(cli.config, name)[1]))


@dataclass
class RunbookResult:
    markdown: str
    runbook: Any

    def render_text(self, console: Console) -> None:
        console.print(self.markdown, end="", markup=False, highlight=False)


def runbook(
    ctx: typer.Context,
    html: Annotated[
        Path | None, typer.Option("--html", metavar="FILE", help="Also write the runbook as HTML.")
    ] = None,
) -> None:
    """The recovery runbook of this deployment: each scenario's exact commands, what to check
    after, and the RTO/RPO its drills and game days measured (Markdown on stdout)."""
    from pgdr.evidence.deployment import deployment
    from pgdr.evidence.gather import scenario_figures
    from pgdr.evidence.runbook import build_runbook
    from pgdr.evidence.runbook_render import to_html, to_markdown
    from pgdr.evidence.settings import config_path, runbook_settings

    cli = get_context(ctx)
    cfg = cli.config
    rb = runbook_settings(cfg)
    d = deployment(cfg, rb, config_path(cfg))
    if not d.bin_dir:  # the commands name pg_ctl by its full path, as this host has it
        d = replace(d, bin_dir=_bindir())
    figures = scenario_figures(open_repository(cli.target()), d, rb, datetime.now(UTC))
    book = build_runbook(d, figures, _now())
    if html is not None:
        _write(html, to_html(book))
    emit(cli, RunbookResult(to_markdown(book), book))


def gameday(
    ctx: typer.Context,
    scenario: Annotated[
        str,
        typer.Argument(
            metavar="SCENARIO",
            help="region-failure, malicious-deletion, complete-loss, corruption or "
            "accidental-deletion.",
        ),
    ],
) -> None:
    """Rehearse a recovery scenario in a sandbox: check its preconditions, run the restore it
    implies, record the outcome like a drill (exit 121-123 name a broken precondition)."""
    from pgdr.drill.engine import DrillEnv, DrillRequest, run_drill
    from pgdr.drill.settings import drill_settings
    from pgdr.errors import UsageError
    from pgdr.evidence.gameday import GamedayEnv, run_gameday
    from pgdr.evidence.gameday_checks import GAMEDAYS
    from pgdr.evidence.gather import REPLICA_LAG_MAX_S

    if scenario not in GAMEDAYS:
        raise UsageError(f"unknown game day {scenario!r}: choose one of {', '.join(GAMEDAYS)}")
    cli = get_context(ctx)
    cfg = cli.config
    name, s = cli.repo_settings()
    settings = drill_settings(cfg)
    env = DrillEnv(
        superuser=cfg.postgres.user,
        default_database=cfg.postgres.dbname,
        bindir=cfg.postgres.bin_dir,
    )

    @cache
    def primary() -> Repository:
        return open_repository(cli.target())

    def open_replica(rname: str) -> Repository:
        from pgdr.config import resolve_repository

        return open_repository(target_from_settings(resolve_repository(cfg, rname)[1]))

    def drill(repo: Repository, target: str) -> Any:
        return run_drill(repo, settings, DrillRequest("latest", target, False, None), env)

    lock_days = s.s3.object_lock_days or (
        cfg.retention.lock_days if s.s3.object_lock_mode else None
    )
    genv = GamedayEnv(
        repository=name,
        url=s.url,
        open_primary=primary,
        replicas=list(s.replicate_to),
        replica_backend=lambda r: _replica(cli, r),
        open_replica=open_replica,
        drill=drill,
        check_key=lambda: _key_problem(cli),
        window=cfg.retention.window,
        lock_mode=s.s3.object_lock_mode,
        lock_days=lock_days,
        max_lag_s=float(cfg.alerts.get("replica_lag_max_s", REPLICA_LAG_MAX_S)),
    )
    rec, err = run_gameday(scenario, genv)
    emit(cli, rec)
    if err is not None:
        fail_after_result(cli, err)


def _key_problem(cli: CliContext) -> str | None:
    """Why the configured key material cannot be reached (None when it can): the complete-
    loss scenario has nothing else to open the repository with."""
    from pgdr.errors import PgdrError

    name, s = cli.repo_settings()
    if cli.key_file is not None:
        s = s.model_copy(update={"passphrase": None, "kms_key_id": None, "key_file": cli.key_file})
    if s.key_file is not None:
        p = Path(s.key_file)
        if not p.is_file():
            return f"key file {p} of repository {name} is missing"
        try:
            if not p.read_bytes().strip():
                return f"key file {p} of repository {name} is empty"
        except OSError as e:
            return f"key file {p} of repository {name} cannot be read: {e.strerror}"
    try:
        cli.target()
    except PgdrError as e:
        return f"the key of repository {name} is not reachable: {e.message}"
    return None


@app.command()
def cost(ctx: typer.Context) -> None:
    """Monthly storage cost: bytes by storage class of the repository and its replicas, times
    the [costs] price table (a class without a configured price has no figure)."""
    from pgdr.evidence.cost import cost_report
    from pgdr.evidence.gather import cost_locations
    from pgdr.evidence.settings import cost_settings

    cli = get_context(ctx)
    name, _s = cli.repo_settings()
    prices = cost_settings(cli.config)
    locations = cost_locations(cli.config, name, backend(cli.target()), lambda r: _replica(cli, r))
    exports = _exports(cli)
    if exports is not None:
        locations.append(exports)
    emit(
        cli,
        cost_report(
            locations,
            prices.per_gb_month,
            prices.currency,
            prices.prices_as_of,
            exports=exports is not None,
        ),
    )


def _exports(cli: CliContext) -> tuple[str, str, dict[str, tuple[int, int]]] | None:
    """The exports target's bytes by storage class (tiers moved by the lifecycle rule show in
    S3's listing), or None without an ``[exports] url``."""
    from pgdr.config import section
    from pgdr.evidence.cost import bytes_by_class
    from pgdr.export.settings import ExportSettings
    from pgdr.export.target import open_target

    settings: ExportSettings = section(cli.config, "exports", ExportSettings)
    if not settings.url:
        return None
    target = open_target(settings)
    try:
        return ("exports", target.url, bytes_by_class(target.backend.list(target.prefix)))
    finally:
        target.close()


@dataclass
class ComplianceResult:
    text: str
    report: Any

    def render_text(self, console: Console) -> None:
        console.print(self.text, end="", markup=False, highlight=False)


@app.command()
def compliance(
    ctx: typer.Context,
    html: Annotated[
        Path | None, typer.Option("--html", metavar="FILE", help="Also write the report as HTML.")
    ] = None,
    period_days: Annotated[
        float, typer.Option("--period-days", help="A drill must have passed within this many days.")
    ] = 8.0,
) -> None:
    """Compliance controls (SOC 2, HIPAA, GDPR, ISO 27001) each met with the ids of its records,
    not met naming the missing evidence, or not configured; the report's hash is audited."""
    import hashlib
    import json

    from pgdr import audit
    from pgdr.cli.output import to_jsonable
    from pgdr.evidence.compliance import evaluate
    from pgdr.evidence.compliance_render import to_html, to_text
    from pgdr.evidence.gather import compliance_facts

    cli = get_context(ctx)
    name, s = cli.repo_settings()
    repo = open_repository(cli.target())
    replicas = {r: _replica(cli, r) for r in s.replicate_to}
    facts = compliance_facts(cli.config, name, repo, replicas, timedelta(days=period_days))
    report = evaluate(facts, _now())
    body = json.dumps(to_jsonable(report.controls), sort_keys=True).encode()
    report.sha256 = hashlib.sha256(body).hexdigest()
    report.audit_entry = audit.record(repo, "compliance-report", {"sha256": report.sha256})
    if html is not None:
        _write(html, to_html(report))
    emit(cli, ComplianceResult(to_text(report), report))
