"""`pgdr repo replicate` and `pgdr repo lag` (registered in the repo group by main.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from pgdr.cli import replica_actions
from pgdr.cli.context import get_context
from pgdr.cli.output import emit
from pgdr.cli.progress import progress_bar
from pgdr.cli.repo_target import backend, open_repository
from pgdr.errors import ReplicationIncomplete

To = Annotated[
    list[str] | None,
    typer.Option(
        "--to",
        metavar="NAME|URL",
        help="Replica: a repository name from the config, or a URL. "
        "Repeatable; default: the repository's replicate_to.",
    ),
]


def replicate(
    ctx: typer.Context,
    to: To = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, metavar="N", help="Objects copied at once.")
    ] = 8,
) -> None:
    """Copy every object the replica lacks (verified; packs, index, WAL, manifests, audit;
    config last the first time) and give the replica a key slot for its own key."""
    cli = get_context(ctx)
    names = replica_actions.targets(cli, to)
    source = open_repository(cli.target())
    results = []
    for name in names:
        with progress_bar(cli, f"replicating to {name}") as bar:
            results.append(
                replica_actions.run_replicate(cli, source, name, workers=workers, progress=bar)
            )
    emit(cli, replica_actions.ReplicateReport(results))
    bad = [(r, p) for r in results for p in r.problems]
    if bad:
        r, p = bad[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise ReplicationIncomplete(
            f"replication to {r.target} incomplete: {p['object']}: {p['message']}{more}",
            hint="run it again to resume; `pgdr repo verify --read-data` checks the source",
        )


def lag(ctx: typer.Context, to: To = None) -> None:
    """How far each replica is behind: objects, bytes, seconds, newest WAL and backup."""
    cli = get_context(ctx)
    emit(cli, replica_actions.lag(cli, backend(cli.target()), replica_actions.targets(cli, to)))
