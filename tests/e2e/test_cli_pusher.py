"""A synchronous `wal-push --spool DIR` through the CLI: the first call pushes in-process and
starts the resident pusher, the next ones go through it with the same exit codes and one-line
errors; a pusher that dies mid-push makes the call push in-process (never a false 0)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgdr.pg.wal_header import fake_segment
from pgdr.wal.pusher_client import endpoint
from tests.e2e.cli import pgdr

pytestmark = pytest.mark.e2e
SYSID = 7312345678901234567
SEGS = [f"0000000100000000000000{i:02X}" for i in range(1, 5)]


@pytest.fixture
def spool() -> Iterator[Path]:  # sun_path holds 107 bytes: not under pytest's tmp_path
    d = Path(tempfile.mkdtemp(prefix="pgdr-pusher-", dir="/tmp"))
    yield d
    for lock in d.glob("*.lock"):  # stop the pusher this test started
        pid = lock.read_text().strip()
        if pid.isdigit():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGTERM)
    shutil.rmtree(d, ignore_errors=True)


def _setup(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    cfg = tmp_path / "pgdr.toml"
    cfg.write_text(
        f'[repositories.main]\nurl = "file://{tmp_path / "repo"}"\npassphrase = "env:PP"\n'
    )
    env = {"PP": "a passphrase"}
    assert pgdr("--config", cfg, "repo", "init", env=env).returncode == 0
    wal = tmp_path / "pg_wal"
    wal.mkdir()
    for name in SEGS:
        (wal / name).write_bytes(fake_segment(name, SYSID, 1 << 20, body=name.encode()))
    return cfg, wal, env


def _stored(tmp_path: Path) -> set[str]:
    return {p.name for p in (tmp_path / "repo").glob("wal/*/0*")}


def test_sync_push_goes_through_the_started_pusher_with_the_same_errors(
    tmp_path: Path, spool: Path
) -> None:
    cfg, wal, env = _setup(tmp_path)
    r = pgdr("--config", cfg, "-v", "wal-push", "--spool", spool, wal / SEGS[0], env=env)
    assert r.returncode == 0, r.stderr
    assert "(pusher)" not in r.stderr and SEGS[0] in _stored(tmp_path)
    base = Path(endpoint(spool, wal, str(cfg), "", ""))
    deadline = time.monotonic() + 60
    while not base.with_suffix(".sock").exists():
        assert time.monotonic() < deadline, "no pusher was started"
        time.sleep(0.05)
    r = pgdr("--config", cfg, "-v", "wal-push", "--spool", spool, wal / SEGS[1], env=env)
    assert r.returncode == 0, r.stderr
    assert f"{SEGS[1]}: stored (pusher)" in r.stderr and SEGS[1] in _stored(tmp_path)

    # A conflicting file: the pusher's answer is the in-process push's exit code and line.
    (wal / SEGS[0]).write_bytes(fake_segment(SEGS[0], SYSID, 1 << 20, body=b"other"))
    direct = pgdr("--config", cfg, "wal-push", wal / SEGS[0], env=env)
    through = pgdr("--config", cfg, "wal-push", "--spool", spool, wal / SEGS[0], env=env)
    assert direct.returncode != 0 and "different content" in direct.stderr
    assert (through.returncode, through.stderr) == (direct.returncode, direct.stderr)


def test_a_pusher_dying_mid_push_makes_the_push_in_process(tmp_path: Path, spool: Path) -> None:
    cfg, wal, env = _setup(tmp_path)
    base = Path(endpoint(spool, wal, str(cfg), "", ""))
    lock = os.open(base.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)  # a "pusher" that accepts the request, then dies
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(base.with_suffix(".sock")))
    srv.listen(1)
    asked: list[bytes] = []

    def dies() -> None:
        conn, _ = srv.accept()
        asked.append(conn.recv(4096))
        conn.sendall(b"WAIT 30\n")
        conn.close()

    t = threading.Thread(target=dies)
    t.start()
    try:
        r = pgdr("--config", cfg, "-v", "wal-push", "--spool", spool, wal / SEGS[2], env=env)
    finally:
        t.join(5)
        srv.close()
        os.close(lock)
    assert asked == [f"{wal / SEGS[2]}\n".encode()]
    assert r.returncode == 0, r.stderr
    assert "(pusher)" not in r.stderr and SEGS[2] in _stored(tmp_path)
