"""Asynchronous WAL archiving through a local spool.

    DIR/queue/<wal file>    durably spooled, not yet in the repository
    DIR/acked/<wal file>    empty marker: the file is durable in the repository
    DIR/error               the uploader's last failure (one line); removed on success
    DIR/uploader.lock       flock held by the one running uploader

`test -f DIR/acked/%f || pgdr wal-push --async --spool DIR %p` (archive_command, written
by `pgdr setup --async-spool DIR`):
1. if ``acked/<name>`` exists, exit 0 at once — the uploader already stored it (look-ahead);
   the shell answers this without starting Python;
2. if an uploader is running (and has not failed), wait up to a second for it to acknowledge
   the segment — it reads pg_wal itself, so no copy is needed; otherwise
   copy the file into ``queue/`` (temp file, fsync, rename, directory fsync);
3. if ``error`` exists, exit non-zero with its message: PostgreSQL keeps the segment in pg_wal
   and retries, so an unreachable repository is visible in pg_stat_archiver and never drops
   WAL; the spooled copy is shipped once the repository is back;
4. start the uploader if none runs, exit 0.

The uploader ships the queue and, looking ahead, every segment PostgreSQL has marked
``.ready`` in pg_wal/archive_status, several at once; it writes ``acked/<name>`` only after
the repository put returned (durable), then removes the spooled copy. It exits after a few
idle seconds (or at the first failure, recorded in ``error``) and removes acks older than an
hour. After each acknowledged batch it runs the follow-ups its caller injected (``AfterBatch``:
the CLI copies the batch to the ``replicate_to`` replicas and notes it for the periodic
wal-ingest audit entry; both best effort).
"""

from __future__ import annotations

import fcntl
import os
import shlex
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pgdr.catalog.wal import check_wal_name
from pgdr.errors import PgdrError, UsageError
from pgdr.localfs import atomic_write, private_dir
from pgdr.pg.wal import is_partial, is_segment
from pgdr.pg.wal_header import LONG_HEADER_LEN, check_segment
from pgdr.proc import helper_command, lock_held, spawn_detached
from pgdr.repo.repository import Repository
from pgdr.wal import archive

IDLE_EXIT_S = 5.0
ACK_TTL_S = 3600.0
ACK_WAIT_S = 1.0


def async_archive_command(pgdr_command: str, spool: Path) -> str:
    """archive_command for asynchronous archiving. A segment the uploader already stored
    (it looks ahead at ``.ready`` files) is answered by the shell's ``test`` builtin — no
    Python process at all, so a backlog drains as fast as the uploader ships it."""
    q = shlex.quote(str(spool))
    return f"test -f {q}/acked/%f || {pgdr_command} wal-push --async --spool {q} %p"


def _dirs(spool: Path) -> tuple[Path, Path]:
    queue, acked = spool / "queue", spool / "acked"
    private_dir(queue)
    private_dir(acked)
    return queue, acked


def record_error(spool: Path, message: str) -> None:
    private_dir(spool)
    atomic_write(spool / "error", message.strip() + "\n")


def spool_file(src: Path, queue: Path) -> Path:
    """Durably copy a WAL file into the queue."""
    dest = queue / src.name
    try:
        with open(src, "rb") as fin:
            atomic_write(dest, fin)
    except FileNotFoundError:
        raise UsageError(f"{src}: no such WAL file") from None
    except OSError as e:
        raise UsageError(f"cannot spool {src.name} into {queue}: {e.strerror}") from None
    return dest


def push_async(src: Path, spool: Path, uploader_cmd: list[str]) -> str:
    """The slow path of an asynchronous push (the fast path is in pgdr.cli.wal_entry)."""
    check_wal_name(src.name)
    queue, acked = _dirs(spool)
    if (acked / src.name).exists():
        return "already-stored"
    error = spool / "error"
    if not error.exists() and lock_held(spool / "uploader.lock") and _wait_for(acked / src.name):
        return "stored-by-uploader"  # it looked ahead at pg_wal: no copy needed
    _check_header(src)  # a file that is not the named segment never enters the queue
    spool_file(src, queue)
    ensure_uploader(spool, uploader_cmd)
    if error.exists():
        reason = error.read_text().strip() or "unknown error"
        raise PgdrError(
            f"WAL {src.name} is spooled, but the uploader cannot reach the repository: {reason}"
        )
    return "spooled"


def _check_header(src: Path) -> None:
    """The segment checks of ``archive.push`` that need no repository (size, header, place);
    the uploader checks the cluster."""
    if not (is_segment(src.name) or is_partial(src.name)):
        return
    try:
        with open(src, "rb") as f:
            head = f.read(LONG_HEADER_LEN)
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        raise UsageError(f"{src}: no such WAL file") from None
    except OSError as e:
        raise UsageError(f"cannot read {src}: {e.strerror}") from None
    check_segment(src.name, head, size)


def _wait_for(marker: Path, timeout: float = ACK_WAIT_S) -> bool:
    """A running uploader ships every ``.ready`` segment on its own; waiting briefly for its
    acknowledgement is cheaper than copying 16 MiB into the spool."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists():
            return True
        time.sleep(0.005)
    return marker.exists()


def ensure_uploader(spool: Path, cmd: list[str]) -> None:
    lock = spool / "uploader.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # one is running
    finally:
        os.close(fd)  # releases our probe lock; the uploader takes its own
    spawn_detached(cmd)


class AfterBatch(Protocol):
    """What runs after a batch is acknowledged, injected by the caller the way a backup's
    follow-ups are (the CLI passes ``pgdr.cli.wal_followers.Followers``: the replicas and the
    wal-ingest audit summary). Called after the acks are written; must not raise — the WAL is
    already durable in the repository."""

    def after(self, repo: Repository, shipped: list[Shipped]) -> None: ...


class NoFollowUps:
    def after(self, repo: Repository, shipped: list[Shipped]) -> None:
        pass


def run_uploader(
    repo: Repository,
    spool: Path,
    pg_wal: Path | None,
    workers: int = 4,
    followers: AfterBatch | None = None,
) -> int:
    """Ship everything spooled (and ready in pg_wal) until idle; returns files stored. Only
    one uploader works at a time (flock); after letting go of the lock it looks once more,
    so a file spooled while it was about to exit is not left behind."""
    followers = followers or NoFollowUps()
    queue, acked = _dirs(spool)
    stored = 0
    while True:
        fd = os.open(spool / "uploader.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return stored  # another uploader has it
            ok, n = _drain(repo, spool, queue, acked, pg_wal, workers, followers)
            stored += n
        finally:
            os.close(fd)
        if not ok or not _pending(queue, acked, None):
            return stored


def _drain(
    repo: Repository,
    spool: Path,
    queue: Path,
    acked: Path,
    pg_wal: Path | None,
    workers: int,
    followers: AfterBatch,
) -> tuple[bool, int]:
    """Upload until idle. On a failure, record it in DIR/error and stop: the next
    archive_command reports it to PostgreSQL and starts a fresh uploader (which re-reads
    the configuration) — nothing is retried silently forever."""
    stored = 0
    idle_since = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        while True:
            work = _pending(queue, acked, pg_wal)
            if not work:
                if time.monotonic() - idle_since > IDLE_EXIT_S:
                    break
                time.sleep(0.05)
                continue
            results = list(pool.map(lambda p: _ship(repo, p, queue, acked), work))
            failures = [r.error for r in results if r.error is not None]
            shipped = [r for r in results if r.error is None and r.status != "recycled"]
            stored += len(shipped)
            followers.after(repo, shipped)  # acks are written: PostgreSQL does not wait
            if failures:
                record_error(spool, failures[0])
                return False, stored
            (spool / "error").unlink(missing_ok=True)
            idle_since = time.monotonic()
    _expire_acks(acked)
    return True, stored


def _pending(queue: Path, acked: Path, pg_wal: Path | None) -> list[Path]:
    files = {p.name: p for p in queue.iterdir() if not p.name.startswith(".")}
    if pg_wal is not None:
        status = pg_wal / "archive_status"
        try:
            for ready in status.iterdir():
                if ready.name.endswith(".ready"):
                    name = ready.name[: -len(".ready")]
                    if name not in files and not (acked / name).exists():
                        files[name] = pg_wal / name
        except FileNotFoundError:
            pass
    return [files[n] for n in sorted(files)]


@dataclass(frozen=True)
class Shipped:
    name: str
    status: str  # stored | already-stored | recycled | failed
    bytes: int = 0
    error: str | None = None


def _ship(repo: Repository, path: Path, queue: Path, acked: Path) -> Shipped:
    try:
        pushed = archive.push(repo, path)
    except PgdrError as e:
        if path.parent != queue and not path.exists():
            # a look-ahead segment PostgreSQL already recycled: nothing to do
            return Shipped(path.name, "recycled")
        return Shipped(path.name, "failed", error=f"{path.name}: {e.message}")
    marker = acked / path.name
    marker.touch(mode=0o600)
    if path.parent == queue:
        path.unlink(missing_ok=True)
    return Shipped(path.name, pushed.status, pushed.bytes)


def _expire_acks(acked: Path) -> None:
    cutoff = time.time() - ACK_TTL_S
    for p in acked.iterdir():
        try:
            if p.stat().st_mtime < cutoff:
                p.unlink()
        except FileNotFoundError:
            continue


def uploader_command(
    config: Path | None,
    repo: str | None,
    spool: Path,
    pg_wal: Path | None,
    key_file: Path | None = None,
) -> list[str]:
    conf, key = (str(p.resolve()) if p else None for p in (config, key_file))
    cmd = helper_command("wal-uploader", conf, repo, key)  # the same key as the wal-push
    cmd += ["--spool", str(spool.resolve())]
    if pg_wal is not None:
        cmd += ["--pg-wal", str(pg_wal.resolve())]
    return cmd
