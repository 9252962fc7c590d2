"""Game days: the recovery scenarios rehearsed end to end in a sandbox, never on production.
Each checks its preconditions, then runs the recovery it implies (a drill: a restore into a
sandbox, validated and timed); the outcome is recorded like a drill (manifests/gameday/<id>)
and feeds the runbook's figures. A broken precondition fails naming the cause, with the
exit code of its scenario (docs/design.md §8n)."""

from __future__ import annotations

import getpass
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from pgdr.drill.record import DrillRecord, new_drill_id
from pgdr.errors import (
    GamedayFailed,
    ObjectLocked,
    ObjectLockOff,
    PgdrError,
    RecoveryKeyUnreachable,
    ReplicaNotRestorable,
)
from pgdr.evidence.gameday_checks import lock_setting_problem, replica_problem, retention_problem
from pgdr.evidence.records import GAMEDAY_KIND
from pgdr.repo.repository import Repository
from pgdr.storage.base import Backend


@dataclass
class GamedayStep:
    name: str
    seconds: float
    ok: bool
    detail: str = ""


@dataclass
class GamedayRecord:
    id: str
    scenario: str
    started: str
    host: str
    user: str
    repository: str
    finished: str | None = None
    result: str = "running"  # passed | failed
    cause: str = ""
    exit_code: int = 0
    steps: list[GamedayStep] = field(default_factory=list)
    drill: str | None = None  # the drill record of the recovery (in the repository it used)
    rto_seconds: float | None = None
    rpo_seconds: float | None = None

    def render_text(self, console: Console) -> None:
        console.print(f"game day {self.scenario}: [bold]{self.result.upper()}[/] ({self.id})")
        for s in self.steps:
            mark = "ok  " if s.ok else "FAIL"
            console.print(f"  {mark} {s.name:<28} {s.seconds:7.2f} s  {s.detail}", markup=False)
        if self.rto_seconds is not None:
            rpo = "-" if self.rpo_seconds is None else f"{self.rpo_seconds:.1f} s"
            console.print(f"  measured RTO {self.rto_seconds:.1f} s, RPO {rpo}")
        if self.cause:
            console.print(f"  cause: {self.cause}", markup=False)


@dataclass
class GamedayEnv:
    """What a game day reaches: the primary repository (None when its key is the thing
    missing), replicas by name, a drill runner, and the settings it judges against."""

    repository: str
    url: str
    open_primary: Callable[[], Repository]
    replicas: list[str]
    replica_backend: Callable[[str], Backend]
    open_replica: Callable[[str], Repository]
    drill: Callable[[Repository, str], DrillRecord]  # (repo, target) -> record
    check_key: Callable[[], str | None]  # the key-material problem, None when reachable
    window: timedelta
    lock_mode: str | None
    lock_days: float | None
    max_lag_s: float
    now: Callable[[], datetime] = lambda: datetime.now(UTC)


class _Run:
    def __init__(self, scenario: str, env: GamedayEnv) -> None:
        started = env.now()
        self.env = env
        self.rec = GamedayRecord(
            id=new_drill_id(started),
            scenario=scenario,
            started=started.isoformat(),
            host=socket.gethostname(),
            user=getpass.getuser(),
            repository=env.url,
        )

    def step(self, name: str, fn: Callable[[], str]) -> None:
        t0 = time.monotonic()
        try:
            detail = fn()
        except GamedayFailed as e:
            self.rec.steps.append(GamedayStep(name, time.monotonic() - t0, False, e.message))
            raise
        self.rec.steps.append(GamedayStep(name, time.monotonic() - t0, True, detail))

    def recover(self, repo: Repository, target: str) -> str:
        d = self.env.drill(repo, target)
        self.rec.drill = d.id
        self.rec.rto_seconds, self.rec.rpo_seconds = d.total_seconds, d.rpo_seconds
        if d.result not in ("passed", "warning"):
            raise GamedayFailed(f"the recovery drill {d.id} {d.result}: {d.message}")
        return f"drill {d.id} {d.result} in {d.total_seconds:.1f} s"


def _region_failure(run: _Run) -> None:
    env = run.env
    chosen: dict[str, str] = {}

    def precondition() -> str:
        if not env.replicas:
            raise ReplicaNotRestorable(f"repository {env.repository} has no replica (replicate_to)")
        name = env.replicas[0]
        source = list(env.open_primary().backend.list())
        why = replica_problem(
            name, source, list(env.replica_backend(name).list()), env.now(), env.max_lag_s
        )
        if why:
            raise ReplicaNotRestorable(why)
        chosen["name"] = name
        return f"replica {name} holds the newest backup and is within {env.max_lag_s:g} s"

    def recover() -> str:
        try:
            replica = env.open_replica(chosen["name"])
        except PgdrError as e:
            raise ReplicaNotRestorable(
                f"replica {chosen['name']} cannot be opened: {e.message}"
            ) from None
        return run.recover(replica, "latest")

    run.step("replica present and fresh", precondition)
    run.step("restore from the replica alone", recover)


def _malicious_deletion(run: _Run) -> None:
    env = run.env
    repo = env.open_primary()
    target: dict[str, Any] = {}

    def setting() -> str:
        why = lock_setting_problem(
            env.repository, env.url, env.lock_mode, env.lock_days, env.window
        )
        if why:
            raise ObjectLockOff(why)
        return f"{env.lock_mode}, {env.lock_days:g} days"

    def retained() -> str:
        backups = sorted(repo.list_manifests("backup"))
        if not backups:
            raise GamedayFailed("no backup in the repository to protect")
        key = f"manifests/backup/{backups[-1]}"
        info = repo.backend.stat(key)
        until = repo.backend.retained_until(key)  # type: ignore[attr-defined]
        why = retention_problem(key, info.modified if info else None, until, env.now(), env.window)
        if why:
            raise ObjectLockOff(why)
        target["key"] = key
        return f"{key} locked until {until.isoformat()}"

    def refused() -> str:
        try:
            repo.backend.delete(target["key"])
        except ObjectLocked:
            return f"delete of {target['key']} refused by Object Lock"
        raise ObjectLockOff(
            f"a delete of {target['key']} went through: Object Lock is not enforced"
        )

    run.step("Object Lock configured", setting)
    run.step("newest backup locked", retained)
    run.step("attacker's delete refused", refused)


def _complete_loss(run: _Run) -> None:
    env = run.env
    opened: dict[str, Repository] = {}

    def key() -> str:
        why = env.check_key()
        if why:
            raise RecoveryKeyUnreachable(why)
        try:
            opened["repo"] = env.open_primary()
        except PgdrError as e:
            raise RecoveryKeyUnreachable(
                f"the key does not open repository {env.repository}: {e.message}"
            ) from None
        return "the key opens the repository"

    run.step("key material reachable", key)
    run.step("new server from repository + key", lambda: run.recover(opened["repo"], "latest"))


def _point_in_time(run: _Run) -> None:
    opened: dict[str, Repository] = {}

    def backups() -> str:
        opened["repo"] = run.env.open_primary()
        if not opened["repo"].list_manifests("backup"):
            raise GamedayFailed(f"no backup in repository {run.env.repository}")
        return "a backup and its WAL are in the window"

    run.step("backup in the window", backups)
    run.step("point-in-time restore", lambda: run.recover(opened["repo"], "random"))


PLAYS: dict[str, Callable[[_Run], None]] = {
    "region-failure": _region_failure,
    "malicious-deletion": _malicious_deletion,
    "complete-loss": _complete_loss,
    "corruption": _point_in_time,
    "accidental-deletion": _point_in_time,
}


def run_gameday(scenario: str, env: GamedayEnv) -> tuple[GamedayRecord, GamedayFailed | None]:
    """Run one game day; the record is stored in the primary when it can be opened."""
    run = _Run(scenario, env)
    err: GamedayFailed | None = None
    try:
        PLAYS[scenario](run)
        run.rec.result = "passed"
    except GamedayFailed as e:
        err = e
        run.rec.result, run.rec.cause, run.rec.exit_code = "failed", e.message, e.exit_code
    run.rec.finished = env.now().isoformat()
    _store(run.rec, env)
    return run.rec, err


def _store(rec: GamedayRecord, env: GamedayEnv) -> None:
    if rec.exit_code == RecoveryKeyUnreachable.exit_code:
        return  # the key is the missing piece: nothing can be written
    from pgdr import audit

    repo = env.open_primary()
    doc = asdict(rec)
    repo.put_manifest(GAMEDAY_KIND, rec.id, doc)
    audit.record(
        repo,
        "gameday",
        {
            "object": f"manifests/{GAMEDAY_KIND}/{rec.id}",
            "scenario": rec.scenario,
            "outcome": rec.result,
            "cause": rec.cause,
            "drill": rec.drill,
            "rto_seconds": rec.rto_seconds,
            "pid": os.getpid(),
        },
    )
