"""Which argument lists the pusher's fast path (pgdr.wal.pusher_client.parse, before any
argparse) takes: a synchronous `wal-push --spool DIR PATH` with the globals, nothing else."""

from __future__ import annotations

import pytest

from pgdr.wal.pusher_client import parse


@pytest.mark.parametrize(
    ("argv", "taken"),
    [
        (["wal-push", "--spool", "/s", "pg_wal/x"], True),
        (["--config", "/c", "--key-file", "/k", "-v", "wal-push", "--spool", "/s", "/w/x"], True),
        (["--repo", "dr", "wal-push", "/w/x", "--spool", "/s"], True),
        (["wal-push", "/w/x"], False),  # no spool: in-process as before
        (["wal-push", "--async", "--spool", "/s", "/w/x"], False),
        (["--json", "wal-push", "--spool", "/s", "/w/x"], False),
        (["wal-push", "--spool", "/s", "/w/x", "--help"], False),
        (["wal-push", "--spool", "/s", "/w/x", "/w/y"], False),
        (["wal-fetch", "--spool", "/s", "x", "/w/x"], False),
        (["--config", "wal-push", "--spool", "/s", "/w/x"], False),
        (["wal-push", "--spool"], False),
    ],
)
def test_the_fast_path_takes_only_a_synchronous_push_with_a_spool(
    argv: list[str], taken: bool
) -> None:
    assert (parse(argv) is not None) is taken


def test_paths_are_absolute_and_name_the_pusher() -> None:
    req = parse(["--config", "c.toml", "wal-push", "--spool", "s", "pg_wal/x"])
    assert req is not None
    assert req.spool.startswith("/") and req.path.endswith("/pg_wal/x")
    assert req.config.endswith("/c.toml") and req.key_file == ""
