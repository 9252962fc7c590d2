"""`pgdr restore table`: tables back from a point in time (docs/design.md §8m)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pgdr.cli.context import CliContext, get_context
from pgdr.cli.options import flag
from pgdr.cli.output import emit
from pgdr.cli.pg_options import PgHost, PgPort, PgUser
from pgdr.cli.repo_target import open_repository
from pgdr.errors import UsageError


def _production(cli: CliContext, host: str | None, port: int | None, user: str | None):  # type: ignore[no-untyped-def]
    from psycopg.conninfo import make_conninfo

    pg = cli.config.postgres

    def conninfo(dbname: str) -> str:
        return make_conninfo(
            host=host or pg.host,
            port=str(port or pg.port),
            user=user or pg.user,
            dbname=dbname,
            application_name="pgdr restore table",
        )

    return conninfo


def restore_table(
    ctx: typer.Context,
    table: Annotated[
        list[str],
        typer.Option(
            "--table",
            metavar="SCHEMA.NAME",
            help="A table to bring back; repeat it for several tables of one database, "
            "restored from one sandbox.",
        ),
    ],
    database: Annotated[
        str | None,
        typer.Option("--database", help="Its database (default: [postgres] dbname)."),
    ] = None,
    time: Annotated[
        str | None, typer.Option("--time", help="The table as it was at this time (ISO 8601).")
    ] = None,
    lsn: Annotated[str | None, typer.Option("--lsn", help="... or at this LSN.")] = None,
    backup_id: Annotated[
        str | None,
        typer.Option("--backup", help="Use this backup (alone: the table as the backup holds it)."),
    ] = None,
    as_name: Annotated[
        str | None,
        typer.Option(
            "--as",
            metavar="[SCHEMA.]NAME",
            help="Create the table as it was under this new name (never overwrites; the "
            "default: <table>_restored_<target>; one --table only).",
        ),
    ] = None,
    missing_rows: Annotated[
        bool,
        flag(
            "--missing-rows",
            "Insert into the live table the rows it had and has no longer, by primary key "
            "(several tables: parents first, one transaction).",
        ),
    ] = False,
    dump: Annotated[
        Path | None,
        typer.Option(
            "--dump",
            metavar="FILE",
            help="Write the table as it was into FILE, a pg_dump custom-format file "
            "(owner-only; never over an existing file); production is not touched.",
        ),
    ] = None,
    dry_run: Annotated[bool, flag("--dry-run", "Say what would happen; change nothing.")] = False,
    pg_host: PgHost = None,
    pg_port: PgPort = None,
    pg_user: PgUser = None,
) -> None:
    """Bring tables back from a point in time, through a sandbox.

    Restores the backup into a throw-away sandbox at --time/--lsn (or as --backup holds it),
    then either creates --as NAME in production as a copy of the table then (rows, indexes,
    constraints; default name <table>_restored_<target>), or inserts into the live table only
    the rows present then and missing now (--missing-rows; the table needs a primary key), or
    writes it to a pg_dump file (--dump). Repeat --table for several tables of one database
    (rows deleted through a cascade): one sandbox, and the missing rows go back parents first.
    Only the tables' database is restored. One transaction; the sandbox is always removed;
    the action is audited."""
    from pgdr.drill.settings import drill_settings
    from pgdr.paths import default_state_dir
    from pgdr.restore.plan import Target, check_target
    from pgdr.surgical.names import TableName, default_copy_name, parse_table
    from pgdr.surgical.run import SurgicalEnv, TableRestoreRequest, restore_table

    cli = get_context(ctx)
    if sum((as_name is not None, missing_rows, dump is not None)) > 1:
        raise UsageError("give one of --as NAME, --missing-rows or --dump FILE")
    if time and lsn:
        raise UsageError("give one recovery target: --time or --lsn")
    if time:
        target = Target("time", time)
    elif lsn:
        target = Target("lsn", lsn)
    elif backup_id:
        target = Target("immediate")
    else:
        raise UsageError(
            "give --time, --lsn or --backup: the latest state is the one with the accident in it"
        )
    check_target(target)
    names = tuple(parse_table(t) for t in table)
    if len(set(names)) != len(names):
        raise UsageError("each --table once")
    new: tuple[TableName, ...] = ()
    if as_name is not None:
        if len(names) > 1:
            raise UsageError(
                "--as names one copy: give one --table, or leave --as out for the default "
                "names (<table>_restored_<target>)"
            )
        new = (parse_table(as_name, "--as", schema=names[0].schema),)
    elif not missing_rows and dump is None:  # the default: copies named after the target
        new = tuple(default_copy_name(n, target.kind, target.value or backup_id) for n in names)
        if len(set(new)) != len(new):
            raise UsageError("two tables' default copy names coincide: restore them one by one")
    cfg = cli.config
    settings = drill_settings(cfg)
    env = SurgicalEnv(
        production=_production(cli, pg_host, pg_port, pg_user),
        state_dir=settings.state_dir or default_state_dir(),
        sandbox_dir=settings.sandbox_dir,
        shared_buffers=settings.shared_buffers,
        start_timeout=settings.start_timeout_s,
        superuser=pg_user or cfg.postgres.user,
        bindir=cfg.postgres.bin_dir,
        say=(lambda text: cli.err.print(f"[dim]restore table: {text}[/]"))
        if cli.show_progress
        else (lambda _t: None),
    )
    req = TableRestoreRequest(
        names,
        database or cfg.postgres.dbname,
        target,
        backup_id,
        new,
        dry_run,
        dump=dump.absolute() if dump is not None else None,
    )
    emit(cli, restore_table(open_repository(cli.target()), req, env))
