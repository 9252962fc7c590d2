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
    key_cmd,
    replica_cmd,
    repo_cmd,
    retention_cmd,
)
from pgdr.cli.context import CliContext
from pgdr.cli.error_output import report_error
from pgdr.errors import PgdrError
from pgdr.logs import setup_logging

app = typer.Typer(
    name="pgdr",
    help="Backup and disaster recovery for PostgreSQL.",
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
]
for _name, _group in GROUPS:
    app.add_typer(_group, name=_name)
# Top-level commands of the backup/restore story.
app.command("backup")(backup_cmd.backup)
app.command("restore")(backup_cmd.restore)
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


def _print_version(value: bool) -> None:
    if value:
        print(f"pgdr {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option("--config", help="Config file (TOML).")] = None,
    repo: Annotated[
        str | None,
        typer.Option(
            "--repo", envvar="PGDR_REPO", help="Repository name from the config, or a URL."
        ),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            help="Open the repository with this key file instead of its configured key "
            "(the server key `setup --apply` writes).",
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More logging.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Errors only.")] = False,
    _version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    ctx.obj = CliContext(
        config_path=config,
        repo=repo,
        key_file=key_file,
        json=json_out,
        verbosity=verbose,
        quiet=quiet,
    )
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


@app.command("wal-push")
def wal_push(path: Path) -> None:
    """archive_command: store one WAL file (returns only once it is durable)."""
    from pgdr.cli.wal_entry import main as wal_main

    raise typer.Exit(wal_main(["wal-push", str(path)]))


@app.command("wal-fetch")
def wal_fetch(name: str, dest: Path) -> None:
    """restore_command: write an archived WAL file to DEST; exit 1 if it is not archived."""
    from pgdr.cli.wal_entry import main as wal_main

    raise typer.Exit(wal_main(["wal-fetch", name, str(dest)]))


@app.command()
def demo(
    workdir: Annotated[Path | None, typer.Option(help="Keep the demo's files here.")] = None,
) -> None:
    """Run the demo on embedded defaults: the repository round trip, end to end."""
    from pgdr.demo.run import run_demo

    run_demo(workdir)


def run(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    as_json = "--json" in args
    verbose = any(a in ("-v", "--verbose", "-vv") for a in args)
    try:
        rc = app(args=args, prog_name="pgdr", standalone_mode=False)
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
        code = 70
    sys.stdout.flush()
    sys.exit(code)
