"""`pgdr drill` (run one), `pgdr drill history`, `pgdr drill show`, `pgdr drill cleanup`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pgdr.cli.context import get_context
from pgdr.cli.options import flag
from pgdr.cli.output import emit
from pgdr.cli.repo_target import open_repository

app = typer.Typer(
    help="Restore drills: restore into a sandbox, validate, measure RTO/RPO, record, notify.",
    invoke_without_command=True,
)


@app.callback()
def drill(
    ctx: typer.Context,
    backup: Annotated[
        str, typer.Option("--backup", help="latest, random, or a backup id or label.")
    ] = "latest",
    target: Annotated[
        str, typer.Option("--target", help="latest, random, or a time (ISO 8601 with zone).")
    ] = "latest",
    keep: Annotated[bool, flag("--keep", "Leave the sandbox running for inspection.")] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write a report: .html, .md or .json.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for --backup/--target random.")] = None,
    rds: Annotated[
        bool,
        flag(
            "--rds",
            "Drill the [rds] instance: a point-in-time restore into a tagged, ephemeral RDS "
            "instance (--target latest, random or a time in its window), then the same checks.",
        ),
    ] = False,
) -> None:
    """Run a restore drill (without a subcommand)."""
    if ctx.invoked_subcommand is not None:
        return
    from pgdr.drill.engine import DrillEnv, DrillRequest, run_drill
    from pgdr.drill.report import write_report
    from pgdr.drill.settings import drill_settings
    from pgdr.errors import DrillAborted, DrillFailed
    from pgdr.notify.base import build_notifiers
    from pgdr.notify.settings import notification_settings

    cli = get_context(ctx)
    cfg = cli.config
    settings, channels = drill_settings(cfg), notification_settings(cfg)
    repo = open_repository(cli.target())
    unknown = sorted(set(settings.notify or []) - set(channels))
    if unknown:
        from pgdr.errors import ConfigError

        raise ConfigError(f"[drill] notify names unknown channel(s): {', '.join(unknown)}")
    from pgdr.cli.rds_drill import production

    env = DrillEnv(
        production=production(cli),
        notifiers=build_notifiers(channels),
        superuser=cfg.postgres.user,
        default_database=cfg.postgres.dbname,
        bindir=cfg.postgres.bin_dir,
        say=(lambda text: cli.err.print(f"[dim]drill: {text}[/]"))
        if cli.show_progress
        else (lambda _t: None),
    )
    provider = None
    if rds:
        if backup != "latest":
            from pgdr.errors import UsageError

            raise UsageError("--backup does not apply to --rds: RDS restores its own backups")
        from pgdr.cli.rds_drill import rds_provider

        provider = rds_provider(cli, target, seed, env, settings)
    rec = run_drill(repo, settings, DrillRequest(backup, target, keep, seed), env, provider)
    if report is not None:
        write_report(rec, report)
    emit(cli, rec)
    for n in rec.notifications:
        if not n["ok"]:
            cli.err.print(f"pgdr: warning: notification {n['channel']} failed: {n['error']}")
    err: DrillAborted | DrillFailed | None = None
    hint = f"record {rec.id} stored; see `pgdr drill show {rec.id}`"
    if rec.error:
        err = DrillAborted(rec.message, hint=hint)
    elif rec.result == "failed":
        err = DrillFailed(rec.message, hint=hint)
    if err is not None and cli.json:
        # stdout already holds the record: one JSON document; the error goes to stderr only
        from pgdr.cli.error_output import report_error

        raise typer.Exit(report_error(err, as_json=False))
    if err is not None:
        raise err


@app.command()
def history(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(help="Only the last N drills.")] = None,
) -> None:
    """Past drills from the repository: results, pass rate, RTO and RPO over time."""
    from pgdr.drill.record import history as load_history
    from pgdr.drill.record import summarize

    cli = get_context(ctx)
    emit(cli, summarize(load_history(open_repository(cli.target()), limit)))


@app.command()
def show(
    ctx: typer.Context,
    drill_id: Annotated[
        str, typer.Argument(help="Drill id (or a unique prefix, or latest).")
    ] = "latest",
    report: Annotated[
        Path | None, typer.Option("--report", help="Write a report: .html, .md or .json.")
    ] = None,
) -> None:
    """One recorded drill in full; --report writes it as HTML, Markdown or JSON."""
    from pgdr.drill.record import load
    from pgdr.drill.report import write_report

    cli = get_context(ctx)
    rec = load(open_repository(cli.target()), drill_id)
    if report is not None:
        write_report(rec, report)
    emit(cli, rec)


@app.command()
def cleanup(
    ctx: typer.Context,
    kept: Annotated[
        bool,
        flag("--kept", "Also remove what --keep left (sandboxes, or RDS instances with --rds)."),
    ] = False,
    rds: Annotated[
        bool,
        flag(
            "--rds",
            "Delete RDS instances tagged as pgdr drills whose drill is dead (never an "
            "untagged instance).",
        ),
    ] = False,
) -> None:
    """Stop and remove sandboxes left behind by killed drills (and --keep ones with --kept)."""
    from pgdr.cli.results import Message
    from pgdr.drill.sandbox import reap
    from pgdr.drill.settings import drill_settings
    from pgdr.paths import default_state_dir

    cli = get_context(ctx)
    if rds:
        import functools

        from pgdr.config_rds import require_rds
        from pgdr.drill.rds_provider import leftovers
        from pgdr.rds.client import Aws

        s = require_rds(cli.config)
        gone = leftovers(
            functools.partial(Aws(endpoint_url=s.endpoint_url).rds, s.region), include_kept=kept
        )
        if cli.json:
            emit(cli, {"removed": gone})
            return
        text = "\n".join(f"deleted RDS drill instance {i}" for i in gone)
        emit(cli, Message(text or "no leftover RDS drill instances"))
        return
    removed = reap(drill_settings(cli.config).state_dir or default_state_dir(), include_kept=kept)
    if cli.json:
        emit(cli, {"removed": [m.base_dir for m in removed]})
        return
    text = "\n".join(f"removed sandbox {m.base_dir} (drill {m.drill_id})" for m in removed)
    emit(cli, Message(text or "no leftover sandboxes"))
