"""`pgdr dev store | fetch | list`: store plain files in a repository and read them back.

The repository round trip without PostgreSQL — used by the demo, the crash-safety tests and
anyone checking a repository by hand. Manifests are of kind ``files``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pgdr.cli.context import get_context
from pgdr.cli.options import Unencrypted
from pgdr.cli.output import emit
from pgdr.cli.repo_target import open_repository
from pgdr.errors import UsageError
from pgdr.humanize import human
from pgdr.repo.files import fetch_files, list_file_sets, store_files

app = typer.Typer(
    help="Store plain files and read them back (repository round trip).", no_args_is_help=True
)


@dataclass
class StoreResult:
    name: str
    files: int
    bytes: int
    new_bytes: int
    stored_bytes: int
    dedup_blobs: int
    seconds: float

    def render_text(self, console: Console) -> None:
        rate = self.bytes / self.seconds / 2**20 if self.seconds else 0
        console.print(
            f"stored {self.files} file(s), {human(self.bytes)} as '{self.name}' in {self.seconds:.2f} s "
            f"({rate:.0f} MiB/s): {human(self.new_bytes)} new, {human(self.stored_bytes)} uploaded "
            f"after compression, {self.dedup_blobs} chunk(s) already in the repository"
        )


@app.command()
def store(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files or directories to store.")],
    name: Annotated[str, typer.Option(help="Name of the file set.")],
    chunk_kib: Annotated[int, typer.Option(help="Chunk size in KiB.")] = 64,
    unencrypted: Unencrypted = False,
) -> None:
    """Store files as a named file set (deduplicated against everything stored)."""
    cli = get_context(ctx)
    if not 1 <= chunk_kib <= 65536:
        raise UsageError("--chunk-kib must be between 1 and 65536")
    repo = open_repository(cli.target(unencrypted=unencrypted))
    t0 = time.monotonic()
    stats, nfiles = store_files(repo, paths, name, chunk_kib * 1024)
    emit(
        cli,
        StoreResult(
            name,
            nfiles,
            stats.bytes_raw,
            stats.bytes_new_raw,
            stats.bytes_stored,
            stats.blobs_dedup,
            time.monotonic() - t0,
        ),
    )


@app.command()
def fetch(
    ctx: typer.Context,
    name: str,
    dest: Path,
    unencrypted: Unencrypted = False,
) -> None:
    """Write a stored file set into DEST (which must not exist yet)."""
    cli = get_context(ctx)
    repo = open_repository(cli.target(unencrypted=unencrypted))
    n, size = fetch_files(repo, name, dest)
    emit(cli, {"name": name, "dest": str(dest), "files": n, "bytes": size})


@app.command("list")
def list_sets(ctx: typer.Context, unencrypted: Unencrypted = False) -> None:
    """List stored file sets."""
    cli = get_context(ctx)
    emit(cli, {"file_sets": list_file_sets(open_repository(cli.target(unencrypted=unencrypted)))})
