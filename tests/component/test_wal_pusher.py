"""The resident pusher (pgdr.wal.pusher) behind a synchronous wal-push: it answers "durable"
only after the repository has the segment, refuses a request for a file outside its pg_wal or
under a non-WAL name, never answers when it dies mid-push, and exits after being idle."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgdr.catalog.wal import wal_key
from pgdr.pg.wal_header import fake_segment
from pgdr.repo.repository import Repository
from pgdr.wal import pusher
from pgdr.wal.pusher_client import Answer, ask, endpoint

pytestmark = pytest.mark.component
SYSID = 7312345678901234567
SEG = "000000010000000000000001"


@pytest.fixture
def short_dir() -> Iterator[Path]:  # sun_path holds 107 bytes: not under pytest's tmp_path
    d = Path(tempfile.mkdtemp(prefix="pgdr-pusher-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _segment(pg_wal: Path, name: str) -> Path:
    pg_wal.mkdir(exist_ok=True)
    p = pg_wal / name
    p.write_bytes(fake_segment(name, SYSID, 1 << 20, body=name.encode()))
    return p


def _serving(repo: Repository, base: Path, pg_wal: Path, idle: float) -> threading.Thread:
    t = threading.Thread(
        target=pusher.serve,
        args=(base, pg_wal, lambda _d: repo, 30.0),
        kwargs={"idle_exit_s": idle},
    )
    t.start()
    for _ in range(200):
        if base.with_suffix(".sock").exists():
            return t
        t.join(0.01)
    raise AssertionError("the pusher did not listen")


def test_the_pusher_answers_durable_only_with_the_segment_stored_then_exits_when_idle(
    repo: Repository, tmp_path: Path, short_dir: Path
) -> None:
    pg_wal = tmp_path / "pg_wal"
    seg = _segment(pg_wal, SEG)
    base = Path(endpoint(short_dir, pg_wal, "", "", ""))
    t = _serving(repo, base, pg_wal, idle=0.5)
    assert repo.backend.stat(wal_key(SEG)) is None
    assert ask(base, seg) == Answer(0, "stored")
    assert repo.backend.stat(wal_key(SEG)) is not None
    assert ask(base, seg) == Answer(0, "already-stored")
    t.join(5)
    assert not t.is_alive(), "the pusher did not exit after being idle"
    assert not base.with_suffix(".sock").exists()
    assert ask(base, seg) is None  # nobody answers: the caller pushes in-process


def test_the_pusher_refuses_files_outside_its_pg_wal_and_non_wal_names(
    repo: Repository, tmp_path: Path, short_dir: Path
) -> None:
    pg_wal = tmp_path / "pg_wal"
    _segment(pg_wal, SEG)
    elsewhere = _segment(tmp_path / "elsewhere", "000000010000000000000002")
    (pg_wal / "postgresql.conf").write_text("x")
    (pg_wal / "000000010000000000000003").symlink_to(elsewhere)
    base = Path(endpoint(short_dir, pg_wal, "", "", ""))
    t = _serving(repo, base, pg_wal, idle=0.3)
    try:
        refused = [
            ask(base, elsewhere),
            ask(base, pg_wal / ".." / "elsewhere" / "000000010000000000000002"),
            ask(base, pg_wal / "postgresql.conf"),
            ask(base, pg_wal / "000000010000000000000003"),  # a symlink out of pg_wal
        ]
    finally:
        t.join(5)
    for answer in refused:
        assert answer is not None and answer.code == 2, answer
    assert "not in" in refused[0].message  # type: ignore[union-attr]
    assert "not a regular file" in refused[3].message  # type: ignore[union-attr]
    assert not list(repo.backend.list("wal/"))


class _Crash(Exception):
    pass


class _DiesMidPush:
    """A backend whose put kills the pusher (an exception no handler answers)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner

    def put(self, key: str, data: bytes, options: object = None) -> None:
        raise _Crash

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_a_pusher_dying_mid_push_never_answers_durable(
    repo: Repository, tmp_path: Path, short_dir: Path
) -> None:
    pg_wal = tmp_path / "pg_wal"
    seg = _segment(pg_wal, SEG)
    base = Path(endpoint(short_dir, pg_wal, "", "", ""))
    repo.backend = _DiesMidPush(repo.backend)  # type: ignore[assignment]
    errors: list[BaseException] = []

    def run() -> None:
        try:
            pusher.serve(base, pg_wal, lambda _d: repo, 30.0, idle_exit_s=5)
        except _Crash as e:
            errors.append(e)

    t = threading.Thread(target=run)
    t.start()
    # a client of its own (``ask`` gives up after 2 s without a WAIT), connecting as soon as
    # the socket file exists: the pusher publishes it only once it listens (renamed into
    # place after listen()), so the first connect to it is never refused
    deadline = time.monotonic() + 60  # generous: a loaded CI machine starts threads late
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(60)
        while True:
            try:
                client.connect(str(base.with_suffix(".sock")))
                break
            except FileNotFoundError:
                assert time.monotonic() < deadline, "the pusher never listened"
                t.join(0.01)
        client.sendall(f"{seg}\n".encode())
        got = b""
        while chunk := client.recv(4096):
            got += chunk
    assert got.startswith(b"WAIT ") and b"OK" not in got, got  # closed, never answered
    t.join(60)
    assert errors and not t.is_alive()


def test_the_pusher_pushes_the_next_ready_file_ahead_of_its_request(
    repo: Repository, tmp_path: Path, short_dir: Path
) -> None:
    pg_wal = tmp_path / "pg_wal"
    first = _segment(pg_wal, SEG)
    second = _segment(pg_wal, "000000010000000000000002")
    (pg_wal / "archive_status").mkdir()
    (pg_wal / "archive_status" / f"{second.name}.ready").touch()
    base = Path(endpoint(short_dir, pg_wal, "", "", ""))
    t = _serving(repo, base, pg_wal, idle=1.0)
    try:
        assert ask(base, first) == Answer(0, "stored")
        for _ in range(500):  # stored before anyone asked for it
            if repo.backend.stat(wal_key(second.name)) is not None:
                break
            t.join(0.01)
        assert repo.backend.stat(wal_key(second.name)) is not None
        assert ask(base, second) == Answer(0, "stored")
    finally:
        t.join(5)
