"""`pgdr expire`, `pgdr delete-backup`, `pgdr repo gc`, `pgdr repo rekey`, `pgdr key
rotate-data` (registered in pgdr.cli.main)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from pgdr.cli.context import CliContext, get_context
from pgdr.cli.output import emit
from pgdr.cli.repo_open import open_repository
from pgdr.config import RetentionSettings
from pgdr.errors import UsageError
from pgdr.repo.gc import GcOptions
from pgdr.repo.repository import Repository
from pgdr.retention.policy import Policy
from pgdr.retention.results import record_audit

DryRun = Annotated[bool, typer.Option("--dry-run", help="Decide and report; change nothing.")]
Wait = Annotated[
    float,
    typer.Option(
        "--wait",
        help="Seconds to wait for backups running when GC planned; after that the plan is "
        "left for the next run.",
    ),
]


def _emit_audited(cli: CliContext, repo: Repository, result: Any) -> None:
    """Key operations live in the repository layer, below the audit log: record them here.
    (expire, delete-backup and gc record themselves, so daemon runs are audited too.)"""
    emit(cli, record_audit(repo, result))


def _policy(r: RetentionSettings) -> Policy:
    return Policy(r.window, r.keep_full, r.keep_incremental)


def _gc(
    cli: CliContext, wait: float, dry_run: bool = False, threshold: float | None = None
) -> GcOptions:
    if wait < 0:
        raise UsageError("--wait must be >= 0 seconds")
    t = cli.config.retention.repack_threshold if threshold is None else threshold
    if not 0 < t <= 1:
        raise UsageError("--repack-threshold must be in (0, 1]")
    return GcOptions(repack_threshold=t, wait=wait, dry_run=dry_run)


def expire(ctx: typer.Context, dry_run: DryRun = False, wait: Wait = 0.0) -> None:
    """Apply the retention policy: remove backups and WAL outside the recovery window
    ([retention] in the config), then collect garbage. Never removes what the window needs."""
    from pgdr.retention.expire import expire as do_expire

    cli = get_context(ctx)
    repo = open_repository(cli.target())
    emit(cli, do_expire(repo, _policy(cli.config.retention), dry_run=dry_run, gc=_gc(cli, wait)))


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
    """Delete one backup. One inside the recovery window (or otherwise kept by the policy)
    needs --force and its id typed as confirmation (or --yes-i-know BACKUP_ID)."""
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
        gc=_gc(cli, wait),
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
    emit(cli, run_gc(repo, _gc(cli, wait, dry_run, repack_threshold)))


def rekey(
    ctx: typer.Context,
    rewrite: Annotated[
        bool,
        typer.Option("--rewrite", help="Re-encrypt everything older data keys sealed."),
    ] = False,
    wait: Wait = 0.0,
) -> None:
    """Show objects sealed with older data keys; with --rewrite, re-encrypt them under the
    current data key (see `pgdr key rotate-data`)."""
    from pgdr.repo.rekey import remaining_old
    from pgdr.repo.rekey import rewrite as do_rewrite
    from pgdr.retention.results import RekeyResult

    cli = get_context(ctx)
    repo = open_repository(cli.target())
    if repo.keyring is None:
        raise UsageError("an unencrypted repository has no data keys; nothing to rekey")
    if rewrite:
        _emit_audited(cli, repo, RekeyResult.of(repo.backend.url, do_rewrite(repo, _gc(cli, wait))))
    else:
        emit(
            cli,
            RekeyResult.pending(repo.backend.url, repo.sealer.current_key_id, remaining_old(repo)),
        )


def rotate_data(ctx: typer.Context) -> None:
    """Rotate the data key: new data is sealed with a new key, old data stays readable.
    `pgdr repo rekey --rewrite` re-encrypts the old data."""
    from pgdr.repo.rekey import rotate_data_key
    from pgdr.retention.results import DataKeyResult

    cli = get_context(ctx)
    repo = open_repository(cli.target())
    _emit_audited(cli, repo, DataKeyResult.of(repo.backend.url, rotate_data_key(repo)))
