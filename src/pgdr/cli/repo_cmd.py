"""`pgdr repo init | info | verify | unlock | trust`."""

from __future__ import annotations

from typing import Annotated

import typer

from pgdr.cli import repo_actions
from pgdr.cli.context import get_context
from pgdr.cli.options import Unencrypted, flag
from pgdr.cli.output import emit, fail_after_result
from pgdr.cli.progress import progress_bar

app = typer.Typer(help="Create, inspect and verify repositories.", no_args_is_help=True)


@app.command()
def init(
    ctx: typer.Context,
    unencrypted: Unencrypted = False,
    label: Annotated[str, typer.Option(help="Label of the first key slot.")] = "initial",
) -> None:
    """Create a new repository (key from the config, PGDR_PASSPHRASE or PGDR_KEY_FILE)."""
    cli = get_context(ctx)
    hint = repo_actions.again(cli.config_path, cli.repo, "repo info")
    emit(cli, repo_actions.init(cli.target(unencrypted=unencrypted), label, hint))


@app.command()
def info(ctx: typer.Context, unencrypted: Unencrypted = False) -> None:
    """Show what the repository holds."""
    cli = get_context(ctx)
    emit(cli, repo_actions.info(cli.target(unencrypted=unencrypted)))


@app.command()
def verify(
    ctx: typer.Context,
    read_data: Annotated[bool, flag("--read-data", "Read and authenticate every pack.")] = False,
    rebuild_index: Annotated[
        bool, flag("--rebuild-index", "Rebuild the index from the packs first.")
    ] = False,
    unencrypted: Unencrypted = False,
) -> None:
    """Check every object; exits 36 naming each damaged object."""
    cli = get_context(ctx)
    with progress_bar(cli, "reading packs") as progress:
        result = repo_actions.run_verify(
            cli.target(unencrypted=unencrypted),
            read_data=read_data,
            rebuild=rebuild_index,
            progress=progress,
        )
    emit(cli, result)
    if not result.ok:
        fail_after_result(cli, repo_actions.verify_failed(result))


@app.command()
def unlock(
    ctx: typer.Context,
    all_locks: Annotated[bool, flag("--all", "Remove live locks too (dangerous).")] = False,
) -> None:
    """Remove stale locks (or, with --all, every lock)."""
    cli = get_context(ctx)
    emit(cli, repo_actions.unlock(cli.target(), remove_all=all_locks))


@app.command()
def trust(ctx: typer.Context, unencrypted: Unencrypted = False) -> None:
    """Accept the repository's current identity after it was replaced legitimately.

    Pins its id and master-key fingerprint on this host for this OS user; until then every
    command exits 44."""
    cli = get_context(ctx)
    emit(cli, repo_actions.trust(cli.target(unencrypted=unencrypted)))
