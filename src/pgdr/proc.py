"""pgdr's own helper processes (the WAL uploader, prefetcher and pusher): the command that
starts one, starting it detached, and whether one already holds its lock. Standard library
only: the archive_command's fast path (``pgdr.wal.pusher_client``) imports it."""

from __future__ import annotations

import fcntl
import os
import sys
import time

#: In a restored data directory's ``pgdr_prefetch/``: every running prefetcher holds it
#: shared, and a delta restore waits for it exclusively before it removes the directory.
PREFETCHER_LOCK = "prefetcher.lock"


def helper_command(
    subcommand: str, config: str | None, repo: str | None, key_file: str | None
) -> list[str]:
    """``pgdr [--config FILE] [--repo R] [--key-file K] SUBCOMMAND`` with this interpreter:
    a helper opens the repository exactly as the command that starts it (same config,
    repository and key — the server key, never a KDF)."""
    cmd = [sys.executable, "-m", "pgdr"]
    cmd += ["--config", config] if config else []
    cmd += ["--repo", repo] if repo else []
    cmd += ["--key-file", key_file] if key_file else []
    return [*cmd, subcommand]


def spawn_detached(cmd: list[str]) -> None:
    """Start ``cmd`` in its own session with no standard streams and no inherited file
    descriptors: it outlives the caller (``archive_command``/``restore_command`` return at
    once) and a signal to the caller's process group does not reach it."""
    import subprocess  # only to start a detached helper: not on every import

    subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def lock_held(path: str | os.PathLike[str]) -> bool:
    """True while a helper holds the lock file ``path`` (it may still be starting); also
    when the lock cannot be opened (cannot tell: do not start another one)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def hold_shared(path: str | os.PathLike[str]) -> int:
    """Take ``path`` shared (created owner-only): several holders at once, but none while
    someone waits for it exclusively. Returns the descriptor; closing it releases."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def wait_unheld(path: str | os.PathLike[str], timeout: float) -> bool:
    """Wait until no one holds ``path`` (True; also when it does not exist), at most
    ``timeout`` seconds (False)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:  # none there (or not a plain file: nothing of a prefetcher's)
        return True
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.1)
    finally:
        os.close(fd)
