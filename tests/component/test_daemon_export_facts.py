"""The daemon's view of the exports target (``daemon.collect_exports``) on a counting memory
backend: the newest complete export's manifest gives the numbers, incomplete ones are
counted, never shown as done; repeated evaluations read no manifest or _SUCCESS twice. And
the daemon's expire job applies the 7-year rule to the exports target too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from pgdr.audit.log import list_keys, read_entries
from pgdr.daemon.collect_exports import ExportCollector
from pgdr.daemon.export_job import ExportDeps
from pgdr.daemon.jobs import REGISTRY, ExpireDeps, JobContext, JobDeps
from pgdr.drill.settings import DrillSettings
from pgdr.export.settings import ExportSettings
from pgdr.export.target import ExportTarget, open_target
from pgdr.repo.repository import Repository
from pgdr.retention.policy import Policy
from tests.fixtures.counting import CountingBackend
from tests.fixtures.export_files import TableData, write_export

pytestmark = pytest.mark.component
NOW = datetime(2026, 12, 20, tzinfo=UTC)
OLDER, NEWER, CRASHED = (
    "20261101T040000Z-111111",
    "20261201T040000Z-222222",
    "20261215T040000Z-333333",
)


def table(name: str, rows: int) -> TableData:
    data = pa.table({"id": pa.array(range(rows), pa.int64())})
    return TableData("app", "public", name, data, {"id": "bigint"})


class Unclosable(ExportTarget):
    def close(self) -> None:  # the collector closes what it opened; keep the counts
        pass


def test_newest_complete_export_and_cached_reads() -> None:
    backend = CountingBackend()
    target = Unclosable(backend, "monthly")
    write_export(target, [table("users", 10)], OLDER)
    newest = write_export(target, [table("users", 15), table("recalls", 460)], NEWER)
    target.put(CRASHED, "app/public.users/part-00000.parquet", b"PAR1 cut short")
    collector = ExportCollector(lambda: target, "0 4 1 * *")

    f = collector.collect(NOW)
    assert f.up and f.configured and f.latest_id == NEWER
    assert (f.complete, f.incomplete) == (2, 1)
    assert {(t.table, t.rows) for t in f.tables} == {("public.users", 15), ("public.recalls", 460)}
    assert sum(t.bytes for t in f.tables) == newest.total_bytes
    assert f.latest_finished == newest.finished and f.period_s == 31 * 86400

    backend.gets.clear()
    again = collector.collect(NOW)
    assert again == f
    assert backend.reads_under("monthly/") == {}  # nothing re-read: listing only

    # a newer export completes: read once, and the numbers follow it
    write_export(target, [table("users", 20)], "20261219T040000Z-444444")
    latest = collector.collect(NOW)
    assert latest.latest_id == "20261219T040000Z-444444" and latest.complete == 3
    assert [(t.table, t.rows) for t in latest.tables] == [("public.users", 20)]


def test_not_configured_and_empty_targets() -> None:
    off = ExportCollector(None, "0 4 1 * *").collect(NOW)
    assert not off.configured and off.error and "[exports] url" in off.error
    empty = ExportCollector(lambda: Unclosable(CountingBackend()), "off").collect(NOW)
    assert empty.up and empty.latest_id is None and empty.complete == 0
    assert empty.period_s is None


def test_the_expire_job_applies_the_seven_year_rule_to_exports(
    repo: Repository, tmp_path: Path
) -> None:
    """The daemon's `expire` job: the repository's retention, then the exports target's
    (an export past seven years goes, the newest stays), audited in the repository."""
    settings = ExportSettings(url=f"file://{tmp_path / 'exports'}")
    target = open_target(settings)
    old, newest = "20180105T040000Z-0a0a0a", "20261201T040000Z-0b0b0b"
    for export_id in (old, newest):
        write_export(target, [table("users", 5)], export_id)
    deps = JobDeps(
        expire=ExpireDeps(Policy(timedelta(days=35))),
        export=ExportDeps(settings, DrillSettings(), ["app"]),
    )
    ctx = JobContext("expire", datetime.now(UTC), lambda: repo, "conninfo", deps=deps)
    out = REGISTRY["expire"].run(ctx)
    assert out["exports"]["deleted"] == [old] and out["exports"]["kept"] == 1
    assert [e.export_id for e in target.exports()] == [newest]
    entries, damaged = read_entries(repo, list_keys(repo))
    assert not damaged
    audited = [e.details for e in entries.values() if e.action == "export-expire"]
    assert [d["exports_deleted"] for d in audited] == [[old]]
