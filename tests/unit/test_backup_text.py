"""`pgdr backup`'s text: human units (no raw float seconds or byte counts), the whole id,
and why an incremental was taken as a full."""

from __future__ import annotations

import re

from rich.console import Console

from pgdr.backup.run import BackupResult
from pgdr.cli.backup_text import render_backup


def test_backup_text_uses_human_units() -> None:
    r = BackupResult(
        "20261207T002000ZF-3fa9c1", "full", "pgdr 20261207T002000ZF-3fa9c1", "0/2000028",
        "0/2000138", 1, 976, 25_165_824, 12_582_912, 3_355_443, 0.5312, [], [],
        "2026-12-07T00:20:00.123+00:00", "2026-12-07T00:20:00.654+00:00", 1.2044713179998325,
        "incr", "no full backup yet: taking a full",
    )  # fmt: skip
    console = Console(width=80, record=True, color_system=None)
    render_backup(console, r)
    text = console.export_text()
    assert text.splitlines()[0] == "no full backup yet: taking a full"
    assert "backup 20261207T002000ZF-3fa9c1 (full) on timeline 1" in text
    assert "0.5 s (start to stop); 1.2 s in all" in text and "24.0 MiB" in text
    assert "2026-12-07 00:20:00 UTC" in text and "976" in text
    assert not re.search(r"\d\.\d{3,}|25165824", text), text
