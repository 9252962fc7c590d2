"""Prefetching WAL for restore_command: while PostgreSQL replays segment N, a background
process fetches the next few into ``DIR/prefetch/`` (authenticated and decrypted, written
atomically); the next `pgdr wal-fetch` finds its file there and returns at once."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pgdr.errors import PgdrError
from pgdr.localfs import private_dir
from pgdr.pg.wal import (
    history_name,
    is_segment,
    parse_segment_name,
    segment_name,
    timeline_of_name,
)
from pgdr.proc import PREFETCHER_LOCK, helper_command, hold_shared, spawn_detached
from pgdr.repo.repository import Repository
from pgdr.wal import archive

STALE_S = 600.0


def prefetch_dir(spool: Path) -> Path:
    d = spool / "prefetch"
    private_dir(d)
    return d


def next_segments(name: str, count: int, seg_size: int = 16 << 20) -> list[str]:
    if not is_segment(name):
        return []
    tli, segno = parse_segment_name(name, seg_size)
    return [segment_name(tli, segno + i, seg_size) for i in range(1, count + 1)]


def run_prefetcher(repo: Repository, spool: Path, names: list[str]) -> int:
    """Fetch ``names`` in order into the prefetch directory; stop at the first one that is not
    archived (it does not exist yet). Returns how many were fetched. Holds the spool's
    ``PREFETCHER_LOCK`` shared throughout: a delta restore of this data directory waits for
    it before removing ``pgdr_prefetch`` (a prefetcher outlives the server that started it)."""
    d = prefetch_dir(spool)
    lock = hold_shared(spool / PREFETCHER_LOCK)
    try:
        return _fetch_into(repo, d, names)
    finally:
        os.close(lock)


def _fetch_into(repo: Repository, d: Path, names: list[str]) -> int:
    cutoff = time.time() - STALE_S
    for old in d.iterdir():
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    done = 0
    for name in names:
        target = d / name
        if target.exists():
            continue
        try:
            found = archive.fetch(repo, name, target)  # atomic: never a partial segment
        except PgdrError:
            return done
        if not found:
            return done
        done += 1
    return done


def note_end_of_archive(repo: Repository, spool: Path, name: str, limit: int = 16) -> None:
    """Segment ``name`` is not archived: recovery is at the end of the archive and, when it
    promotes, probes ``<timeline+1>.history`` upwards for a free timeline. Answer those probes
    now, from the repository as it is a moment before the promotion (as PostgreSQL's own probe
    would): the archived ones go to ``DIR/prefetch/``, the first one that is not archived gets
    an empty ``DIR/absent/`` marker, so restore_command's shell answers them without Python."""
    if not is_segment(name):
        return
    tli = timeline_of_name(name)
    absent = spool / "absent"
    if not absent.is_dir():  # not a restore that placed files for the shell (pgdr.restore.seed)
        return
    try:
        d = prefetch_dir(spool)
        for nxt in range(tli + 1, tli + 1 + limit):
            history = history_name(nxt)
            if not archive.fetch(repo, history, d / history):
                (absent / history).touch()
                return
    except (PgdrError, OSError):  # only a shortcut: PostgreSQL's own probe then asks pgdr
        return


def spawn_prefetcher(
    config: Path | None,
    repo: str | None,
    spool: Path,
    names: list[str],
    key_file: Path | None = None,
) -> None:
    if not names:
        return
    conf, key = (str(p.resolve()) if p else None for p in (config, key_file))
    cmd = helper_command("wal-prefetcher", conf, repo, key)  # the same key as the wal-fetch
    spawn_detached([*cmd, "--spool", str(spool.resolve()), *names])
