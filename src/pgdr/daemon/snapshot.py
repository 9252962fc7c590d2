"""Collecting one snapshot of facts: database, repository, free space, WAL lag, and in RDS
mode the instance's PITR state, and the exports target."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pgdr.daemon.collect_exports import ExportCollector
from pgdr.daemon.collect_fs import collect_volumes
from pgdr.daemon.collect_pg import collect_pg
from pgdr.daemon.collect_repo import RepoCollector
from pgdr.daemon.facts import Facts, RdsFact, wal_lag


class FactCollector:
    def __init__(
        self,
        repo: RepoCollector,
        conninfo: str,
        data_dir: Path | None,
        rds: Callable[[], RdsFact] | None = None,
        exports: ExportCollector | None = None,
    ) -> None:
        self.repo = repo
        self.exports = exports
        self.rds = rds
        self.conninfo = conninfo
        self.data_dir = str(data_dir) if data_dir else None
        self._seen_data_dir: str | None = None  # from the server, kept while it is down

    def collect(self) -> Facts:
        pg = collect_pg(self.conninfo)
        repo = self.repo.collect()
        now = datetime.now(UTC)
        if pg.data_dir:
            self._seen_data_dir = pg.data_dir
        volumes = collect_volumes(repo.url, self.data_dir or self._seen_data_dir)
        segments, seconds = wal_lag(pg, repo, now)
        rds = self.rds() if self.rds is not None else None
        exports = self.exports.collect(now) if self.exports is not None else None
        return Facts(now, repo, pg, volumes, segments, seconds, rds, exports)
