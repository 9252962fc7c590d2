"""A progress bar on stderr for long work; silent when not on a terminal or with -q/--json."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from pgdr.cli.context import CliContext

Callback = Callable[[str, int, int], None]


@contextmanager
def progress_bar(cli: CliContext, description: str) -> Iterator[Callback | None]:
    if not cli.show_progress:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=cli.err, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(_phase: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
