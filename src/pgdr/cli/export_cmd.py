"""`pgdr export run | list | show ID | verify ID` (docs/design.md §8j)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from pgdr.cli.audited import audit_done
from pgdr.cli.context import CliContext, get_context
from pgdr.cli.options import flag
from pgdr.cli.output import emit, fail_after_result

if TYPE_CHECKING:
    from pgdr.export.run import Progress
    from pgdr.export.settings import ExportSettings
    from pgdr.export.target import ExportTarget

app = typer.Typer(
    help="Long-term exports: consistent Parquet cuts of chosen tables with integrity manifests.",
    no_args_is_help=True,
)


def export_settings(cli: CliContext) -> ExportSettings:
    from pgdr.export.settings import export_section

    return export_section(cli.config)


def open_export_target(cli: CliContext) -> ExportTarget:
    from pgdr.export.target import open_target

    return open_target(export_settings(cli))


def _names(values: list[str] | None) -> list[str]:
    return [n.strip() for v in values or [] for n in v.split(",") if n.strip()]


@contextmanager
def _progress(cli: CliContext) -> Iterator[Progress]:
    from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    from pgdr.export.run import Progress
    from pgdr.humanize import human

    if not cli.show_progress:
        yield Progress()
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[rows]} rows, {task.fields[size]}"),
        TimeRemainingColumn(),
    )
    with Bar(*columns, console=cli.err, transient=True) as bar:
        task = bar.add_task("export", total=None, rows=0, size="0 B")

        def update(p: Progress) -> None:
            total = max(p.rows_estimate, p.rows) or None
            bar.update(task, completed=p.rows, total=total, rows=p.rows, size=human(p.bytes))

        yield Progress(on_change=update)


@app.command()
def run(
    ctx: typer.Context,
    live: Annotated[
        bool, flag("--live", "Read the running server (one shared snapshot), not a backup.")
    ] = False,
    backup: Annotated[
        str, typer.Option("--backup", help="Backup to restore into a sandbox: latest, id or label.")
    ] = "latest",
    time: Annotated[
        str, typer.Option("--time", help="Recovery point of the sandbox: latest or an ISO time.")
    ] = "latest",
    database: Annotated[
        list[str] | None,
        typer.Option(
            "--database",
            "-d",
            metavar="DB",
            help="Database to export (repeatable; default [exports] databases or [postgres] dbname).",
        ),
    ] = None,
    tables: Annotated[
        list[str] | None,
        typer.Option(
            "--tables",
            metavar="PATTERNS",
            help="schema.table patterns to export (comma-separated, repeatable; default every user table).",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            metavar="PATTERNS",
            help="schema.table patterns to leave out (comma-separated, repeatable).",
        ),
    ] = None,
    partition_by: Annotated[
        str | None,
        typer.Option(
            "--partition-by", help="Date/timestamp column: one month=YYYY-MM/ directory per month."
        ),
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, max=64, help="Tables read in parallel.")
    ] = None,
) -> None:
    """Export tables as Parquet with a manifest; `_SUCCESS` is written last."""
    from pgdr.export.run import ExportRequest, SourceInfo, run_export
    from pgdr.export.writer import PartLimits

    cli = get_context(ctx)
    cfg = cli.config
    settings = export_settings(cli)
    target = open_export_target(cli)
    req = ExportRequest(
        databases=_names(database) or settings.databases or [cfg.postgres.dbname],
        tables=_names(tables) or settings.tables,
        exclude=_names(exclude) or settings.exclude,
        partition_by=partition_by,
        jobs=jobs or settings.jobs,
        limits=PartLimits(
            settings.part_size_mib << 20, settings.row_group_rows, settings.compression_level
        ),
    )

    def say(text: str) -> None:
        if cli.show_progress:
            cli.err.print(f"[dim]export: {text}[/]")

    try:
        if live:
            from psycopg.conninfo import make_conninfo

            from pgdr.export.manifest import Source

            pg = cfg.postgres

            def live_conninfo(dbname: str) -> str:
                return make_conninfo(
                    host=pg.host,
                    port=str(pg.port),
                    user=pg.user,
                    dbname=dbname,
                    application_name="pgdr export",
                )

            with _progress(cli) as progress:
                manifest = run_export(
                    target, live_conninfo, SourceInfo(Source("live")), req, progress, say
                )
            audit_done(cli, "export", manifest.audit_details(target.url))
        else:
            from pgdr.cli.repo_target import open_repository
            from pgdr.drill.settings import drill_settings
            from pgdr.export.sandbox_source import restored_backup

            repo = open_repository(cli.target())
            try:
                with (
                    restored_backup(
                        repo,
                        backup,
                        time,
                        drill_settings(cfg),
                        superuser=cfg.postgres.user,
                        bindir=cfg.postgres.bin_dir,
                        say=say,
                    ) as (conninfo, info),
                    _progress(cli) as progress,
                ):
                    manifest = run_export(target, conninfo, info, req, progress, say)
                audit_done(cli, "export", manifest.audit_details(target.url), repo)
            finally:
                repo.close()
        from pgdr.export.results import ExportSummary

        emit(cli, ExportSummary(manifest, True, target.url))
    finally:
        target.close()


@app.command("list")
def list_(
    ctx: typer.Context,
    all_: Annotated[bool, flag("--all", "Also list incomplete exports (marked).")] = False,
) -> None:
    """Exports at the [exports] target: complete ones (with --all, incomplete ones marked)."""
    from pgdr.export.results import ExportList

    cli = get_context(ctx)
    target = open_export_target(cli)
    try:
        found = target.exports()
        shown = found if all_ else [e for e in found if e.complete]
        emit(cli, ExportList(target.url, shown, len(found) - len(shown)))
    finally:
        target.close()


@app.command()
def show(
    ctx: typer.Context,
    export_id: Annotated[str, typer.Argument(help="Export id (see `pgdr export list`).")],
) -> None:
    """An export's manifest: source, snapshot time, tables, rows, sizes, type notes."""
    from pgdr.export.results import ExportSummary

    cli = get_context(ctx)
    target = open_export_target(cli)
    try:
        manifest = target.manifest(export_id)
        emit(cli, ExportSummary(manifest, target.is_complete(export_id), target.url))
    finally:
        target.close()


@app.command()
def verify(
    ctx: typer.Context,
    export_id: Annotated[str, typer.Argument(help="Export id (see `pgdr export list`).")],
) -> None:
    """Re-read every file: SHA-256, row counts and schema against the manifest, `_SUCCESS`."""
    from pgdr.errors import ExportDamaged
    from pgdr.export.verify import verify_export

    cli = get_context(ctx)
    target = open_export_target(cli)
    try:
        result = verify_export(target, export_id)
    finally:
        target.close()
    emit(cli, result)
    if not result.ok:
        fail_after_result(
            cli,
            ExportDamaged(
                f"export {export_id}: {len(result.problems)} problem(s): {result.problems[0]}"
            ),
        )


@app.command()
def expire(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, flag("--dry-run", "Show what would be deleted; delete nothing.")
    ] = False,
) -> None:
    """Delete exports past the 7-year rule ([exports.lifecycle] expire_days) and incomplete
    ones a crashed run left (over a day old); never the newest complete export, nothing under
    S3 Object Lock retention or a legal hold. Audited in the repository's log."""
    from datetime import UTC, datetime

    from pgdr.export.expire import bucket_protection, expire_exports
    from pgdr.export.tiers import lifecycle_settings

    cli = get_context(ctx)
    settings = export_settings(cli)
    keep_days = lifecycle_settings(settings).expire_days
    target = open_export_target(cli)
    now = datetime.now(UTC)
    protection, close = bucket_protection(settings, now)
    try:
        result = expire_exports(target, keep_days, now=now, dry_run=dry_run, protection=protection)
    finally:
        close()
        target.close()
    if not dry_run and (result.deleted or result.refused):
        entry = result.audit_entry()
        audit_done(cli, str(entry.pop("action")), entry)
    emit(cli, result)
