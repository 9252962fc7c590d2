"""The `pgdr` command: global options, subcommand groups, and the ONE place errors become
exit codes and one-line messages."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from typer.exceptions import TyperException

from pgdr import __version__
from pgdr.cli import (
    audit_cmd,
    backup_cmd,
    config_cmd,
    daemon_cmd,
    dev_cmd,
    drill_cmd,
    evidence_cmd,
    export_cmd,
    export_read_cmd,
    key_cmd,
    rds_cmd,
    replica_cmd,
    repo_cmd,
    restore_cmd,
    retention_cmd,
    table_cmd,
)
from pgdr.cli.command_tree import build_command
from pgdr.cli.context import get_context
from pgdr.cli.error_output import report_error
from pgdr.cli.exit_codes import INTERNAL_ERROR_EXIT, exit_codes, help_epilog
from pgdr.cli.output import emit
from pgdr.cli.output_options import json_requested
from pgdr.errors import PgdrError
from pgdr.logs import setup_logging

app = typer.Typer(
    name="pgdr",
    help="Backup and disaster recovery for PostgreSQL.",
    epilog=help_epilog(),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Subcommand groups: add new groups here, nowhere else.
GROUPS: list[tuple[str, typer.Typer]] = [
    ("repo", repo_cmd.app),
    ("key", key_cmd.app),
    ("config", config_cmd.app),
    ("dev", dev_cmd.app),
    ("drill", drill_cmd.app),
    ("rds", rds_cmd.app),
    ("export", export_cmd.app),
    ("restore", restore_cmd.app),  # `pgdr restore` restores; `pgdr restore preview`
    ("report", evidence_cmd.app),
]
#: developer tools: callable, listed in docs/cli.md under a note, not in `pgdr --help`
HIDDEN_GROUPS = frozenset({"dev"})
for _name, _group in GROUPS:
    app.add_typer(_group, name=_name, hidden=_name in HIDDEN_GROUPS)
# Top-level commands of the backup/restore story.
app.command("backup")(backup_cmd.backup)
# `pgdr restore table`: tables back through a sandbox (§8m).
restore_cmd.app.command("table")(table_cmd.restore_table)
app.command("info")(backup_cmd.info)
app.command("setup")(backup_cmd.setup)
app.command("check")(backup_cmd.check)
# Retention, deletion protection and data keys (docs/design.md §8e).
app.command("expire")(retention_cmd.expire)
app.command("delete-backup")(retention_cmd.delete_backup)
repo_cmd.app.command("gc")(retention_cmd.gc)
repo_cmd.app.command("rekey")(key_cmd.rekey)
key_cmd.app.command("rotate-data")(key_cmd.rotate_data)
app.command("serve")(daemon_cmd.serve)
app.command("status")(daemon_cmd.status)
# Replication and the audit log (issue 6).
repo_cmd.app.command("replicate")(replica_cmd.replicate)
repo_cmd.app.command("lag")(replica_cmd.lag)
app.command("audit")(audit_cmd.audit)
# Long-term exports read back (issue 16): lifecycle tiers, DDL, restore into PostgreSQL.
export_cmd.app.add_typer(export_read_cmd.lifecycle_app, name="lifecycle")
export_cmd.app.command("ddl")(export_read_cmd.ddl)
export_cmd.app.command("restore")(export_read_cmd.restore)
# Operational evidence: runbook and game days (issue 19; report cost/compliance above).
app.command("runbook")(evidence_cmd.runbook)
app.command("gameday")(evidence_cmd.gameday)


def _print_version(value: bool) -> None:
    if value:
        print(f"pgdr {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", metavar="FILE", help="Config file (TOML).")
    ] = None,
    repo: Annotated[
        str | None,
        typer.Option(
            "--repo",
            envvar="PGDR_REPO",
            metavar="NAME|URL",
            help="Repository name from the config, or a URL.",
        ),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            metavar="FILE",
            help="Open the repository with this key file instead of its configured key "
            "(the server key `setup --apply` writes).",
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More logging (-vv: debug).")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Errors only.")] = False,
    _version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    # --json/--output (added to every command by pgdr.cli.command_tree) may have set the
    # output format already: fill in the same context
    cli = get_context(ctx)
    cli.config_path, cli.repo, cli.verbosity, cli.quiet = config, repo, verbose, quiet
    cli.key_file = key_file
    setup_logging(verbose, quiet)


@app.command()
def version() -> None:
    """Print the version of pgdr and of its main dependencies."""
    import cryptography
    import zstandard

    print(
        f"pgdr {__version__} (Python {sys.version.split()[0]}, zstandard {zstandard.__version__}, "
        f"cryptography {cryptography.__version__})"
    )


@app.command("exit-codes")
def exit_codes_command(ctx: typer.Context) -> None:
    """List every exit code of pgdr and what it means (from pgdr.errors)."""
    emit(get_context(ctx), exit_codes())


Spool = Annotated[
    Path | None,
    typer.Option(metavar="DIR", help="Local spool directory (needed by --async/--prefetch)."),
]


def _lean_globals(ctx: typer.Context) -> list[str]:
    """The global options again, for the lean path (reached here only when options before
    the command kept `pgdr.entry` from taking it directly)."""
    cli = get_context(ctx)
    flags = ["--config", str(cli.config_path)] if cli.config_path else []
    flags += ["--repo", cli.repo] if cli.repo else []
    flags += ["--key-file", str(cli.key_file)] if cli.key_file else []
    return flags + ["-v"] * cli.verbosity + (["-q"] if cli.quiet else [])


@app.command("wal-push", options_metavar="[--async --spool DIR]")
def wal_push(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The WAL file (%p).")],
    async_: Annotated[
        bool,
        typer.Option(
            "--async", help="Queue the file in --spool and return; a background uploader ships it."
        ),
    ] = False,
    spool: Spool = None,
) -> None:
    """archive_command: store one WAL file (returns only once it is durable).

    Set archive_command = 'pgdr wal-push %p'. With --async --spool DIR it returns as soon as
    the file is queued locally and an uploader started by it ships the queue; a file counts
    as archived only once it is in the repository."""
    from pgdr.cli.wal_entry import main as wal_main

    flags = ["--async"] if async_ else []
    flags += ["--spool", str(spool)] if spool is not None else []
    raise typer.Exit(wal_main([*_lean_globals(ctx), "wal-push", *flags, str(path)]))


@app.command("wal-fetch", options_metavar="[--prefetch N --spool DIR]")
def wal_fetch(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The WAL file's name (%f).")],
    dest: Annotated[Path, typer.Argument(help="Where to write it (%p).")],
    prefetch: Annotated[
        int,
        typer.Option(
            min=0,
            metavar="N",
            help="Also fetch the next N segments into --spool in the background.",
        ),
    ] = 0,
    spool: Spool = None,
) -> None:
    """restore_command: write an archived WAL file to DEST; exit 1 if it is not archived.

    Set restore_command = 'pgdr wal-fetch %f %p'. With --prefetch N --spool DIR the next N
    segments are fetched ahead into the spool, so recovery does not wait on storage for each
    file."""
    from pgdr.cli.wal_entry import main as wal_main

    flags = ["--prefetch", str(prefetch)] if prefetch else []
    flags += ["--spool", str(spool)] if spool is not None else []
    raise typer.Exit(wal_main([*_lean_globals(ctx), "wal-fetch", *flags, name, str(dest)]))


@app.command()
def demo(
    workdir: Annotated[Path | None, typer.Option(help="Keep the demo's files here.")] = None,
) -> None:
    """Show a whole recovery on a throw-away cluster: backup, accident, point-in-time restore.

    Needs no config: creates a PostgreSQL cluster with sample data and an encrypted local
    repository, archives WAL, takes a backup, deletes rows by accident, restores to the
    second before into a new directory, proves the rows are back, verifies the repository
    and runs a restore drill. --workdir keeps the files."""
    from pgdr.demo.run import run_demo

    run_demo(workdir)


def run(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    as_json = json_requested(args)
    verbose = any(a in ("-v", "--verbose", "-vv") for a in args)
    try:
        rc = build_command(app).main(args=args, prog_name="pgdr", standalone_mode=False)
        code = rc if isinstance(rc, int) else 0
    except PgdrError as e:
        code = report_error(e, as_json)
    except typer.Exit as e:
        code = e.exit_code
    except typer.Abort:
        print("pgdr: interrupted", file=sys.stderr)
        code = 130
    except TyperException as e:  # argument and option errors: one line, exit 2
        if type(e).__name__ == "NoArgsIsHelpError" and getattr(e, "ctx", None) is not None:
            print(e.ctx.get_help())  # type: ignore[attr-defined]
        else:
            print(f"pgdr: error: {e.format_message()}", file=sys.stderr)  # type: ignore[attr-defined]
        code = 2
    except KeyboardInterrupt:
        print("pgdr: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        code = 0
    except Exception as e:  # a bug: say so in one line, traceback only with -v
        if verbose:
            traceback.print_exc()
        print(
            f"pgdr: internal error: {type(e).__name__}: {e} (run with -v for the traceback)",
            file=sys.stderr,
        )
        code = INTERNAL_ERROR_EXIT
    sys.stdout.flush()
    sys.exit(code)
