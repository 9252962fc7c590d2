"""Following the primary: WAL files go to the configured replicas right after they are
durable on the primary (``replicate_to`` in the repository's settings).

Best effort by design — the replica may lag, the primary may not wait: a failure marks the
replica *down* in the local state directory for ``DOWN_S`` seconds, during which pushes skip
it, so an unreachable region costs one timeout, not one per WAL file. Whatever is skipped,
`pgdr repo replicate` (after each backup, or from the daemon) catches up; the lag is visible
with `pgdr repo lag`.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from pgdr.audit.state import repo_state_name
from pgdr.errors import ObjectNotFound, PgdrError, ReplicaMismatch
from pgdr.localfs import atomic_write, private_dir
from pgdr.paths import default_state_dir
from pgdr.replicate.check import verify_object
from pgdr.repo import format as fmt
from pgdr.repo.repoconfig import decode_config
from pgdr.repo.repository import Repository
from pgdr.storage.base import Backend

log = logging.getLogger(__name__)
DOWN_S = 300.0


@dataclass(frozen=True)
class ReplicaLink:
    name: str
    backend: Backend


def _down_marker(source: Repository, name: str) -> Path:
    base = repo_state_name(source.config.repo_id, source.backend.url)
    return default_state_dir() / "replica-down" / f"{base}-{name}.json"


def _is_down(marker: Path) -> bool:
    try:
        return time.time() - float(json.loads(marker.read_text())["at"]) < DOWN_S
    except (OSError, ValueError, KeyError):
        return False


def _mark_down(marker: Path, reason: str) -> None:
    try:
        private_dir(marker.parent)
        atomic_write(marker, json.dumps({"at": time.time(), "reason": reason}) + "\n")
    except OSError as e:
        log.debug("cannot write %s: %s", marker, e)


def copy_keys(source: Repository, replica: Backend, keys: list[str]) -> int:
    """Copy ``keys`` that the replica lacks; the replica must be a complete replica of
    ``source`` (a first replication is `pgdr repo replicate`'s job). Returns objects copied."""
    try:
        cfg, _signed, _tag = decode_config(replica.get(fmt.CONFIG_KEY))
    except ObjectNotFound:
        raise PgdrError(
            f"{replica.url} is not a replica yet: run `pgdr repo replicate` once"
        ) from None
    if cfg.repo_id != source.config.repo_id:
        raise ReplicaMismatch(f"{replica.url} holds another repository ({cfg.repo_id})")
    copied = 0
    for key in keys:
        if replica.stat(key) is not None:
            continue  # objects are immutable: never overwrite
        data = source.backend.get(key)
        verify_object(source, key, data)
        replica.put(key, data)
        copied += 1
    return copied


def follow(source: Repository, replicas: list[ReplicaLink], keys: list[str]) -> dict[str, str]:
    """Copy ``keys`` to every replica that is not marked down; returns {replica: problem}
    for those that were skipped or failed (logged as warnings, never raised)."""
    problems: dict[str, str] = {}
    if not keys:
        return problems
    for link in replicas:
        marker = _down_marker(source, link.name)
        if _is_down(marker):
            problems[link.name] = "skipped: marked down after a recent failure"
            continue
        try:
            copy_keys(source, link.backend, keys)
        except PgdrError as e:
            problems[link.name] = e.message
            _mark_down(marker, e.message)
            log.warning("replica %s lags: %s (`pgdr repo replicate` catches up)", link.name, e)
            continue
        _clear(marker)
    return problems


def _clear(marker: Path) -> None:
    try:
        marker.unlink(missing_ok=True)
    except OSError as e:  # local state is best effort: never fail the push over it
        log.debug("cannot remove %s: %s", marker, e)
