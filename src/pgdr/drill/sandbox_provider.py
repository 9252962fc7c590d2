"""The sandbox instance provider: choose a backup and target in the repository, restore it
into a local sandbox, start it and replay WAL until promoted (steps ``fetch``, ``instance
creation``, ``wal replay``); physical integrity with pg_amcheck and pg_checksums; teardown
removes the sandbox (docs/design.md §8d)."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgdr.drill import integrity, validate
from pgdr.drill.choose import choose
from pgdr.drill.provider import Instance
from pgdr.drill.record import DrillRecord
from pgdr.drill.sandbox import Sandbox, reap, sandbox_settings
from pgdr.drill.settings import DrillSettings
from pgdr.drill.steps import StepClock
from pgdr.errors import IntegrityError, RecoveryTargetUnreachable
from pgdr.pg.cluster import Cluster
from pgdr.pg.recovery_watch import wait_for_target
from pgdr.repo.repository import Repository
from pgdr.restore.commands import hand_over_command
from pgdr.restore.run import RestoreSource, restore

if TYPE_CHECKING:
    from pgdr.drill.engine import DrillEnv, DrillRequest


def newest_wal_time(source: RestoreSource) -> datetime | None:
    """When production's newest WAL was stored: a side branch some restore archived is not
    what a drill replays (docs/design.md §8c), so its WAL does not move the latest target."""
    stored = source.wal.stored
    lineage = source.lineage()
    times = [when for t in lineage.path for when in stored.get(t, {}).values() if when is not None]
    return max(times) if times else None


class SandboxProvider:
    kind = "sandbox"
    rto_excludes: tuple[str, ...] = ()

    def __init__(
        self,
        repo: Repository,
        settings: DrillSettings,
        req: DrillRequest,
        env: DrillEnv,
        state_dir: Path,
        started: datetime,
    ) -> None:
        self.repo, self.settings, self.req, self.env = repo, settings, req, env
        self.state_dir, self.started = state_dir, started
        self.sandbox: Sandbox | None = None
        self.cluster: Cluster | None = None

    def reap(self) -> list[str]:
        return [m.base_dir for m in reap(self.state_dir)]

    def bring_up(self, rec: DrillRecord, clock: StepClock) -> Instance:
        settings, req, env = self.settings, self.req, self.env
        with clock.step("fetch"):
            source = RestoreSource.read(self.repo)  # every manifest read once, for the drill
            backups, damaged = source.backups.manifests, source.backups.damaged
            if not backups and damaged:  # damaged is not "no backups"
                bid, why = min(damaged.items())
                raise IntegrityError(f"backup {bid} cannot be drilled: {why}")
            choice = choose(
                backups,
                req.backup,
                req.target,
                newest_wal_time(source),
                self.started,
                random.Random(req.seed),
            )
            doc = next(b for b in backups if b.id == choice.backup_id)
            rec.backup = {
                "id": doc.id,
                "label": doc.label,
                "type": doc.type,
                "start_time": doc.start_time.isoformat(),
                "stop_time": doc.stop_time.isoformat(),
                "timeline": doc.timeline,
            }
            rec.target = {
                "kind": choice.target.kind,
                "value": choice.target.value,
                "reference_time": choice.reference.isoformat(),
            }
            env.say(f"restoring backup {choice.backup_id} to {choice.target.describe()}")
            sandbox = Sandbox.create(settings.sandbox_dir, self.state_dir, rec.id, env.superuser)
            self.sandbox = sandbox
            rec.sandbox = {"provider": self.kind, "dir": str(sandbox.base), "port": sandbox.port}
            restored = restore(
                self.repo,
                sandbox.data_dir,
                target=choice.target,
                restore_command=hand_over_command(),
                backup=choice.backup_id,
                place_all_wal=True,  # the sandbox gets no key: it never fetches WAL itself
                source=source,
                # production's tablespace paths (named by the manifest) are not the drill's
                tablespaces_under=sandbox.tablespaces,
            )
            rec.timeline = {
                "followed": restored.timeline,
                "backup": restored.backup_timeline,
                "production": restored.production_timeline,
                "role": restored.timeline_role,
            }
            env.say(f"following timeline {restored.timeline} ({restored.timeline_role})")
        cluster = self._recover(choice.target.describe(), rec, clock)
        rec.reached = _reached(cluster, rec.timeline.get("followed"))
        return Instance(
            conninfo=cluster.conninfo,
            catalog=doc.catalog,
            reference=choice.reference,
            floor=doc.start_time,
            default_database=doc.catalog.database or env.default_database,
        )

    def _recover(self, target: str, rec: DrillRecord, clock: StepClock) -> Cluster:
        """Start the restored copy and wait until it is promoted at ``target``.

        A random point in time is chosen between the backup's end and the time production's
        newest WAL was stored; when no transaction committed after it, PostgreSQL replays every
        archived record without meeting one past the target and stops ("recovery ended before
        configured recovery target was reached"). Nothing committed after that point is in the
        archive, so its end IS the state at that point: the drill starts again without the
        target and promotes there (the time of both tries counts in the RTO). A target the
        operator named fails as it is: they asked for that point."""
        sandbox, settings, env = self.sandbox, self.settings, self.env
        assert sandbox is not None
        conf = sandbox_settings(sandbox.base, settings.shared_buffers)
        try:
            return self._replay(conf, target, clock)
        except RecoveryTargetUnreachable:
            if self.req.target != "random":
                raise
        env.say(
            "no transaction committed after the random point reached the archive: "
            "replaying to the archive's end, which is the state at that point"
        )
        rec.target["reached"] = "archive end (no commit after the random point)"
        return self._replay({**conf, "recovery_target_time": ""}, "the archive's end", clock)

    def _replay(self, conf: dict[str, object], target: str, clock: StepClock) -> Cluster:
        sandbox, settings, env = self.sandbox, self.settings, self.env
        assert sandbox is not None
        with clock.step("instance creation"):
            cluster = sandbox.start_recovery(
                conf, settings.start_timeout_s, env.bindir, env.superuser, target
            )
        self.cluster = cluster
        with clock.step("wal replay"):
            wait_for_target(
                cluster,
                target=target,
                promoted=True,
                timeout=settings.start_timeout_s,
                log_from=sandbox.log_mark,
                poll=0.1,
            )
        return cluster

    def integrity(self, rec: DrillRecord, clock: StepClock) -> None:
        cluster, settings = self.cluster, self.settings
        assert cluster is not None
        with clock.step("integrity"):
            self.env.say("integrity: pg_amcheck, pg_checksums")
            on = integrity.checksums_enabled(cluster)
            if settings.amcheck:
                rec.checks += validate.guarded(
                    "amcheck", "*", lambda: integrity.amcheck(cluster, settings.amcheck_jobs)
                )
            cluster.stop("fast")
            if settings.checksums:
                rec.checks += validate.guarded(
                    "checksums", "*", lambda: integrity.checksums(cluster, on)
                )
            if self.req.keep:
                cluster.start()

    def teardown(self, rec: DrillRecord, keep: bool) -> None:
        sandbox = self.sandbox
        if sandbox is None:
            return
        if keep:
            sandbox.keep()
            rec.sandbox["kept"] = True
            return
        sandbox.destroy()
        rec.sandbox["removed"] = not sandbox.base.exists()


def _reached(cluster: Cluster, followed: int | None) -> dict[str, Any]:
    """The LSN replay stopped at, on the timeline it followed (the report names both)."""
    rows = cluster.sql("SELECT pg_last_wal_replay_lsn()::text")
    return {"lsn": rows[0][0] if rows else None, "timeline": followed}
