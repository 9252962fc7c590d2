"""WAL ingest summaries: one audit entry per period, not one per WAL file.

Every stored WAL file adds a line (name, bytes, time) to a pending file in the local state
directory, ``wal-ingest/<repository>.jsonl``. When its oldest line is older than the period,
the pusher that notices records one ``wal-ingest`` entry (files, bytes, first and last name,
from/until) and empties the file. Used by the synchronous wal-push and the asynchronous
uploader alike. Best effort: it never fails a push (a lost summary is a gap in the log's
detail, not in the WAL).
"""

from __future__ import annotations

import fcntl
import json
import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pgdr.audit.state import repo_state_name
from pgdr.localfs import open_private, private_dir
from pgdr.paths import default_state_dir
from pgdr.repo.repository import Repository

log = logging.getLogger(__name__)
DEFAULT_PERIOD_S = 3600.0


def summarize(lines: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The details of one wal-ingest entry from pending lines {n: name, b: bytes, t: time}."""
    items = list(lines)
    names = sorted(str(i["n"]) for i in items)
    times = [float(i["t"]) for i in items]
    return {
        "files": len(items),
        "bytes": sum(int(i["b"]) for i in items),
        "first": names[0] if names else None,
        "last": names[-1] if names else None,
        "since": datetime.fromtimestamp(min(times), UTC).isoformat() if times else None,
        "until": datetime.fromtimestamp(max(times), UTC).isoformat() if times else None,
    }


def note_wal_stored(
    repo: Repository, stored: list[tuple[str, int]], period_s: float = DEFAULT_PERIOD_S
) -> str | None:
    """Remember WAL files just made durable; returns the audit key when a summary was
    written."""
    if not stored:
        return None
    base = default_state_dir() / "wal-ingest"
    path = base / f"{repo_state_name(repo.config.repo_id, repo.backend.url)}.jsonl"
    try:
        private_dir(base)
        with open_private(path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            now = time.time()
            with open_private(path, "a") as f:
                for name, size in stored:
                    f.write(json.dumps({"n": name, "b": size, "t": now}) + "\n")
            with open(path) as f:
                oldest = float(json.loads(f.readline())["t"])
            if now - oldest < period_s:
                return None
            with open(path) as f:
                pending = [json.loads(line) for line in f if line.strip()]
            from pgdr.audit.log import record  # once per period: not on every push

            key = record(repo, "wal-ingest", summarize(pending))
            if key is not None:
                open_private(path, "w").close()
            return key
    except (OSError, ValueError, KeyError) as e:
        log.debug("WAL ingest summary skipped (%s): %s", path, e)
        return None
