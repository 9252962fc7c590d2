"""The RDS instance provider: a point-in-time restore of an Amazon RDS for PostgreSQL
instance into an ephemeral, tagged drill instance (docs/design.md §8d, "RDS drills").

Steps: ``baseline`` (a catalog snapshot of the source over a normal connection — the rows,
indexes and constraints the restore is checked against; not part of the RTO), ``instance
creation`` (RestoreDBInstanceToPointInTime until the instance is ``available``), then the
engine's connectivity and validation, ``integrity`` (pg_amcheck over the connection, where
the amcheck extension is allowed), and ``cleanup``: DeleteDBInstance with SkipFinalSnapshot
— on success, failure, Ctrl-C and SIGTERM. Instances tagged as pgdr drills whose drill is
dead are removed by the next drill and by `pgdr drill cleanup --rds`; an untagged instance
never. The RDS API is given as one callable (the CLI passes ``pgdr.rds.client``'s, which
turns AWS failures into exit codes 100-105), so the drill imports nothing of ``pgdr.rds``;
it calls only the RDS actions named in ``ACTIONS``."""

from __future__ import annotations

import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgdr.catalog.take import take_snapshot
from pgdr.drill import rds_plan, validate
from pgdr.drill.provider import Instance
from pgdr.drill.record import DrillRecord
from pgdr.drill.state import process_start
from pgdr.drill.steps import StepClock
from pgdr.drill.verdicts import judge_amcheck
from pgdr.errors import AwsNotFound, ConfigError, DrillAborted, PgdrError, PostgresError
from pgdr.pg.binaries import find_bindir, server_env, tool
from pgdr.pg.connect import connect

#: Every RDS call an RDS drill makes (the Terraform module's IAM policy lists them).
ACTIONS = (
    "DescribeDBInstances",
    "DescribeDBInstanceAutomatedBackups",
    "RestoreDBInstanceToPointInTime",
    "DeleteDBInstance",
    "ModifyDBInstance",  # only to lift deletion protection a restore copied from the source
    "AddTagsToResource",  # --keep only
)


#: One RDS API call in the instance's region: ``rds("DescribeDBInstances", **params)``,
#: AWS failures raised as pgdr's AwsError family (the CLI gives ``pgdr.rds.client``'s).
RdsCall = Callable[..., dict[str, Any]]


@dataclass
class RdsDrillTarget:
    """What the drill restores and how it logs in (from ``[rds]`` / ``[rds.drill]``)."""

    source: str  # the source DB instance identifier
    instance_class: str = "db.t4g.micro"
    subnet_group: str | None = None
    security_groups: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    user: str = "postgres"
    dbname: str = "postgres"
    #: The restored instance's master password (the source's), resolved when needed.
    password: Callable[[], str | None] = lambda: None
    #: Seconds between DescribeDBInstances polls while waiting for ``available``.
    poll_s: float = 15.0
    #: libpq sslmode for the restored instance (RDS speaks TLS).
    sslmode: str = "require"


def _call(rds: RdsCall, operation: str, *, missing_ok: bool = False, **params: Any) -> Any:
    """One RDS call; ``missing_ok``: no such DB instance answers None."""
    try:
        return rds(operation, **params)
    except AwsNotFound:
        if missing_ok:
            return None
        raise


def owner_tag(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{process_start(pid)}"


def _describe(rds: RdsCall, ident: str) -> dict[str, Any] | None:
    got = _call(rds, "DescribeDBInstances", missing_ok=True, DBInstanceIdentifier=ident)
    found = got["DBInstances"] if got else []
    return found[0] if found else None


def _all_instances(rds: RdsCall) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    marker: str | None = None
    while True:
        page = rds("DescribeDBInstances", **({"Marker": marker} if marker else {}))
        out += page.get("DBInstances", [])
        marker = page.get("Marker")
        if not marker:
            return out


def leftovers(rds: RdsCall, *, include_kept: bool = False) -> list[str]:
    """Delete every instance tagged as a pgdr drill whose drill is dead (or kept, with
    ``include_kept``); returns their ids. An untagged instance is never touched."""
    here, now = socket.gethostname(), datetime.now(UTC)
    removed = []
    for inst in _all_instances(rds):
        tags = rds_plan.tag_map(inst.get("TagList"))  # DescribeDBInstances carries them
        if rds_plan.DRILL_TAG not in tags:
            continue
        parts = tags.get(rds_plan.OWNER_TAG, "").rsplit(":", 2)
        alive = {}
        if len(parts) == 3 and parts[1].isdigit():
            alive[(int(parts[1]), parts[2])] = process_start(int(parts[1])) == parts[2] != ""
        created = inst.get("InstanceCreateTime")
        if not rds_plan.is_leftover(tags, here, alive, created, now, include_kept=include_kept):
            continue
        if inst.get("DBInstanceStatus") != "deleting":
            _delete(rds, inst["DBInstanceIdentifier"])
        removed.append(str(inst["DBInstanceIdentifier"]))
    return removed


def _delete(rds: RdsCall, ident: str) -> None:
    """Delete without a final snapshot (no such instance: nothing to do)."""
    _call(
        rds,
        "DeleteDBInstance",
        missing_ok=True,
        DBInstanceIdentifier=ident,
        SkipFinalSnapshot=True,
        DeleteAutomatedBackups=True,
    )


def restorable_window(rds: RdsCall, source: dict[str, Any]) -> tuple[datetime, datetime]:
    """[earliest, latest] restorable time of the source: the automated backups' RestoreWindow
    where the API gives it, else retention days before LatestRestorableTime (not before the
    instance was created)."""
    latest = source.get("LatestRestorableTime")
    if latest is None:
        raise ConfigError(
            f"RDS instance {source['DBInstanceIdentifier']} has no LatestRestorableTime: "
            "automated backups are off (BackupRetentionPeriod 0)"
        )
    ident = source["DBInstanceIdentifier"]
    got = rds("DescribeDBInstanceAutomatedBackups", DBInstanceIdentifier=ident)
    windows = [b.get("RestoreWindow", {}) for b in got.get("DBInstanceAutomatedBackups", [])]
    earliest = min((w["EarliestTime"] for w in windows if w.get("EarliestTime")), default=None)
    if earliest is None:
        earliest = latest - timedelta(days=int(source.get("BackupRetentionPeriod") or 0))
        created = source.get("InstanceCreateTime")
        if created is not None:
            earliest = max(earliest, created)
    return earliest, latest


class RdsProvider:
    kind = "rds"
    rto_excludes: tuple[str, ...] = ("baseline", "cleanup")

    def __init__(
        self,
        rds: RdsCall,
        target: RdsDrillTarget,
        request_target: str,
        seed: int | None,
        production: Callable[[str], str] | None,
        settings_amcheck: bool,
        start_timeout_s: float,
        say: Callable[[str], None] = lambda _t: None,
    ) -> None:
        self.rds, self.t, self.request_target, self.seed = rds, target, request_target, seed
        self.production, self.amcheck = production, settings_amcheck
        self.timeout, self.say = start_timeout_s, say
        self.ident: str | None = None
        self.conninfo_base: dict[str, Any] = {}

    def reap(self) -> list[str]:
        return leftovers(self.rds)

    def bring_up(self, rec: DrillRecord, clock: StepClock) -> Instance:
        t = self.t
        with clock.step("baseline"):
            if self.production is None:
                raise ConfigError("an RDS drill needs [postgres] to reach the source instance")
            src = _describe(self.rds, t.source)
            if src is None:
                raise ConfigError(f"[rds] instance {t.source!r}: no such DB instance")
            earliest, latest = restorable_window(self.rds, src)
            point = rds_plan.restore_point(
                self.request_target,
                earliest,
                latest,
                datetime.fromisoformat(rec.started),
                random.Random(self.seed),
            )
            self.say(f"baseline: catalog snapshot of {t.source} over {t.dbname}")
            with connect(self.production(t.dbname)) as conn:
                catalog = take_snapshot(conn)
            rec.backup = {
                "id": f"rds:{t.source}",
                "label": "point-in-time restore",
                "type": "rds",
                "start_time": earliest.isoformat(),
                "stop_time": latest.isoformat(),
                "timeline": None,
                "baseline_time": datetime.now(UTC).isoformat(),
            }
            rec.target = {
                "kind": "latest" if point.latest else "time",
                "value": "latest" if point.time is None else point.time.isoformat(),
                "reference_time": point.reference.isoformat(),
            }
        with clock.step("instance creation"):
            self.ident = ident = rds_plan.instance_id(rec.id)
            rec.sandbox = {"provider": self.kind, "instance": ident, "source": t.source}
            self.say(f"restoring {t.source} to {point.describe} as {ident}")
            kwargs: dict[str, Any] = {
                "SourceDBInstanceIdentifier": t.source,
                "TargetDBInstanceIdentifier": ident,
                "DBInstanceClass": t.instance_class,
                "Tags": rds_plan.drill_tags(rec.id, owner_tag(), point, t.tags),
                "PubliclyAccessible": False,
                "MultiAZ": False,
                "DeletionProtection": False,
                "CopyTagsToSnapshot": False,
            }
            if point.time is None:
                kwargs["UseLatestRestorableTime"] = True
            else:
                kwargs["RestoreTime"] = point.time
            if t.subnet_group:
                kwargs["DBSubnetGroupName"] = t.subnet_group
            if t.security_groups:
                kwargs["VpcSecurityGroupIds"] = list(t.security_groups)
            self.rds("RestoreDBInstanceToPointInTime", **kwargs)
            inst = self._wait_available(ident)
            if inst.get("DeletionProtection"):  # inherited (some APIs copy it): must go
                self.rds(
                    "ModifyDBInstance",
                    DBInstanceIdentifier=ident,
                    DeletionProtection=False,
                    ApplyImmediately=True,
                )
            address, port = inst["Endpoint"]["Address"], int(inst["Endpoint"]["Port"])
            rec.sandbox["endpoint"] = f"{address}:{port}"
        self.conninfo_base = self._connection(address, port)
        return Instance(
            conninfo=lambda db: make_conninfo(**{**self.conninfo_base, "dbname": db}),
            catalog=catalog,
            reference=point.reference,
            floor=point.time,
            default_database=catalog.database or t.dbname,
        )

    def _wait_available(self, ident: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            inst = _describe(self.rds, ident)
            status = inst.get("DBInstanceStatus") if inst else None
            if inst is not None and status == "available" and inst.get("Endpoint"):
                return inst
            if status in ("failed", "incompatible-restore", "incompatible-parameters"):
                raise DrillAborted(f"RDS drill instance {ident} is {status}")
            if time.monotonic() > deadline:
                raise DrillAborted(
                    f"RDS drill instance {ident} not available after {self.timeout:g} s "
                    f"(status {status or 'unknown'})"
                )
            time.sleep(self.t.poll_s)

    def _connection(self, address: str, port: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "host": address,
            "port": str(port),
            "user": self.t.user,
            "sslmode": self.t.sslmode,
            "application_name": "pgdr drill",
        }
        password = self.t.password()
        if password:
            params["password"] = password
        seam = rds_plan.endpoint_map(os.environ.get(rds_plan.ENDPOINT_MAP_ENV))
        mapped = rds_plan.mapped(seam, f"{address}:{port}")
        if mapped is not None:  # test-only (docs/design.md §8d): the endpoint is a local cluster
            try:
                params.update(conninfo_to_dict(mapped))
            except Exception:
                raise ConfigError(f"{rds_plan.ENDPOINT_MAP_ENV}: bad conninfo") from None
        return params

    def integrity(self, rec: DrillRecord, clock: StepClock) -> None:
        if not self.amcheck:
            return
        with clock.step("integrity"):
            self.say("integrity: pg_amcheck over the connection")
            rec.checks += validate.guarded("amcheck", "*", self._amcheck)

    def _amcheck(self) -> Any:
        """pg_amcheck --all over the connection (RDS allows the amcheck extension); the
        password goes through the environment, never the command line."""
        import subprocess

        params = {k: v for k, v in self.conninfo_base.items() if k != "password"}
        env = server_env()
        if self.conninfo_base.get("password"):
            env["PGPASSWORD"] = str(self.conninfo_base["password"])
        maint = make_conninfo(**{**params, "dbname": self.t.dbname})
        with connect(maint) as conn:
            row = conn.execute("SELECT count(*) FROM pg_database WHERE datallowconn").fetchone()
        try:
            r = subprocess.run(
                [
                    str(tool(find_bindir(), "pg_amcheck")),
                    "--maintenance-db",
                    maint,
                    "--all",
                    "--install-missing",
                    "--heapallindexed",
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=3600,
                check=False,
            )
        except OSError as e:
            raise PostgresError(f"pg_amcheck could not run: {e}") from None
        return judge_amcheck(r.returncode, r.stdout + r.stderr, int(row[0]) if row else 0)

    def teardown(self, rec: DrillRecord, keep: bool) -> None:
        ident = self.ident
        if ident is None:
            return
        if keep:
            arn = (_describe(self.rds, ident) or {}).get("DBInstanceArn")
            if arn:
                self.rds(
                    "AddTagsToResource",
                    ResourceName=arn,
                    Tags=[{"Key": rds_plan.KEPT_TAG, "Value": "true"}],
                )
            rec.sandbox["kept"] = True
            return
        try:
            _delete(self.rds, ident)  # also when the restore call failed: nothing to delete
            rec.sandbox["removed"] = True
        except PgdrError as e:  # recorded; the next drill or `cleanup --rds` retries
            rec.sandbox["removed"] = False
            rec.sandbox["cleanup_error"] = e.message
