"""Collecting the exports facts: the ``[exports]`` target's listing and the newest complete
export's ``_manifest.json`` (read once per export id, then kept: manifests never change)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pgdr.daemon.cron import Schedule
from pgdr.daemon.facts import ExportFact, ExportTableFact
from pgdr.errors import PgdrError
from pgdr.export.manifest import ExportManifest
from pgdr.export.target import ExportTarget


class ExportCollector:
    """``open_target`` None: ``[exports] url`` is not configured (``missing`` says so)."""

    def __init__(
        self,
        open_target: Callable[[], ExportTarget] | None,
        schedule: str,
        missing: str = "no [exports] url (where exports go)",
    ) -> None:
        self.open_target = open_target
        self.schedule = Schedule.parse(schedule)
        self.missing = missing
        self._manifests: dict[str, ExportManifest] = {}
        self._complete: dict[tuple[str, int, int], bool] = {}

    def collect(self, now: datetime) -> ExportFact:
        gap = self.schedule.longest_gap(now)
        period = gap.total_seconds() if gap is not None else None
        if self.open_target is None:
            return ExportFact(None, False, self.missing, period)
        url = None
        try:
            target = self.open_target()
            try:
                url = target.url
                listed = target.exports(self._complete)
                seen = {e.export_id for e in listed}
                self._complete = {k: v for k, v in self._complete.items() if k[0] in seen}
                done = [e for e in listed if e.complete]
                manifest = self._manifest(target, done[-1].export_id) if done else None
            finally:
                target.close()
        except PgdrError as e:
            return ExportFact(url or "?", False, e.message, period)
        fact = ExportFact(
            url, True, None, period, complete=len(done), incomplete=len(listed) - len(done)
        )
        if manifest is None:
            return fact
        s = manifest.source
        return ExportFact(
            url,
            True,
            None,
            period,
            latest_id=manifest.export_id,
            latest_started=manifest.created,
            latest_finished=manifest.finished,
            latest_snapshot=manifest.snapshot_time,
            latest_source=f"backup {s.backup_id}" if s.kind == "backup" else s.kind,
            tables=tuple(
                ExportTableFact(t.database, t.qualified, t.rows, t.bytes) for t in manifest.tables
            ),
            complete=fact.complete,
            incomplete=fact.incomplete,
        )

    def _manifest(self, target: ExportTarget, export_id: str) -> ExportManifest:
        if export_id not in self._manifests:
            self._manifests = {export_id: target.manifest(export_id)}  # only the newest
        return self._manifests[export_id]
