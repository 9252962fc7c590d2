"""The scheduler and the job history on a memory repository, with a clock we own: runs per
slot, retries, coalescing, records kept in the outbox while the repository is unreachable,
restart from the history."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from pgdr.daemon.cron import Schedule
from pgdr.daemon.handle import RepoHandle
from pgdr.daemon.history import ANN_JOB, ANN_SLOT, JobHistory
from pgdr.daemon.jobs import JobContext, JobKind
from pgdr.daemon.scheduler import Planned, Scheduler
from pgdr.errors import PostgresError, StorageUnreachable, VerifyFailed
from pgdr.repo.repository import Repository
from pgdr.storage.base import Backend, ObjectInfo, PutOptions
from tests.fixtures.keys import PASS
from tests.fixtures.manifests import manifest

pytestmark = pytest.mark.component
T0 = datetime(2026, 11, 24, 3, 0, 0, tzinfo=UTC)


class Switch:
    """A backend we can unplug: while off, every call fails as unreachable storage."""

    def __init__(self, inner: Backend) -> None:
        self.inner, self.on, self.url = inner, True, inner.url

    def _check(self) -> None:
        if not self.on:
            raise StorageUnreachable(f"{self.url}: unplugged")

    def put(self, key: str, data: bytes | BinaryIO, options: PutOptions | None = None) -> None:
        self._check()
        self.inner.put(key, data, options)

    def put_new(self, key: str, data: bytes, options: PutOptions | None = None) -> None:
        self._check()
        self.inner.put_new(key, data, options)

    def get(self, key: str, offset: int = 0, length: int | None = None) -> bytes:
        self._check()
        return self.inner.get(key, offset, length)

    def stat(self, key: str) -> ObjectInfo | None:
        self._check()
        return self.inner.stat(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        self._check()
        return self.inner.list(prefix)

    def delete(self, key: str) -> None:
        self._check()
        self.inner.delete(key)

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = T0 + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def switch(backend: Backend) -> Switch:
    Repository.init(backend, PASS, pack_size=1 << 20)
    return Switch(backend)


def opener(sw: Switch):  # type: ignore[no-untyped-def]
    def open_repo() -> Repository:
        return Repository.open(sw, PASS)  # type: ignore[arg-type]

    return open_repo


class Fake:
    """Job functions we own: outcomes scripted per call."""

    def __init__(self, *outcomes: BaseException | None) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[datetime] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, ctx: JobContext) -> dict[str, Any]:
        self.release.wait(10)
        self.calls.append(ctx.slot)
        out = self.outcomes.pop(0) if self.outcomes else None
        if out is not None:
            raise out
        return {"slot": ctx.slot.isoformat()}


def make(
    sw: Switch, fake: Fake, clock: Clock, outbox: Path, history: JobHistory | None = None
) -> tuple[Scheduler, JobHistory, RepoHandle]:
    handle = RepoHandle(opener(sw))
    history = history or JobHistory(outbox)
    kind = JobKind("backup_incr", "backup", True, fake, "fake backup")

    def run_job(k: JobKind, slot: datetime) -> dict[str, Any]:
        return k.run(JobContext(k.name, slot, opener(sw), "conninfo"))

    sched = Scheduler(
        [Planned(kind, Schedule.parse("@every 10s"))],
        run_job,
        history,
        handle,
        retry_s=1,
        retry_max_s=4,
        clock=clock,
    )
    return sched, history, handle


def settle(sched: Scheduler) -> None:
    for t in list(sched._threads.values()):
        t.join(10)


def step(sched: Scheduler, clock: Clock, seconds: float) -> None:
    clock.now += timedelta(seconds=seconds)
    sched.tick()
    settle(sched)


def at(s: float) -> str:
    return (T0 + timedelta(seconds=s)).isoformat()


def test_runs_retries_and_coalesces(switch: Switch, tmp_path: Path) -> None:
    fake = Fake(
        None, PostgresError("down"), PostgresError("down"), None, None, VerifyFailed("damage")
    )
    clock = Clock()
    sched, history, handle = make(switch, fake, clock, tmp_path / "outbox")
    sched.tick()  # nothing before the history has been read
    assert not fake.calls
    with handle.use() as repo:
        history.load(repo)
    step(sched, clock, 8)  # 03:00:09 — first slot after the start is 03:00:10
    assert not fake.calls
    step(sched, clock, 1)  # 10: runs, succeeds
    step(sched, clock, 10)  # 20: fails (database down), retried 1 s later
    assert [r.slot for r in history.all()] == [at(10)]
    step(sched, clock, 1)  # 21: fails again, retry in 2 s
    step(sched, clock, 1)  # 22: not yet
    assert len(fake.calls) == 3
    step(sched, clock, 1)  # 23: succeeds: one record for slot 20, attempts 3
    rec = history.last("backup_incr")
    assert rec is not None and (rec.slot, rec.attempts, rec.status) == (at(20), 3, "success")
    fake.release.clear()  # the next run hangs until released
    clock.now += timedelta(seconds=7)  # 30
    sched.tick()
    clock.now += timedelta(seconds=25)  # 55: slots 40 and 50 come due while 30 runs
    sched.tick()
    fake.release.set()
    settle(sched)
    step(sched, clock, 0)  # 50 runs, standing in for 40; it fails for good (not retried)
    recs = history.all("backup_incr")
    assert [(r.slot, r.status, r.missed) for r in recs] == [
        (at(10), "success", 0),
        (at(20), "success", 0),
        (at(30), "success", 0),
        (at(50), "failed", 1),
    ]
    assert recs[-1].error_kind == "verify-failed"
    step(sched, clock, 2)  # a failed-for-good slot is not retried
    assert len(fake.calls) == 6


def test_records_wait_in_the_outbox_and_survive_a_restart(switch: Switch, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    fake = Fake()
    clock = Clock()
    sched, history, handle = make(switch, fake, clock, outbox)
    with handle.use() as repo:
        history.load(repo)
    step(sched, clock, 9)  # slot 10 runs; its record reaches the repository
    switch.on = False
    handle.reset()
    fake2 = Fake()
    sched.planned[0] = Planned(
        JobKind("backup_incr", "backup", True, fake2, "fake"), sched.planned[0].schedule
    )
    step(sched, clock, 10)  # slot 20 runs (the fake needs no repository); record: outbox
    assert len(list(outbox.glob("*.json"))) == 1 and history.unsent() == 1
    # the daemon restarts while the repository is still away: the outbox is read back
    restarted = JobHistory(outbox)
    with pytest.raises(StorageUnreachable):
        restarted.load(Repository.open(switch, PASS))  # type: ignore[arg-type]
    switch.on = True
    restarted.load(Repository.open(switch, PASS))  # type: ignore[arg-type]
    assert [r.slot for r in restarted.all()] == [at(10), at(20)]
    assert restarted.flush(Repository.open(switch, PASS)) == 1  # type: ignore[arg-type]
    assert not list(outbox.glob("*.json"))
    fresh = JobHistory(None)
    fresh.load(Repository.open(switch, PASS))  # type: ignore[arg-type]
    assert [r.slot for r in fresh.all()] == [at(10), at(20)]
    # a new scheduler primed from this history runs the missed slots once, at start
    clock.now = T0 + timedelta(seconds=61)
    sched2, _h, _handle = make(switch, Fake(), clock, outbox, history=fresh)
    step(sched2, clock, 0)
    last = fresh.last("backup_incr")
    assert last is not None and (last.slot, last.missed) == (at(60), 3)


def test_reconcile_backups_whose_record_was_never_written(switch: Switch) -> None:
    repo = Repository.open(switch, PASS)  # type: ignore[arg-type]
    history = JobHistory(None)
    history.load(repo)
    backups = [
        manifest(
            id="b1",
            start_time=at(10),
            stop_time=at(12),
            annotations={ANN_JOB: "backup_incr", ANN_SLOT: at(10)},
        ),
        manifest(id="b0", start_time=at(0), stop_time=at(2), annotations={}),  # manual
    ]
    # While the job that took b1 still runs (e.g. retention after the backup), its backup is
    # not a crash's leftover: no record may be made up for it.
    history.begin("backup_incr", at(10))
    assert history.reconcile(backups, repo) == 0
    history.end("backup_incr", at(10))
    assert history.reconcile(backups, repo) == 1
    assert history.reconcile(backups, repo) == 0
    again = JobHistory(None)
    again.load(repo)
    (rec,) = again.all()
    assert (rec.kind, rec.slot, rec.reconstructed, rec.result) == (
        "backup_incr",
        at(10),
        True,
        {"backup_id": "b1"},
    )


def test_replica_lag_is_collected_by_listing_both(repo: Repository) -> None:
    from pgdr.daemon.collect_repo import RepoCollector
    from pgdr.replicate.follow import ReplicaLink
    from pgdr.storage import open_backend

    replica = open_backend("mem://component-replica-lag")
    gone = ReplicaLink("gone", open_backend("file:///nonexistent/dir/that/cannot/exist"))
    handle = RepoHandle(lambda: Repository.open(repo.backend, PASS))
    collector = RepoCollector(
        handle, JobHistory(None), "mem://x", replicas=[ReplicaLink("dr", replica), gone]
    )
    dr, lost = collector.collect().replicas
    assert dr.up and not dr.initialized and dr.objects_behind >= 1 and dr.bytes_behind > 0
    for o in repo.backend.list():  # a complete copy: nothing behind
        replica.put(o.key, repo.backend.get(o.key))
    (dr, _lost) = collector.collect().replicas
    assert dr.initialized and dr.objects_behind == 0 and dr.seconds_behind == 0
    assert lost.name == "gone"


def test_drill_records_are_read_as_drill_records(repo: Repository) -> None:
    """The collector reads drill records through DrillRecord (one parser): finished ones are
    facts, a running one is not yet, and one that is not a drill record is skipped, not a
    failed collection."""
    from pgdr.daemon.collect_repo import RepoCollector
    from pgdr.drill.record import KIND, DrillRecord

    def record(rid: str, result: str, finished: str | None) -> dict[str, Any]:
        rec = DrillRecord(rid, "2026-11-24T03:00:00+00:00", "h", "u", 1, {}, {}, result=result)
        rec.finished, rec.total_seconds, rec.rpo_seconds = finished, 12.5, 3.0
        return rec.to_doc()

    repo.put_manifest(KIND, "d1", record("d1", "passed", "2026-11-24T03:05:00+00:00"))
    repo.put_manifest(KIND, "d2", record("d2", "running", None))
    repo.put_manifest(KIND, "d3", {"result": "failed"})  # no start, host...: not a record
    handle = RepoHandle(lambda: Repository.open(repo.backend, PASS))
    facts = RepoCollector(handle, JobHistory(None), "mem://x").collect()
    assert facts.up, facts.error
    (d1,) = facts.drills
    assert (d1.id, d1.passed, d1.status, d1.seconds, d1.rpo_s) == ("d1", True, "passed", 12.5, 3.0)
    assert d1.time == datetime(2026, 11, 24, 3, 5, tzinfo=UTC)
