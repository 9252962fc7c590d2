"""Local state of this host and OS user: where pgdr keeps what must outlive one process but
does not belong in the repository (the audit checkpoint, pending WAL ingest summaries).

It lives in pgdr's state directory (``pgdr.paths.default_state_dir``: ``$PGDR_STATE_DIR``,
else /var/lib/pgdr as root, else the XDG state directory), like every other local state.
Everything here is best effort: losing it weakens the truncation check, never the data.
"""

from __future__ import annotations

import fcntl
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import blake3

from pgdr.localfs import atomic_write, open_private, private_dir
from pgdr.paths import default_state_dir
from pgdr.repo.repoconfig import check_repo_id

log = logging.getLogger(__name__)


def repo_state_name(repo_id: str, url: str) -> str:
    """Per repository *and* location: a replica shares its primary's repo id (checked: it
    becomes part of a file name)."""
    return f"{check_repo_id(repo_id)}-{blake3.blake3(url.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class Checkpoint:
    """The newest audit entry this host/user appended or verified in one repository."""

    key: str
    seq: int


def _checkpoint_path(repo_id: str, url: str) -> Path:
    return default_state_dir() / "audit" / f"{repo_state_name(repo_id, url)}.json"


def load_checkpoint(repo_id: str, url: str) -> Checkpoint | None:
    try:
        doc = json.loads(_checkpoint_path(repo_id, url).read_text())
        return Checkpoint(str(doc["key"]), int(doc["seq"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_checkpoint(repo_id: str, url: str, cp: Checkpoint) -> None:
    """Raise the checkpoint to ``cp`` if it is newer; never lowers it."""
    path = _checkpoint_path(repo_id, url)
    try:
        private_dir(path.parent)
        with open_private(path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            old = load_checkpoint(repo_id, url)
            if old is not None and (old.seq, old.key) >= (cp.seq, cp.key):
                return
            atomic_write(path, json.dumps({"key": cp.key, "seq": cp.seq}) + "\n")
    except OSError as e:
        log.debug("cannot save the audit checkpoint in %s: %s", path, e)
