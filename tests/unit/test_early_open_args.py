"""Which command lines open the repository before the CLI's imports (pgdr.cli.early_open)."""

from __future__ import annotations

import pytest

from pgdr.cli import early_open
from pgdr.cli.wal_entry import global_options


@pytest.mark.parametrize(
    ("argv", "command", "values"),
    [
        (["backup"], "backup", {}),
        (
            ["--config", "/c.toml", "-v", "restore", "--data-dir", "d"],
            "restore",
            {"--config": "/c.toml"},
        ),
        (
            ["--config=/c.toml", "--repo=dr", "--key-file", "k", "backup"],
            "backup",
            {"--config": "/c.toml", "--repo": "dr", "--key-file": "k"},
        ),
        (
            ["-q", "--repo", "backup", "restore"],
            "restore",
            {"--repo": "backup"},
        ),  # a value, not the command
        (["--config"], None, {}),
        (["-v"], None, {}),
        ([], None, {}),
    ],
)
def test_global_options(argv: list[str], command: str | None, values: dict[str, str]) -> None:
    assert global_options(argv) == (command, values)


@pytest.mark.parametrize(
    "argv",
    [
        ["info"],
        ["wal-fetch", "x", "y"],
        ["backup", "--help"],
        ["restore", "preview"],
        ["restore", "table", "--table", "t"],
        ["restore", "--dry-run"],
        ["--config", "/nonexistent/pgdr.toml", "backup"],  # the command reports it itself
    ],
)
def test_no_early_opening(argv: list[str]) -> None:
    early_open.start(argv)
    assert early_open._early is None
