"""`pgdr restore` (a command with subcommands: `pgdr restore --data-dir ...` restores,
`pgdr restore preview ...` says what it would do). Click runs the group's callback (the
restore, ``backup_cmd.restore``) before any subcommand; the callback does nothing then."""

from __future__ import annotations

import typer

from pgdr.cli import backup_cmd
from pgdr.cli.context import get_context
from pgdr.cli.output import emit, fail_after_result
from pgdr.cli.repo_target import open_repository
from pgdr.cli.restore_options import (
    BackupId,
    Databases,
    Immediate,
    Latest,
    Lsn,
    Name,
    Time,
    Timeline,
    Xid,
    parse_target,
)

app = typer.Typer(
    name="restore",
    help="Restore a backup into a data directory, to the latest WAL or a point in time.",
    add_completion=False,
)
app.callback(invoke_without_command=True)(backup_cmd.restore)


@app.command("preview")
def preview(
    ctx: typer.Context,
    latest: Latest = False,
    time: Time = None,
    lsn: Lsn = None,
    xid: Xid = None,
    name: Name = None,
    immediate: Immediate = False,
    timeline: Timeline = None,
    backup_id: BackupId = None,
    database: Databases = None,
) -> None:
    """Say what a restore with these options would do, writing nothing: the backup, the WAL
    range (segments, bytes), any gap in the WAL (the target is then unreachable: the latest
    reachable point is named) and the estimated time from drill records. Exits like the
    restore would for an unreachable target."""
    run_preview(ctx, parse_target(latest, time, lsn, xid, name, immediate), timeline,
                backup_id, database or [])  # fmt: skip


def run_preview(
    ctx: typer.Context,
    target: object,
    timeline: str | None,
    backup_id: str | None,
    databases: list[str],
) -> None:
    from pgdr.restore.plan import Target
    from pgdr.restore.preview import preview as do_preview
    from pgdr.restore.preview import refuse_unreachable

    assert isinstance(target, Target)
    cli = get_context(ctx)
    repo = open_repository(cli.target())
    result = do_preview(repo, target, timeline=timeline, backup=backup_id, databases=databases)
    emit(cli, result)
    err = refuse_unreachable(result)
    if err is not None:
        fail_after_result(cli, err)
