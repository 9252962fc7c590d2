"""The server key (`--key-file`) reaches every command of the server's hot path: the lean
entry recognises it, and the spawned uploader/prefetcher and the restored server's commands
carry it on."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgdr.cli.wal_entry import _parser, wants_lean_path
from pgdr.restore.commands import default_archive_command, default_restore_command
from pgdr.wal.server_key import check_outside, key_path
from pgdr.wal.spool import uploader_command

pytestmark = pytest.mark.unit

KEY = Path("/var/lib/postgresql/.local/state/pgdr/server-keys/k.key")


@pytest.mark.parametrize(
    ("argv", "lean"),
    [
        (["--key-file", "/k", "wal-push", "p"], True),
        (["--config", "c", "--key-file", "/k", "wal-fetch", "a", "b"], True),
        (["--key-file", "wal-push", "key", "list"], False),  # wal-push is the option's value
        (["--key-file", "/k", "key", "list"], False),
    ],
)
def test_lean_path_skips_the_key_file_value(argv: list[str], lean: bool) -> None:
    assert wants_lean_path(argv) is lean


def test_lean_parser_takes_the_key_file() -> None:
    ns = _parser().parse_intermixed_args(["--key-file", str(KEY), "wal-push", "x"])
    assert ns.key_file == KEY and ns.args == ["x"]


def test_spawned_and_restored_commands_carry_the_key() -> None:
    cmd = uploader_command(None, "main", Path("/spool"), None, KEY)
    assert cmd[cmd.index("--key-file") + 1] == str(KEY)
    assert "--key-file" not in uploader_command(None, "main", Path("/spool"), None)
    restore = default_restore_command(Path("/etc/pgdr.toml"), None, key_file=KEY)
    assert f"--key-file {KEY} wal-fetch" in restore
    assert f"--key-file {KEY} wal-push" in default_archive_command(Path("/c.toml"), None, KEY)


def test_key_file_is_per_repository_and_never_in_pgdata(tmp_path: Path) -> None:
    assert key_path(tmp_path, "file:///a") != key_path(tmp_path, "file:///b")
    assert key_path(tmp_path, "file:///a").parent == tmp_path
    check_outside(tmp_path / "keys", tmp_path / "pgdata")
    from pgdr.errors import ConfigError

    with pytest.raises(ConfigError, match="inside PGDATA"):
        check_outside(tmp_path / "pgdata" / "keys", tmp_path / "pgdata")
