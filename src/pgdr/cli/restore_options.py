"""The options that say what a restore restores — shared by `pgdr restore` and
`pgdr restore preview`, so a preview takes exactly the restore's target options."""

from __future__ import annotations

from typing import Annotated

import typer

from pgdr.errors import UsageError
from pgdr.restore.plan import Target, check_target

Latest = Annotated[bool, typer.Option("--latest", help="Replay all archived WAL (default).")]
Time = Annotated[
    str | None, typer.Option("--time", help="Recover to this time (ISO 8601 with zone).")
]
Lsn = Annotated[str | None, typer.Option("--lsn", help="Recover to this LSN.")]
Xid = Annotated[str | None, typer.Option("--xid", help="Recover to this transaction id.")]
Name = Annotated[str | None, typer.Option("--name", help="Recover to this restore point.")]
Immediate = Annotated[bool, typer.Option("--immediate", help="Stop as soon as consistent.")]
Timeline = Annotated[
    str | None,
    typer.Option(
        help="Timeline to follow: a number or current (default: production's timeline, "
        "never a side branch another restore archived)."
    ),
]
BackupId = Annotated[str | None, typer.Option("--backup", help="Use this backup.")]
Databases = Annotated[
    list[str] | None,
    typer.Option(
        "--database",
        metavar="NAME",
        help="Restore only this database (repeatable), with template0, template1 and "
        "postgres; the others' files are not fetched (zero-filled, dropped once promoted).",
    ),
]


def parse_target(
    latest: bool, time: str | None, lsn: str | None, xid: str | None, name: str | None,
    immediate: bool,
) -> Target:  # fmt: skip
    """The one recovery target the options name (default: latest); UsageError for two."""
    given = [(k, v) for k, v in (("time", time), ("lsn", lsn), ("xid", xid), ("name", name)) if v]
    flags = [k for k, v in (("latest", latest), ("immediate", immediate)) if v]
    if len(given) + len(flags) > 1:
        raise UsageError(
            "give one recovery target: --latest, --time, --lsn, --xid, --name or --immediate"
        )
    return check_target(Target(*given[0]) if given else Target(flags[0] if flags else "latest"))
