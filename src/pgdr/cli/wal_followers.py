"""What follows a WAL push, wired by the CLI the way a backup's follow-ups are: the pushed
files copied to the ``replicate_to`` replicas and counted for the periodic wal-ingest audit
entry. The synchronous push calls it per file, the asynchronous uploader per batch
(``pgdr.wal.spool.AfterBatch``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pgdr.audit.ingest import DEFAULT_PERIOD_S, note_wal_stored
from pgdr.catalog.wal import wal_key
from pgdr.repo.repository import Repository
from pgdr.wal.spool import Shipped

if TYPE_CHECKING:  # imported when there are replicas: not on every push
    from pgdr.replicate.follow import ReplicaLink

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Followers:
    """What happens after a batch is acknowledged: WAL copied to the replicas
    (``replicate_to``) and counted for the periodic wal-ingest audit entry."""

    replicas: list[ReplicaLink] = field(default_factory=list)
    summary_s: float = DEFAULT_PERIOD_S

    def after(self, repo: Repository, shipped: list[Shipped]) -> None:
        """Best effort: the WAL is already durable in the primary, so nothing here may fail
        the push (a replica or the local state directory must not stall archiving)."""
        try:
            stored = [(s.name, s.bytes) for s in shipped if s.status == "stored"]
            note_wal_stored(repo, stored, self.summary_s)
            if self.replicas:
                from pgdr.replicate.follow import follow

                follow(repo, self.replicas, [wal_key(s.name) for s in shipped])
        except Exception as e:
            log.warning("after storing %d WAL file(s): %s", len(shipped), e)
