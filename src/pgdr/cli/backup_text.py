"""How `pgdr backup` reports a backup to a person: whole ids, human units, the same defined
quantities `pgdr info` shows (``--json`` prints the exact values of ``BackupResult``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pgdr.humanize import duration, human, utc

if TYPE_CHECKING:
    from pgdr.backup.run import BackupResult


def render_backup(console: Console, r: BackupResult) -> None:
    if r.note:
        console.print(r.note)
    console.print(f"backup {r.backup_id} ({r.type}) on timeline {r.timeline}")
    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    rows = [
        ("label", escape(r.label)),
        ("started", utc(r.start_time) if r.start_time else ""),
        ("stopped", utc(r.stop_time) if r.stop_time else ""),
        (
            "took",
            f"{duration(r.seconds)} (start to stop); {duration(r.total_seconds)} in all, "
            "with the wait for its WAL",
        ),
        ("LSN", f"{r.start_lsn} .. {r.stop_lsn}"),
        (
            "files",
            f"{r.files} ({human(r.bytes)}; {human(r.new_bytes)} not in the repository before)",
        ),
        ("stored", f"{human(r.stored_bytes)} written to the repository (new data, compressed)"),
    ]
    for k, v in rows:
        t.add_row(k, escape(v))  # a label or path may hold [brackets]
    console.print(t)
