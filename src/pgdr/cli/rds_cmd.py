"""`pgdr rds …`: RDS mode, the AWS side (docs/design.md §8l) — policy check/apply, manual
snapshots with cross-region copies and retention, the PITR window, snapshot exports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from pgdr.cli.context import CliContext, get_context
from pgdr.cli.options import flag
from pgdr.cli.output import emit, fail_after_result

app = typer.Typer(
    help="Amazon RDS mode: backup policy, manual snapshots and copies, PITR window, exports.",
    no_args_is_help=True,
)
policy_app = typer.Typer(
    help="Compare the RDS instance with [rds.policy]; apply fixes the drift.",
    no_args_is_help=True,
)
app.add_typer(policy_app, name="policy")


def _setup(cli: CliContext) -> tuple[Any, Any]:
    from pgdr.config_rds import require_rds
    from pgdr.rds.client import Aws

    s = require_rds(cli.config)
    return s, Aws(endpoint_url=s.endpoint_url)


def _audit(cli: CliContext, action: str, details: dict[str, Any]) -> None:
    """The change happened on AWS already: an unreachable repository is a warning."""
    from pgdr import audit
    from pgdr.cli.repo_target import open_repository
    from pgdr.errors import PgdrError

    try:
        repo = open_repository(cli.target())
    except PgdrError as e:
        cli.err.print(f"pgdr: warning: {action} done but not audited: {e.message}")
        return
    audit.record(repo, action, details)


def _drift_error(report: Any) -> Any:
    from pgdr.errors import RdsPolicyDrift

    names = ", ".join(r.setting for r in report.drift)
    return RdsPolicyDrift(
        f"RDS instance {report.instance} drifts from [rds.policy]: {names}",
        hint="`pgdr rds policy apply` fixes what modify_db_instance can fix",
    )


@policy_app.command("check")
def policy_check(ctx: typer.Context) -> None:
    """Report each setting that differs from [rds.policy]; exit 106 on drift."""
    from pgdr.rds.instance import check

    cli = get_context(ctx)
    s, aws = _setup(cli)
    report = check(aws, s)
    emit(cli, report)
    if report.drift:
        fail_after_result(cli, _drift_error(report))


@policy_app.command("apply")
def policy_apply(ctx: typer.Context) -> None:
    """Fix the drift with modify_db_instance (applied immediately) and record an audit
    entry; exit 106 if drift remains (e.g. encryption, which needs a restore)."""
    from pgdr.rds.instance import apply

    cli = get_context(ctx)
    s, aws = _setup(cli)
    report = apply(aws, s)
    if report.applied:
        _audit(
            cli,
            "rds-policy-apply",
            {"instance": s.instance, "region": s.region, "changed": report.applied},
        )
    emit(cli, report)
    if report.drift or report.failures:
        fail_after_result(cli, _drift_error(report))


@app.command()
def snapshot(
    ctx: typer.Context,
    no_expire: Annotated[
        bool, flag("--no-expire", "Take and copy only; leave older snapshots alone.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the snapshot and for each copy.")
    ] = 7200.0,
) -> None:
    """Take a tagged manual snapshot, copy it to each DR region with that region's KMS key,
    then delete pgdr's snapshots [rds.snapshots] no longer keeps."""
    from pgdr.rds.snapshot import take
    from pgdr.rds.wait import Waiting

    cli = get_context(ctx)
    s, aws = _setup(cli)
    result = take(
        aws, s, now=datetime.now(UTC), waiting=Waiting(timeout_s=timeout), expire=not no_expire
    )
    if result.deleted:
        _audit(cli, "rds-snapshot-expire", {"instance": s.instance, "deleted": result.deleted})
    emit(cli, result)


@app.command()
def info(ctx: typer.Context) -> None:
    """The PITR window and current RPO, automated backups, manual snapshots per region,
    the last export."""
    from pgdr.rds.info import info as rds_info

    cli = get_context(ctx)
    s, aws = _setup(cli)
    emit(cli, rds_info(aws, s, lambda: datetime.now(UTC)))


@app.command()
def export(
    ctx: typer.Context,
    snapshot: Annotated[
        str | None,
        typer.Option(help="Snapshot identifier; default: the newest pgdr snapshot."),
    ] = None,
    table: Annotated[
        list[str] | None,
        typer.Option(
            "--table",
            metavar="TABLE",
            help="database, database.schema or database.schema.table (repeatable); "
            "default: [rds.exports] tables, else everything.",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the export task.")] = 6
    * 3600.0,
) -> None:
    """Export a snapshot to the exports bucket (StartExportTask), wait for it, and normalise
    it into pgdr's export format (_manifest.json, _SUCCESS)."""
    from pgdr.rds.export import run_export
    from pgdr.rds.wait import Waiting

    cli = get_context(ctx)
    s, aws = _setup(cli)
    result = run_export(
        aws,
        s,
        now=datetime.now(UTC),
        waiting=Waiting(timeout_s=timeout),
        snapshot=snapshot,
        tables=table or None,
    )
    _audit(
        cli,
        "rds-export",
        {"instance": s.instance, "export_id": result.export_id, "snapshot": result.snapshot},
    )
    emit(cli, result)
