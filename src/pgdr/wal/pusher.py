"""The resident pusher: a long-lived process of the server's OS user that pushes WAL files for
synchronous ``wal-push`` calls (``pgdr wal-push --spool DIR %p`` without ``--async``), so
each archive_command only starts a standard-library client (pgdr.wal.pusher_client) instead
of importing and opening the repository itself. The semantics stay synchronous: the client
exits 0 only after the pusher answered that the file is durable in the repository.

It serves one request at a time (PostgreSQL's archiver runs one archive_command at a time),
each under a fresh ``push_timeout_s`` deadline, and exits after ``IDLE_EXIT_S`` without a
request. A request names a file by path; the pusher only pushes a regular file (not a
symlink) directly inside the pg_wal it was started for, under a valid WAL name, and only for
a peer of its own user (SO_PEERCRED); anything else gets a UsageError answer.
"""

from __future__ import annotations

import fcntl
import os
import socket
import stat
import struct
import time
from collections.abc import Callable
from pathlib import Path

from pgdr.catalog.wal import check_wal_name
from pgdr.errors import PgdrError, UsageError
from pgdr.localfs import private_dir
from pgdr.repo.repository import Repository
from pgdr.storage.deadline import set_deadline
from pgdr.wal import archive
from pgdr.wal.pusher_ahead import LookAhead
from pgdr.wal.spool import AfterBatch, NoFollowUps, Shipped

IDLE_EXIT_S = 60.0
#: the repository is reopened this often (a changed key ring is seen) ...
REOPEN_S = 30.0
#: ... and the pusher exits at this age (a changed configuration is seen: the next push
#: starts a fresh one)
MAX_AGE_S = 600.0
REQUEST_READ_S = 5.0


def serve(
    base: Path,  # DIR/push-<id> (pgdr.wal.pusher_client.endpoint)
    pg_wal: Path,
    open_repo: Callable[[float], Repository],
    push_timeout_s: float,
    followers: AfterBatch | None = None,
    idle_exit_s: float = IDLE_EXIT_S,
) -> int:
    """Serve ``base.sock`` until idle; returns the number of requests answered. Returns at
    once when another pusher holds ``base.lock``. ``open_repo(deadline)`` opens the
    repository (retried at the next request when it fails: the error is the answer)."""
    followers = followers or NoFollowUps()
    private_dir(base.parent)
    lock_fd = os.open(base.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0
        os.ftruncate(lock_fd, 0)
        os.write(lock_fd, f"{os.getpid()}\n".encode())  # who serves (operators, tests)
        sock_path = base.with_suffix(".sock")
        # bound under a name of its own, published by a rename once it listens: a client
        # never meets the socket file in the moment between bind() and listen() (refused)
        new_path = base.with_suffix(".new")  # no longer than .sock (sun_path's limit)
        for stale in (sock_path, new_path):
            stale.unlink(missing_ok=True)  # a dead pusher's; we hold the lock
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            old = os.umask(0o177)
            try:
                srv.bind(str(new_path))
            finally:
                os.umask(old)
            srv.listen(8)
            os.rename(new_path, sock_path)
            srv.settimeout(idle_exit_s)
            return _loop(srv, Path(os.path.realpath(pg_wal)), open_repo, push_timeout_s, followers)
        finally:
            for path in (sock_path, new_path):
                path.unlink(missing_ok=True)
            srv.close()
    finally:
        os.close(lock_fd)


def _loop(
    srv: socket.socket,
    pg_wal: Path,
    open_repo: Callable[[float], Repository],
    push_timeout_s: float,
    followers: AfterBatch,
) -> int:
    repo: Repository | None = None
    opened = born = time.monotonic()
    answered = 0

    def push_ahead(path: Path) -> object:
        if repo is None:
            raise UsageError("no repository yet")
        set_deadline(repo.backend, time.monotonic() + push_timeout_s)
        return archive.push(repo, path)

    ahead = LookAhead(pg_wal, push_ahead)
    while time.monotonic() - born < MAX_AGE_S:
        try:
            conn, _ = srv.accept()
        except TimeoutError:
            return answered
        with conn:
            if not _same_user(conn):
                continue
            conn.settimeout(REQUEST_READ_S)
            try:
                line = conn.makefile("rb").readline().decode(errors="replace").rstrip("\n")
                conn.sendall(f"WAIT {push_timeout_s:g}\n".encode())
            except OSError:
                continue
            deadline = time.monotonic() + push_timeout_s
            try:
                path = checked_request(line, pg_wal)
                if ahead.pushed(path, push_timeout_s):
                    answer = "OK stored\n"
                    pushed = Shipped(path.name, "stored", os.lstat(path).st_size)
                else:
                    if repo is None or time.monotonic() - opened > REOPEN_S:
                        repo, opened = None, time.monotonic()
                        repo = open_repo(deadline)
                    set_deadline(repo.backend, deadline)
                    result = archive.push(repo, path)
                    answer = f"OK {result.status}\n"
                    pushed = Shipped(result.name, result.status, result.bytes)
            except PgdrError as e:
                hint = f"\t{e.hint}" if e.hint else ""
                answer = f"ERR {e.exit_code} {_one_line(e.message)}{_one_line(hint)}\n"
                pushed = None
            try:
                conn.settimeout(REQUEST_READ_S)
                conn.sendall(answer.encode())
            except OSError:
                pass  # the client gave up: PostgreSQL retries, the push is idempotent
            answered += 1
            if answer.startswith("OK"):
                ahead.start_after(path.name)  # while PostgreSQL starts the next command
        if pushed is not None and repo is not None:  # after the answer: the server waits not
            followers.after(repo, [pushed])
    return answered


def _one_line(text: str) -> str:
    return text.replace("\n", " ")


def _same_user(conn: socket.socket) -> bool:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    uid: int = struct.unpack("3i", creds)[1]
    return uid == os.getuid()


def checked_request(line: str, pg_wal: Path) -> Path:
    """The WAL file a request names, if the pusher may push it: an absolute path to a
    regular file directly inside ``pg_wal`` (resolved), with a valid WAL name."""
    path = Path(line)
    if not line or not path.is_absolute():
        raise UsageError(f"pusher: {line!r} is not an absolute path")
    name = check_wal_name(path.name)
    if Path(os.path.realpath(path.parent)) != pg_wal:
        raise UsageError(f"pusher: {name} is not in {pg_wal}, the pg_wal it serves")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such WAL file") from None
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"pusher: {path} is not a regular file")
    return path
