"""What replication copies, in which order, and how far a replica is behind — pure functions
over object listings (table-tested; the daemon exports ``replica_lag`` as a metric).

Copy order is the repository's write order, so a replica is consistent at every moment:
keyring (needed to open anything) → packs → index → WAL → manifests → audit, and ``config``
last at the first replication. The source is *listed* in the reverse order: a manifest seen
in the listing was written after its index and packs, so those are in the (later) listings
too, even while a backup writes concurrently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from pgdr.catalog.manifest import manifest_key
from pgdr.repo import format as fmt
from pgdr.storage.base import ObjectInfo

#: (category, prefix) in copy order.
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("keyring", fmt.KEYRING_PREFIX),
    ("data", fmt.DATA_PREFIX),
    ("index", fmt.INDEX_PREFIX),
    ("wal", fmt.WAL_PREFIX),
    ("manifests", fmt.MANIFESTS_PREFIX),
    ("audit", fmt.AUDIT_PREFIX),
)
#: Never copied: key slots belong to one location (the replica gets its own), locks and GC
#: plans to one location's writers and collector; ``config`` is copied separately, last.
NOT_COPIED = (fmt.KEYS_PREFIX, fmt.LOCKS_PREFIX, fmt.PLANS_PREFIX)
BACKUP_PREFIX = manifest_key("")
_SEGMENT = re.compile(r"^[0-9A-F]{24}$")


def category_of(key: str) -> str | None:
    for name, prefix in CATEGORIES:
        if key.startswith(prefix):
            return name
    return None


@dataclass
class CopyPlan:
    """Objects to copy per category (copy order), and what the target holds differently."""

    missing: dict[str, list[ObjectInfo]] = field(default_factory=dict)
    #: Present on the target with another size: a damaged or foreign copy.
    differs: list[str] = field(default_factory=list)
    present: int = 0
    #: Source objects under prefixes replication does not know (not copied), per prefix.
    unknown: dict[str, int] = field(default_factory=dict)

    @property
    def objects(self) -> int:
        return sum(len(v) for v in self.missing.values())

    @property
    def bytes(self) -> int:
        return sum(o.size for v in self.missing.values() for o in v)


def plan_copy(source: Iterable[ObjectInfo], target: Iterable[ObjectInfo]) -> CopyPlan:
    have = {o.key: o.size for o in target}
    plan = CopyPlan(missing={name: [] for name, _ in CATEGORIES})
    for o in source:
        cat = category_of(o.key)
        if cat is None:
            if o.key != fmt.CONFIG_KEY and not o.key.startswith(NOT_COPIED):
                top = o.key.split("/", 1)[0] + "/"
                plan.unknown[top] = plan.unknown.get(top, 0) + 1
            continue
        size = have.get(o.key)
        if size is None:
            plan.missing[cat].append(o)
        elif size != o.size:
            plan.differs.append(o.key)
        else:
            plan.present += 1
    return plan


@dataclass(frozen=True)
class ReplicaLag:
    initialized: bool  # the replica has its config (a first replication completed)
    objects_behind: int
    bytes_behind: int
    #: Age of the oldest object the replica lacks (0 when it lacks nothing): everything
    #: written before that moment is on the replica.
    seconds_behind: float
    oldest_missing: str | None
    behind_by_category: dict[str, int]
    newest_wal_source: str | None
    newest_wal_replica: str | None
    newest_backup_source: str | None
    newest_backup_replica: str | None


def _newest_wal(objs: list[ObjectInfo]) -> str | None:
    # wal/<timeline>/<segment>: key order is (timeline, segment) order.
    keys = [o.key for o in objs if o.key.startswith(fmt.WAL_PREFIX)]
    segs = [k for k in keys if _SEGMENT.match(k.rsplit("/", 1)[-1])]
    return max(segs).rsplit("/", 1)[-1] if segs else None


def _newest_backup(objs: list[ObjectInfo]) -> str | None:
    ids = [o.key[len(BACKUP_PREFIX) :] for o in objs if o.key.startswith(BACKUP_PREFIX)]
    return max(ids) if ids else None  # backup ids start with their UTC start time


def replica_lag(
    source: Iterable[ObjectInfo], replica: Iterable[ObjectInfo], now: datetime
) -> ReplicaLag:
    src, rep = list(source), list(replica)
    plan = plan_copy(src, rep)
    missing = [o for v in plan.missing.values() for o in v]
    dated = [o for o in missing if o.modified is not None]
    oldest = min(dated, key=lambda o: o.modified or now) if dated else None
    seconds = 0.0
    if oldest is not None and oldest.modified is not None:
        seconds = max(0.0, (now - oldest.modified).total_seconds())
    return ReplicaLag(
        initialized=any(o.key == fmt.CONFIG_KEY for o in rep),
        objects_behind=len(missing),
        bytes_behind=sum(o.size for o in missing),
        seconds_behind=seconds,
        oldest_missing=oldest.key if oldest else (missing[0].key if missing else None),
        behind_by_category={k: len(v) for k, v in plan.missing.items() if v},
        newest_wal_source=_newest_wal(src),
        newest_wal_replica=_newest_wal(rep),
        newest_backup_source=_newest_backup(src),
        newest_backup_replica=_newest_backup(rep),
    )
