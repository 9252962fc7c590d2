"""The cluster a repository belongs to: its system identifier, recorded once.

One repository serves one PostgreSQL cluster. WAL file names repeat across clusters
(every cluster starts at ``000000010000000000000001``), so WAL of a second — or re-initdb'd —
cluster pushed into the same repository would mix with the first one's, and a restore would
replay foreign WAL onto a backup. The first ``wal-push`` or backup records the cluster as
the manifest ``manifests/cluster/<system identifier>`` (immutable, sealed like every
manifest, copied by replication); every later push (from the segment's long page header),
backup and ``pgdr check`` (from ``pg_control_system()``) compares against it and refuses
another cluster with :class:`ClusterMismatch`.

Two clusters recording at the same moment both write their object; the one with the
earliest ``created`` (then the smaller identifier) is the repository's cluster, for every
reader alike.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from pgdr.errors import ClusterMismatch, IntegrityError, ObjectExists
from pgdr.repo.repository import Repository

KIND = "cluster"
REPAIR = (
    "if the identifier in its name is this cluster's (SELECT system_identifier FROM "
    "pg_control_system()), delete the damaged object: the next push records it again"
)


@dataclass(frozen=True)
class ClusterIdentity:
    system_identifier: str
    wal_segment_size: int | None
    created: float
    recorded_by: str


def recorded(repo: Repository) -> ClusterIdentity | None:
    """The repository's cluster, or None before the first push or backup."""
    found: list[ClusterIdentity] = []
    for sysid in repo.list_manifests(KIND):
        try:
            doc = repo.get_manifest(KIND, sysid).doc
        except IntegrityError as e:
            raise IntegrityError(e.message, hint=REPAIR) from None
        try:
            ident = ClusterIdentity(
                str(doc["system_identifier"]),
                int(doc["wal_segment_size"]) if doc.get("wal_segment_size") else None,
                float(doc["created"]),
                str(doc.get("recorded_by", "")),
            )
        except (KeyError, TypeError, ValueError):
            raise IntegrityError(
                f"manifests/{KIND}/{sysid}: damaged cluster record", hint=REPAIR
            ) from None
        if ident.system_identifier != sysid:
            raise IntegrityError(
                f"manifests/{KIND}/{sysid}: names another cluster (forged?)", hint=REPAIR
            )
        found.append(ident)
    if not found:
        return None
    return min(found, key=lambda i: (i.created, i.system_identifier))


def ensure(
    repo: Repository, system_identifier: str, wal_segment_size: int | None, by: str
) -> ClusterIdentity:
    """The repository's cluster, recording ``system_identifier`` when there is none yet;
    ClusterMismatch when it is another cluster."""
    ident = recorded(repo)
    if ident is None:
        doc = {
            "system_identifier": system_identifier,
            "wal_segment_size": wal_segment_size,
            "created": time.time(),
            "recorded_by": by,
        }
        # A concurrent recorder (a backup beside a push) may have written the same name.
        with contextlib.suppress(ObjectExists):
            repo.put_manifest(KIND, system_identifier, doc)
        ident = recorded(repo)  # a concurrent first recorder: the earliest one wins
        assert ident is not None
    check(ident, system_identifier, repo.backend.url)
    return ident


def check(ident: ClusterIdentity, system_identifier: str, url: str) -> None:
    if ident.system_identifier != system_identifier:
        raise ClusterMismatch(
            f"this cluster (system identifier {system_identifier}) is not the one the "
            f"repository at {url} belongs to (system identifier {ident.system_identifier}, "
            f"recorded by {ident.recorded_by or 'pgdr'})",
            hint="use a new repository for each cluster (a re-initdb'd cluster is a new one; "
            "a restored or promoted copy keeps its identifier): pgdr repo init, then point this cluster at it",
        )
