"""Appending to and reading the audit log.

``record(repo, action, details)`` is the one call every mutating operation makes. An append
lists ``audit/``, reads the entries of the newest sequence numbers to find the tips, writes
one new immutable object naming them, and raises this host's checkpoint. It takes no lock.
"""

from __future__ import annotations

import getpass
import logging
import os
import socket
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pgdr import __version__
from pgdr.audit.chain import MERGE_WINDOW, next_seq, tips
from pgdr.audit.entry import ACTION, AuditEntry, open_entry, parse_key, seal_entry
from pgdr.audit.state import Checkpoint, save_checkpoint
from pgdr.errors import PgdrError, UsageError
from pgdr.repo.format import AUDIT_PREFIX
from pgdr.repo.repository import Repository

log = logging.getLogger(__name__)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def list_keys(repo: Repository) -> list[str]:
    return [i.key for i in repo.backend.list(AUDIT_PREFIX) if parse_key(i.key) is not None]


def read_entries(
    repo: Repository, keys: list[str], workers: int = 8
) -> tuple[dict[str, AuditEntry], dict[str, str]]:
    """(authenticated entries by key, damaged keys with the reason)."""

    def one(key: str) -> AuditEntry | str:
        try:
            return open_entry(repo, key, repo.backend.get(key))
        except PgdrError as e:
            return e.message.removeprefix(f"{key}: ")

    good: dict[str, AuditEntry] = {}
    bad: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for key, got in zip(keys, pool.map(one, keys), strict=True):
            if isinstance(got, AuditEntry):
                good[key] = got
            else:
                bad[key] = got
    return good, bad


def append(repo: Repository, action: str, details: Mapping[str, Any] | None = None) -> AuditEntry:
    if not ACTION.match(action):
        raise UsageError(f"invalid audit action {action!r}")
    keys = list_keys(repo)
    seq = next_seq(keys)
    recent = [k for k in keys if (parse_key(k) or (0, ""))[0] >= seq - 1 - MERGE_WINDOW]
    good, bad = read_entries(repo, recent)
    entry = AuditEntry(
        key="",
        seq=seq,
        prev=tuple(tips(good.values(), bad)),
        time=datetime.now(UTC).isoformat(timespec="microseconds"),
        action=action,
        details=dict(details or {}),
        user=_user(),
        uid=os.getuid(),
        host=socket.gethostname(),
        pid=os.getpid(),
        version=__version__,
    )
    key, sealed = seal_entry(repo, entry.body())
    repo.backend.put(key, sealed)
    save_checkpoint(repo.config.repo_id, repo.backend.url, Checkpoint(key, seq))
    return replace(entry, key=key)


def record(
    repo: Repository,
    action: str,
    details: Mapping[str, Any] | None = None,
    *,
    strict: bool = False,
) -> str | None:
    """Append one entry: who (OS user, uid), where (host, pid), when, what (action and
    details). Returns the entry's key. The operation it records has already happened, so by
    default a failure to append is logged as a warning, not raised; ``strict`` raises."""
    try:
        return append(repo, action, details).key
    except PgdrError as e:
        if strict:
            raise
        log.warning("could not append %r to the audit log: %s", action, e.message)
        return None
