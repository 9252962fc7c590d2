"""Every PostgreSQL connection pgdr opens fails the same way: one line naming host, port and
database, never the password (pgdr.pg.connect). A refused TCP port needs no server."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from pgdr.backup.session import BackupSession
from pgdr.daemon.collect_pg import collect_pg
from pgdr.errors import PostgresError
from pgdr.wal.setup import setup

pytestmark = pytest.mark.unit


@pytest.fixture
def closed_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _backup(conninfo: str) -> None:
    BackupSession(conninfo)


def _setup(conninfo: str) -> None:
    setup(conninfo, "true")


@pytest.mark.parametrize("opener", [_backup, _setup], ids=["backup", "wal-setup"])
def test_refused_connection_is_one_line_naming_the_target_not_the_password(
    opener: Callable[[str], None], closed_port: int
) -> None:
    conninfo = f"host=127.0.0.1 port={closed_port} dbname=appdb user=u password=SECRET-pw"
    with pytest.raises(PostgresError) as e:
        opener(conninfo)
    msg = str(e.value)
    assert f"host=127.0.0.1 port={closed_port} dbname=appdb" in msg, msg
    assert "SECRET" not in msg and "\n" not in msg, msg


def test_uri_password_stays_out_of_the_daemon_snapshot(closed_port: int) -> None:
    facts = collect_pg(f"postgresql://u:SECRET-pw@127.0.0.1:{closed_port}/appdb", timeout_s=2)
    assert not facts.up and facts.error is not None
    assert f"host=127.0.0.1 port={closed_port} dbname=appdb" in facts.error, facts.error
    assert "SECRET" not in facts.error
