"""Keeping S3 Object Lock meaningful for deduplicated data.

Every object is written with retain-until = write time + the lock period (window + margin).
A pack written long ago can still hold blobs today's backups reference; its original lock
would lapse while they need it. ``refresh`` moves the retain-until of every object the
repository still needs (``needed_keys``) to now + the lock period whenever it would lapse
inside the recovery window — never of garbage, so garbage becomes deletable on time.
Checking costs one HEAD per object older than (lock period - window); extending, one
PutObjectRetention per object about every (lock period - window).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pgdr.errors import PgdrError
from pgdr.repo import format as fmt
from pgdr.repo.gc import referenced_blobs
from pgdr.repo.gc_view import Entries, live_entries
from pgdr.repo.repository import Repository, active_index_ids


@dataclass
class RetentionRefresh:
    checked: int = 0
    extended: int = 0
    failed: list[str] = field(default_factory=list)


def lock_period(repo: Repository) -> timedelta | None:
    period = getattr(repo.backend, "retention_period", None)
    return period() if callable(period) else None


def needed_keys(repo: Repository, dropped: Iterable[str] = ()) -> set[str]:
    """Keys of every object the repository needs, leaving out the objects in ``dropped``
    (e.g. manifests and WAL the retention policy removes but Object Lock kept) and whatever
    only they reference."""
    gone = set(dropped)
    keys = {i.key for i in repo.backend.list()}
    objs = repo.read_index_objects()
    active = active_index_ids(objs)
    manifests = {k for k in keys if k.startswith(fmt.MANIFESTS_PREFIX)} - gone
    refs = referenced_blobs(repo, manifests)
    entries = Entries.of(objs[i] for i in active)
    present = {bytes.fromhex(k.rsplit("/", 1)[1]) for k in keys if k.startswith(fmt.DATA_PREFIX)}
    live = entries.select(live_entries(entries, refs, present))
    packs = {fmt.pack_key(p) for p in live.packs_used()} if len(live) else set()
    fixed = {
        k
        for k in keys
        if k == fmt.CONFIG_KEY or k.startswith((fmt.KEYS_PREFIX, fmt.KEYRING_PREFIX))
    }
    wal = {k for k in keys if k.startswith(fmt.WAL_PREFIX)} - gone
    return fixed | {fmt.index_key(i) for i in active} | manifests | wal | packs


def refresh(
    repo: Repository,
    keys: Iterable[str],
    window: timedelta,
    *,
    now: datetime | None = None,
) -> RetentionRefresh | None:
    """Extend the lock of every key whose retain-until falls inside the window; None when
    the backend has no Object Lock."""
    period = lock_period(repo)
    if period is None:
        return None
    b = repo.backend
    now = now or datetime.now(UTC)
    horizon = now + window - period  # stored before this: the original lock lapses in time
    wanted = set(keys)
    old = [
        i.key for i in b.list() if i.key in wanted and (i.modified is None or i.modified <= horizon)
    ]
    out = RetentionRefresh()

    def one(key: str) -> tuple[str, bool, str | None]:
        try:
            until = b.retained_until(key)  # type: ignore[attr-defined]
            if until is not None and until >= now + window:
                return key, False, None
            b.extend_retention(key, now + period)  # type: ignore[attr-defined]
            return key, True, None
        except PgdrError as e:
            return key, False, e.message

    with ThreadPoolExecutor(max_workers=8) as pool:
        for key, extended, error in pool.map(one, old):
            out.checked += 1
            out.extended += extended
            if error:
                out.failed.append(f"{key}: {error}")
    return out
