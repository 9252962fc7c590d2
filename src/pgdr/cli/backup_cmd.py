"""`pgdr backup`, `pgdr restore`, `pgdr info`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pgdr.cli import replica_actions, server_key_setup
from pgdr.cli.audited import audit_done
from pgdr.cli.backup_text import render_backup
from pgdr.cli.context import CliContext, get_context
from pgdr.cli.output import emit
from pgdr.cli.pg_options import PgData, PgDb, PgHost, PgPort, PgUser, conninfo
from pgdr.cli.progress import progress_bar
from pgdr.cli.repo_target import open_repository, open_repository_soon
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
from pgdr.errors import UsageError

if TYPE_CHECKING:
    from pgdr.wal.setup import SetupResult


def backup(
    ctx: typer.Context,
    backup_type: Annotated[
        str, typer.Option("--type", help="full (read every file) or incr.")
    ] = "incr",
    label: Annotated[str, typer.Option(help="A label stored with the backup.")] = "",
    annotation: Annotated[
        list[str] | None, typer.Option(metavar="KEY=VALUE", help="key=value, repeatable.")
    ] = None,
    pg_host: PgHost = None,
    pg_port: PgPort = None,
    pg_user: PgUser = None,
    pg_dbname: PgDb = None,
    pg_data: PgData = None,
    wal_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the backup's WAL.")
    ] = 300.0,
) -> None:
    """Take a base backup into the repository (counts only once its WAL is archived)."""
    from pgdr.backup.run import take_backup

    cli = get_context(ctx)
    if backup_type not in ("full", "incr"):
        raise UsageError("--type must be full or incr")
    notes = {}
    for a in annotation or []:
        k, sep, v = a.partition("=")
        if not sep or not k:
            raise UsageError(f"--annotation {a!r}: expected key=value")
        notes[k] = v
    opening = open_repository_soon(cli.target())  # its KDF runs beside the catalog snapshot
    with progress_bar(cli, "backup") as bar:
        result = take_backup(
            opening,
            conninfo(cli, pg_host, pg_port, pg_user, pg_dbname),
            backup_type=backup_type,
            label=label,
            annotations=notes,
            data_dir=pg_data or cli.config.postgres.data_dir,
            wal_timeout=wal_timeout,
            progress=(lambda d, t: bar("backup", d, t)) if bar else None,
        )
    repo = opening.result()
    if cli.json:
        emit(cli, result)
    else:
        render_backup(cli.out, result)
    replica_actions.follow_backup(cli, repo)
    for other in result.concurrent:
        cli.err.print(
            f"pgdr: note: another backup was running ({other}); each is stored under its own id"
        )
    for bad in result.page_checksum_errors:
        blocks = ", ".join(map(str, bad["blocks"][:10]))
        cli.err.print(f"pgdr: warning: page checksum failure in {bad['file']} block(s) {blocks}")


def restore(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="New (or empty) data directory.")
    ] = None,
    latest: Latest = False,
    time: Time = None,
    lsn: Lsn = None,
    xid: Xid = None,
    name: Name = None,
    immediate: Immediate = False,
    target_action: Annotated[
        str, typer.Option(help="promote, pause or shutdown at the target.")
    ] = "promote",
    timeline: Timeline = None,
    backup_id: BackupId = None,
    database: Databases = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Write nothing; print what `pgdr restore preview` prints."),
    ] = False,
    start: Annotated[
        bool, typer.Option("--start", help="Start the restored server and wait.")
    ] = False,
    port: Annotated[int | None, typer.Option(help="Port for --start.")] = None,
    tablespace_map: Annotated[
        list[str] | None,
        typer.Option(metavar="OLD=NEW", help="OLD_DIR=NEW_DIR (or OID=NEW_DIR), repeatable."),
    ] = None,
    delta: Annotated[
        bool,
        typer.Option(
            "--delta", help="Rewrite only what differs in an existing (stopped) data directory."
        ),
    ] = False,
    archive_mode: Annotated[
        str,
        typer.Option(
            "--archive-mode",
            help="off (default): the restored server does not archive (a restore beside "
            "production, e.g. to recover rows); repository: it archives into the repository "
            "restored from (a failover: it replaces production); preserve: it keeps the "
            "source's archive_command.",
        ),
    ] = "off",
) -> None:
    """Restore a backup into a data directory, to the latest WAL or a point in time.
    `pgdr restore preview` (or --dry-run) says what it would do first; `pgdr restore table`
    brings tables back, through a sandbox."""
    if ctx.invoked_subcommand is not None:  # `pgdr restore preview|table ...`: it does the work
        if data_dir is not None:
            raise UsageError(
                f"--data-dir belongs to `pgdr restore`, not `pgdr restore {ctx.invoked_subcommand}`"
            )
        return
    cli = get_context(ctx)
    target = parse_target(latest, time, lsn, xid, name, immediate)
    if dry_run:
        from pgdr.cli.restore_cmd import run_preview

        run_preview(ctx, target, timeline, backup_id, database or [])
        return
    if data_dir is None:
        raise UsageError(
            "pgdr restore needs --data-dir (or a subcommand: `pgdr restore preview|table`)"
        )
    if target_action not in ("promote", "pause", "shutdown"):
        raise UsageError("--target-action must be promote, pause or shutdown")
    if start and port is None:
        raise UsageError("--start needs --port")
    if archive_mode not in ("off", "repository", "preserve"):
        raise UsageError("--archive-mode must be off, repository or preserve")
    opening = open_repository_soon(cli.target())  # its KDF runs beside the imports below
    from pgdr.restore.commands import default_archive_command, default_restore_command
    from pgdr.restore.run import restore as do_restore

    archive_command = None
    if archive_mode == "repository":
        if cli.config.source is None:
            raise UsageError(
                "--archive-mode repository needs a config file the postgres user can read "
                "(the restored server's archive_command names it): pass --config"
            )
        key = server_key_setup.existing(cli)
        pusher = _pusher_dir(key)  # the new primary archives as `setup --apply` makes it
        _make_pusher_dir(pusher)
        archive_command = default_archive_command(cli.config.source, cli.repo, key, pusher)
    spaces = {}
    for m in tablespace_map or []:
        old, sep, new = m.partition("=")
        if not sep or not old or not new.startswith("/"):
            raise UsageError(f"--tablespace-map {m!r}: expected OLD=/absolute/new/dir")
        spaces[old] = new
    repo = opening.result()
    with progress_bar(cli, "restore") as bar:
        result = do_restore(
            repo,
            data_dir.absolute(),
            target=target,
            action=target_action,
            timeline=timeline,
            backup=backup_id,
            restore_command=default_restore_command(
                cli.config.source, cli.repo, key_file=server_key_setup.existing(cli)
            ),
            start_port=port if start else None,
            tablespace_map=spaces,
            delta=delta,
            progress=(lambda d, t: bar("restore", d, t)) if bar else None,
            archive=archive_mode != "off",
            archive_command=archive_command,
            databases=database or [],
        )
    emit(cli, result)
    if cli.json and archive_mode == "off":  # the text says so already; JSON readers see this
        cli.err.print(
            "pgdr: note: the restored server does not archive (--archive-mode off); if it "
            "replaces production, restore with --archive-mode repository"
        )


def info(ctx: typer.Context) -> None:
    """Backups, archived WAL per timeline, gaps, and the recoverable window."""
    from pgdr.errors import IntegrityError
    from pgdr.restore.info import repository_info

    cli = get_context(ctx)
    result = repository_info(open_repository(cli.target()))
    emit(cli, result)
    if result.damaged:
        _bid, why = min(result.damaged.items())
        raise IntegrityError(f"{len(result.damaged)} backup manifest(s) damaged: {why}")


def setup(
    ctx: typer.Context,
    apply: Annotated[
        bool, typer.Option("--apply", help="Set the values through ALTER SYSTEM.")
    ] = False,
    archive_timeout: Annotated[
        int, typer.Option(help="Seconds; bounds the RPO of an idle server.")
    ] = 60,
    pg_host: PgHost = None,
    pg_port: PgPort = None,
    pg_user: PgUser = None,
    pg_dbname: PgDb = None,
    spool: Annotated[
        Path | None,
        typer.Option(
            "--async-spool",
            help="Archive asynchronously through this local spool directory (busy servers).",
        ),
    ] = None,
    server_key_dir: Annotated[
        Path | None,
        typer.Option(
            "--server-key-dir",
            help="Passphrase repositories: where the server's OS user keeps the key file "
            "archive_command opens the repository with (default: its "
            "~/.local/state/pgdr/server-keys).",
        ),
    ] = None,
) -> None:
    """Show (and with --apply set) wal_level, archive_mode, archive_command, archive_timeout."""
    import shlex
    import shutil
    import sys

    from pgdr.wal.setup import setup as do_setup

    cli = get_context(ctx)
    if cli.config.source is None:
        raise UsageError(
            "archive_command needs a config file the postgres user can read: "
            "create /etc/pgdr/pgdr.toml (see examples/pgdr.toml) or pass --config"
        )
    exe = shutil.which("pgdr")
    base = [exe] if exe else [sys.executable, "-m", "pgdr"]
    cmd = " ".join(shlex.quote(p) for p in [*base, "--config", str(cli.config.source.resolve())])
    if cli.repo:
        cmd += f" --repo {shlex.quote(cli.repo)}"
    # a passphrase would cost a KDF per WAL file: the server gets its own key file
    key = server_key_setup.for_setup(
        cli, conninfo(cli, pg_host, pg_port, pg_user, pg_dbname), server_key_dir, apply
    )
    if key is not None:
        cmd += f" --key-file {shlex.quote(str(key))}"
    archive_command = f"{cmd} wal-push %p"
    if spool is None:  # synchronous, through a resident pusher (whatever the key)
        archive_command = _pusher_archive_command(cmd, _pusher_dir(key), apply)
    if spool is not None:
        from pgdr.pg.osuser import make_dir, resolve_runas
        from pgdr.wal.spool import async_archive_command

        spool = spool.absolute()
        if apply:  # the server's OS user writes the spool
            spool.parent.mkdir(parents=True, exist_ok=True)
            make_dir(spool, resolve_runas())
        archive_command = async_archive_command(cmd, spool)
    result = do_setup(
        conninfo(cli, pg_host, pg_port, pg_user, pg_dbname),
        archive_command,
        archive_timeout,
        apply,
    )
    emit(cli, result)
    if apply:
        _audit_setup(cli, result)


def _pusher_dir(server_key: Path | None) -> Path:
    """Beside the server key (its OS user's state directory); the same directory when the
    repository needs no server key (a key file, a KMS key: a KMS ``Decrypt`` per segment
    otherwise)."""
    from pgdr.pg.osuser import resolve_runas
    from pgdr.wal.server_key import default_key_dir

    keys = server_key.parent if server_key is not None else default_key_dir(resolve_runas())
    return keys.parent / "pusher"


def _make_pusher_dir(pusher_dir: Path) -> None:
    """The server's OS user owns the pusher's socket directory (and what leads to it)."""
    from pgdr.localfs import private_dir
    from pgdr.pg.osuser import chown_tree, make_dir, resolve_runas

    runas = resolve_runas()
    private_dir(pusher_dir.parent, created=lambda p: chown_tree(p, runas))  # each empty
    make_dir(pusher_dir, runas)


def _pusher_archive_command(cmd: str, pusher_dir: Path, apply: bool) -> str:
    """``wal-push --spool DIR %p``: each call hands the segment to a resident pusher in DIR
    (pgdr.wal.pusher) and returns once it is durable, without importing the repository."""
    import shlex

    if apply:
        _make_pusher_dir(pusher_dir)
    return f"{cmd} wal-push --spool {shlex.quote(str(pusher_dir))} %p"


def _audit_setup(cli: CliContext, result: SetupResult) -> None:
    changed = {r.name: r.wanted for r in result.rows if r.status != "ok"}
    if changed:
        audit_done(cli, "setup-apply", {"changed": changed, "restart": result.restart_needed})


def check(
    ctx: typer.Context,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the switched segment.")
    ] = 60.0,
    pg_host: PgHost = None,
    pg_port: PgPort = None,
    pg_user: PgUser = None,
    pg_dbname: PgDb = None,
) -> None:
    """Prove the archive chain: switch a WAL segment and wait until it is in the repository."""
    from pgdr.errors import CheckFailed, ClusterMismatch
    from pgdr.wal.setup import check as do_check

    cli = get_context(ctx)
    result = do_check(
        conninfo(cli, pg_host, pg_port, pg_user, pg_dbname),
        open_repository(cli.target()),
        timeout=timeout,
    )
    emit(cli, result)
    if result.cluster_mismatch:
        raise ClusterMismatch(
            result.cluster_mismatch, hint="use a new repository for each cluster (pgdr repo init)"
        )
    if not result.ok:
        failed = [f"{c.name} ({c.detail})" for c in result.checks if c.critical and not c.ok]
        raise CheckFailed(
            f"check failed: {'; '.join(failed)}", hint="`pgdr setup --apply` fixes the settings"
        )
