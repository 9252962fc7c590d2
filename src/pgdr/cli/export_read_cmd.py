"""`pgdr export lifecycle plan|apply|check`, `pgdr export ddl`, `pgdr export restore`: reading
exports back (registered in pgdr.cli.main under the `export` group)."""

from __future__ import annotations

from typing import Annotated

import typer

from pgdr.cli.audited import audit_done
from pgdr.cli.context import CliContext, get_context
from pgdr.cli.output import emit, fail_after_result
from pgdr.config import section, url_problem
from pgdr.errors import UsageError
from pgdr.export.settings import ExportSettings

lifecycle_app = typer.Typer(
    help="S3 lifecycle tiers of the exports prefix: plan, apply, check for drift.",
    no_args_is_help=True,
)

Url = Annotated[
    str | None,
    typer.Option("--url", metavar="URL", help="The exports target (default: [exports] url)."),
]


def export_settings(cli: CliContext, url: str | None) -> ExportSettings:
    """``[exports]``, its url replaced by ``--url`` when given."""
    settings: ExportSettings = section(cli.config, "exports", ExportSettings)
    if url is not None:
        if why := url_problem(url):
            raise UsageError(f"--url: {why.replace('repository', 'exports')}")
        settings = settings.model_copy(update={"url": url})
    if not settings.url:
        raise UsageError("no exports target: set [exports] url in the config or pass --url")
    return settings


def _run(ctx: typer.Context, url: str | None, action: str) -> None:
    from pgdr.export import tiers

    cli = get_context(ctx)
    settings = export_settings(cli, url)
    lifecycle = tiers.lifecycle_settings(settings)
    step = {
        "plan": tiers.lifecycle_plan,
        "apply": tiers.lifecycle_apply,
        "check": tiers.lifecycle_check,
    }[action]
    report = step(settings, lifecycle)
    if action == "apply" and report.applies and not report.errors and report.rule is not None:
        audit_done(
            cli,
            "export-lifecycle-apply",
            {"url": report.url, "rule": report.rule, "drift": report.drift},
        )
    emit(cli, report)
    err = tiers.refusal(report)
    if err is not None:
        fail_after_result(cli, err)


@lifecycle_app.command("plan")
def lifecycle_plan(ctx: typer.Context, url: Url = None) -> None:
    """Print the lifecycle rule for the exports prefix and check it against S3's rules.

    Transitions, expiry and the abort of unfinished multipart uploads come from
    [exports.lifecycle]. A plan S3 would refuse exits 110 naming the rule; rules that only
    cost early-deletion fees are warnings. On file:// tiers do not apply and it says so."""
    _run(ctx, url, "plan")


@lifecycle_app.command("apply")
def lifecycle_apply(ctx: typer.Context, url: Url = None) -> None:
    """Set the planned rule on the exports bucket, keeping the bucket's other rules.

    Refuses an invalid plan (exit 110) without touching the bucket."""
    _run(ctx, url, "apply")


@lifecycle_app.command("check")
def lifecycle_check(ctx: typer.Context, url: Url = None) -> None:
    """Compare the bucket's lifecycle rules with the plan; exit 111 on drift."""
    _run(ctx, url, "check")


def ddl(
    ctx: typer.Context,
    export_id: Annotated[str, typer.Argument(metavar="ID", help="The export (see `export list`).")],
    duckdb: Annotated[
        bool, typer.Option("--duckdb", help="Views for DuckDB (the default).")
    ] = False,
    athena: Annotated[
        bool, typer.Option("--athena", help="CREATE EXTERNAL TABLE statements for Athena.")
    ] = False,
    athena_database: Annotated[
        str | None,
        typer.Option(
            "--athena-database", metavar="NAME", help="Athena database (default: pgdr_<ID>)."
        ),
    ] = None,
    url: Url = None,
) -> None:
    """Print SQL that makes an export's tables queryable in place: DuckDB or Athena.

    DuckDB: a view per table over read_parquet() of exactly the files the manifest lists.
    Athena (s3:// exports only): CREATE EXTERNAL TABLE ... STORED AS PARQUET LOCATION, with
    types mapped from the manifest. Only complete exports (with _SUCCESS)."""
    from pgdr.export.ddl import export_ddl
    from pgdr.export.target import open_target

    if duckdb and athena:
        raise UsageError("choose one of --duckdb and --athena")
    cli = get_context(ctx)
    target = open_target(export_settings(cli, url))
    try:
        result = export_ddl(target, export_id, "athena" if athena else "duckdb", athena_database)
    finally:
        target.close()
    emit(cli, result)


def restore(
    ctx: typer.Context,
    export_id: Annotated[str, typer.Argument(metavar="ID", help="The export (see `export list`).")],
    table: Annotated[
        str, typer.Option("--table", metavar="T", help="The table: SCHEMA.TABLE, or TABLE.")
    ],
    into_db: Annotated[
        str,
        typer.Option(
            "--into-db", metavar="DB", help="Database to load it into ([postgres] server)."
        ),
    ],
    as_name: Annotated[
        str | None,
        typer.Option("--as", metavar="NAME", help="Create it as NAME or SCHEMA.NAME instead."),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            "--database", metavar="DB", help="The export's source database holding T (if several)."
        ),
    ] = None,
    retrieval_tier: Annotated[
        str,
        typer.Option(
            "--retrieval-tier",
            metavar="TIER",
            help="Standard, Bulk or Expedited: how fast S3 brings back files in Glacier / "
            "Deep Archive.",
        ),
    ] = "Standard",
    url: Url = None,
) -> None:
    """Load one table of an export back into PostgreSQL (the long-term retrieval).

    Creates the table from the manifest's column types, then COPYs every file into it after
    checking its SHA-256, all in one transaction; refuses an existing table (exit 113). Files
    in Glacier or Deep Archive get a restore request with --retrieval-tier and the command
    exits 112 saying how long to wait; run it again then, and it resumes."""
    from psycopg.conninfo import make_conninfo

    from pgdr.export.load import RestoreRequest, restore_table
    from pgdr.export.target import open_target

    cli = get_context(ctx)
    settings = export_settings(cli, url)
    pg = cli.config.postgres
    conninfo = make_conninfo(
        host=pg.host,
        port=str(pg.port),
        user=pg.user,
        dbname=into_db,
        application_name="pgdr export restore",
    )
    req = RestoreRequest(export_id, table, conninfo, into_db, database, as_name, retrieval_tier)
    target = open_target(settings)
    try:
        result = restore_table(target, settings, req)
    finally:
        target.close()
    audit_done(
        cli,
        "export-restore",
        {
            "export_id": result.export_id,
            "url": target.url,
            "table": result.source,
            "into": result.target,
            "database": result.database,
            "rows": result.rows,
            "files": result.files,
        },
    )
    emit(cli, result)
