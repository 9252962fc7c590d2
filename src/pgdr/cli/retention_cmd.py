"""`pgdr expire`, `pgdr delete-backup`, `pgdr repo gc` (registered in pgdr.cli.main)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from pgdr.cli.context import CliContext, get_context
from pgdr.cli.output import emit
from pgdr.cli.repo_target import open_repository
from pgdr.config import RetentionSettings
from pgdr.errors import UsageError
from pgdr.repo.gc import GcOptions
from pgdr.retention.policy import Policy

DryRun = Annotated[bool, typer.Option("--dry-run", help="Decide and report; change nothing.")]
Wait = Annotated[
    float,
    typer.Option(
        "--wait",
        help="Seconds to wait for backups running when GC planned; after that the plan is "
        "left for the next run.",
    ),
]


def _policy(r: RetentionSettings) -> Policy:
    return Policy(r.window, r.keep_full, r.keep_incremental)


def gc_options(
    cli: CliContext, wait: float, dry_run: bool = False, threshold: float | None = None
) -> GcOptions:
    if wait < 0:
        raise UsageError("--wait must be >= 0 seconds")
    t = cli.config.retention.repack_threshold if threshold is None else threshold
    if not 0 < t <= 1:
        raise UsageError("--repack-threshold must be in (0, 1]")
    return GcOptions(repack_threshold=t, wait=wait, dry_run=dry_run)


def expire(ctx: typer.Context, dry_run: DryRun = False, wait: Wait = 0.0) -> None:
    """Apply the retention policy: remove backups and WAL the recovery window does not need.

    The policy is [retention] in the config. Then collects garbage. Never removes what the
    window needs."""
    from pgdr.retention.expire import expire as do_expire

    cli = get_context(ctx)
    repo = open_repository(cli.target())
    emit(
        cli,
        do_expire(repo, _policy(cli.config.retention), dry_run=dry_run, gc=gc_options(cli, wait)),
    )


def delete_backup(
    ctx: typer.Context,
    backup_id: Annotated[str, typer.Argument(help="The backup to delete (see `pgdr info`).")],
    force: Annotated[
        bool, typer.Option("--force", help="Allow deleting a backup the retention policy keeps.")
    ] = False,
    yes_i_know: Annotated[
        str | None,
        typer.Option("--yes-i-know", metavar="BACKUP_ID", help="Confirmation for scripts."),
    ] = None,
    wait: Wait = 0.0,
) -> None:
    """Delete one backup, if need be one the retention policy keeps.

    A backup inside the recovery window (or otherwise kept by the policy) needs --force and
    its id typed as confirmation (or --yes-i-know BACKUP_ID)."""
    from pgdr.retention.expire import delete_backup as do_delete
    from pgdr.retention.expire import protected_reason

    cli = get_context(ctx)
    repo = open_repository(cli.target())
    policy = _policy(cli.config.retention)
    confirmation, how = yes_i_know, "flag"
    if force and yes_i_know is None and sys.stdin.isatty():
        reason = protected_reason(repo, backup_id, policy)
        if reason:
            cli.err.print(f"[bold red]backup {backup_id} is protected[/]: {reason}")
            confirmation = typer.prompt(
                f"type {backup_id} to delete it anyway", default="", err=True
            )
            how = "typed"
    result = do_delete(
        repo,
        backup_id,
        policy,
        force=force,
        confirmation=confirmation,
        confirmed_by=how,
        gc=gc_options(cli, wait),
    )
    emit(cli, result)


def gc(
    ctx: typer.Context,
    dry_run: DryRun = False,
    wait: Wait = 0.0,
    repack_threshold: Annotated[
        float | None,
        typer.Option(help="Repack packs at least this unreferenced (default from the config)."),
    ] = None,
) -> None:
    """Delete packs and index objects no manifest references; repack mostly-empty packs.

    Safe while backups and WAL pushes run."""
    from pgdr.retention.expire import run_gc

    cli = get_context(ctx)
    repo = open_repository(cli.target())
    emit(cli, run_gc(repo, gc_options(cli, wait, dry_run, repack_threshold)))
