"""An RDS drill end to end (issue 17): moto's RDS API over real HTTP answers the restore,
and the instance it reports is backed by a real throw-away PostgreSQL cluster that pgdr
restored from a backup of the source — the test seam PGDR_TEST_RDS_ENDPOINT_MAP maps the
drill instance's endpoint to it (docs/design.md §8d), so the same checks run for real. The
drill instance is deleted in moto on success, on a failed check, on SIGTERM and, after
SIGKILL, by the next cleanup; an untagged instance is never touched. moto ignores the
RestoreTime it is given, so the request moto recorded is where the test reads it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pgdr.backup.run import take_backup
from pgdr.demo import reference_db
from pgdr.drill import rds_plan, record
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import free_port
from pgdr.restore.commands import default_restore_command
from pgdr.restore.plan import Target
from pgdr.restore.run import restore
from tests.fixtures.moto_recording import RecordingMoto, recording_moto
from tests.fixtures.moto_server import REGION
from tests.fixtures.pg import FAST_SETTINGS
from tests.fixtures.pgdr_run import pgdr
from tests.fixtures.restore import wait_promoted
from tests.pg.archiving import _archive_setup
from tests.pg.drilling import archiving_settings, open_repo, switch_and_wait
from tests.pg.rds_drilling import SOURCE, drill_env, rds_api, rds_drill, rds_provider

pytestmark = [pytest.mark.pg, pytest.mark.slow]

UNTAGGED = "pgdr-drill-not-ours"  # looks like a drill's, carries no pgdr-drill tag
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rds(pg_bindir: Path, pg_base_dir: Path) -> Iterator[dict[str, Any]]:
    setup = _archive_setup(pg_base_dir)
    base = Path(setup["root"])
    src = Cluster.create(
        base / "src", bindir=pg_bindir, settings={**FAST_SETTINGS, **archiving_settings(setup)}
    )
    backing: Cluster | None = None
    saved = os.environ.get(rds_plan.ENDPOINT_MAP_ENV)
    with recording_moto(base / "moto") as moto:
        try:
            api = rds_api(moto.url)
            api.create_db_instance(
                DBInstanceIdentifier=SOURCE,
                Engine="postgres",
                DBInstanceClass="db.t3.micro",
                MasterUsername="postgres",
                MasterUserPassword="drill-password",
                AllocatedStorage=20,
                BackupRetentionPeriod=35,
                DeletionProtection=True,
                Tags=[{"Key": "team", "Value": "recalls"}],
            )
            api.create_db_instance(
                DBInstanceIdentifier=UNTAGGED,
                Engine="postgres",
                DBInstanceClass="db.t3.micro",
                MasterUsername="postgres",
                MasterUserPassword="drill-password",
                AllocatedStorage=20,
            )
            src.start()
            with src.connect() as conn:
                reference_db.load(conn, scale=0.01)
            take_backup(open_repo(setup), src.conninfo(), label="rds-source")
            switch_and_wait(src)
            # what RDS would restore: pgdr restores the backup into a local cluster
            dest = base / "backing"
            restore(
                open_repo(setup),
                dest,
                target=Target("latest"),
                restore_command=default_restore_command(setup["cfg"], None),
                archive=True,
            )
            backing = Cluster.attach(
                dest, port=free_port(), bindir=pg_bindir, settings={"archive_mode": "off"}
            )
            backing.start()
            wait_promoted(backing)
            seam = {
                "pgdr-drill-*.rds.amazonaws.com:5432": (
                    f"host={backing.socket_dir} port={backing.port} sslmode=disable"
                )
            }
            os.environ[rds_plan.ENDPOINT_MAP_ENV] = json.dumps(seam)
            yield {
                "setup": setup,
                "src": src,
                "backing": backing,
                "moto": moto,
                "api": api,
                "base": base,
            }
        finally:
            if saved is None:
                os.environ.pop(rds_plan.ENDPOINT_MAP_ENV, None)
            else:
                os.environ[rds_plan.ENDPOINT_MAP_ENV] = saved
            if backing is not None:
                backing.destroy()
            src.destroy()


def _drill(rds: dict[str, Any], **request: Any) -> record.DrillRecord:
    return rds_drill(
        rds["setup"],
        rds["moto"].url,
        rds["src"].conninfo(),
        str(rds["base"] / "state"),
        **request,
    )


def _instances(rds: dict[str, Any]) -> set[str]:
    return {i["DBInstanceIdentifier"] for i in rds["api"].describe_db_instances()["DBInstances"]}


def _restore_call(moto: RecordingMoto, ident: str) -> dict[str, str]:
    (call,) = [
        c
        for c in moto.calls("RestoreDBInstanceToPointInTime")
        if c["TargetDBInstanceIdentifier"] == ident
    ]
    return call


def _deleted(moto: RecordingMoto, ident: str) -> bool:
    return any(
        c["DBInstanceIdentifier"] == ident and c.get("SkipFinalSnapshot") == "true"
        for c in moto.calls("DeleteDBInstance")
    )


def test_rds_drill_passes_to_the_time_asked_and_deletes_its_instance(rds: dict[str, Any]) -> None:
    when = (datetime.now(UTC) - timedelta(seconds=1)).replace(microsecond=0)
    rec = _drill(rds, target=when.isoformat())
    bad = [(c.name, c.detail) for c in rec.checks if c.status == "fail"]
    assert rec.error is None, rec.error
    assert rec.result in ("passed", "warning") and not bad, bad
    names = {c.name for c in rec.checks}
    assert {"connectivity", "tables", "rows", "orphans", "indexes", "constraints"} <= names
    assert "amcheck" in names
    rows = {t["name"]: t["rows"] for t in rec.data["postgres"]["tables"]}
    assert rows["public.recalls"] and rows["public.users"]
    # the exact RestoreTime pgdr asked for, from the request moto recorded
    ident = rec.sandbox["instance"]
    call = _restore_call(rds["moto"], ident)
    assert datetime.fromisoformat(call["RestoreTime"].replace("Z", "+00:00")) == when
    assert "UseLatestRestorableTime" not in call
    assert call["SourceDBInstanceIdentifier"] == SOURCE
    assert rec.target == {
        "kind": "time",
        "value": when.isoformat(),
        "reference_time": when.isoformat(),
    }
    # deleted, without a final snapshot; the untagged look-alike untouched
    assert rec.sandbox["removed"] is True and _deleted(rds["moto"], ident)
    assert ident not in _instances(rds) and UNTAGGED in _instances(rds)
    # steps timed; the baseline and cleanup are not part of the RTO
    steps = [s.name for s in rec.steps]
    assert steps == [
        "baseline",
        "instance creation",
        "connectivity",
        "validation",
        "integrity",
        "cleanup",
    ]
    outside = sum(s.seconds for s in rec.steps if s.name in ("baseline", "cleanup"))
    assert rec.rto_seconds == pytest.approx(rec.total_seconds - outside, abs=0.01)
    # stored like every drill record
    stored = record.load(open_repo(rds["setup"]), rec.id)
    assert stored.sandbox["provider"] == "rds" and stored.result == rec.result
    _iam_policy_is_exactly_the_calls_made(rds["moto"])


#: Permissions AWS checks on a drill's behalf (no call of their own to record), with why.
IMPLIED = {
    "rds:AddTagsToResource": "RestoreDBInstanceToPointInTime passes Tags: tagging on create "
    "is authorized separately (and --keep tags the instance)",
}


def _iam_policy_is_exactly_the_calls_made(moto: RecordingMoto) -> None:
    """The Terraform module's drill policy allows every RDS call this drill made (as moto
    recorded them, the test's own calls left out), and nothing more."""
    from tests.fixtures.terraform import load_module, policy_actions

    made = {f"rds:{c['Action']}" for c in moto.calls(pgdr_only=True)}
    allowed = policy_actions(load_module(), "pgdr_drill")
    assert allowed == made | set(IMPLIED), {
        "allowed but never called": sorted(allowed - made - set(IMPLIED)),
        "called but not allowed": sorted(made - allowed),
    }
    assert not made & set(IMPLIED)


def test_deleted_row_behind_a_foreign_key_fails_exactly_the_orphans_check(
    rds: dict[str, Any],
) -> None:
    backing: Cluster = rds["backing"]
    with backing.connect() as conn:
        conn.execute(
            "CREATE TABLE saved_user AS SELECT * FROM users WHERE id = (SELECT min(user_id) FROM family_members)"
        )
        conn.execute("SET session_replication_role = replica")
        conn.execute("DELETE FROM users WHERE id IN (SELECT id FROM saved_user)")
    try:
        rec = _drill(rds, target="latest")
    finally:
        with backing.connect() as conn:
            conn.execute("SET session_replication_role = replica")
            conn.execute("INSERT INTO users SELECT * FROM saved_user")
            conn.execute("DROP TABLE saved_user")
    failed = {c.name for c in rec.checks if c.status == "fail"}
    assert rec.error is None, rec.error
    assert failed == {"orphans"}, [(c.name, c.detail) for c in rec.checks if c.status != "pass"]
    assert rec.result == "failed" and "orphans" in rec.message
    ident = rec.sandbox["instance"]
    call = _restore_call(rds["moto"], ident)
    assert call.get("UseLatestRestorableTime") == "true" and "RestoreTime" not in call
    assert rec.sandbox["removed"] is True and _deleted(rds["moto"], ident)
    assert ident not in _instances(rds)


def test_the_daemons_rds_drill_job_runs_one_and_records_it(rds: dict[str, Any]) -> None:
    from pgdr.daemon.jobs import REGISTRY, DrillDeps, JobContext, JobDeps
    from pgdr.drill.settings import DrillSettings

    settings = DrillSettings(state_dir=rds["base"] / "state", amcheck=False)
    env = drill_env(rds["src"].conninfo())
    deps = JobDeps(
        drill=DrillDeps(settings, env, lambda: rds_provider(rds["moto"].url, env, settings))
    )
    ctx = JobContext("rds_drill", datetime.now(UTC), lambda: open_repo(rds["setup"]), "", deps=deps)
    out = REGISTRY["rds_drill"].run(ctx)
    assert out["result"] in ("passed", "warning") and out["rto_seconds"] > 0
    rec = record.load(open_repo(rds["setup"]), out["drill_id"])
    assert rec.sandbox["provider"] == "rds" and rec.sandbox["removed"] is True
    assert rec.sandbox["instance"] not in _instances(rds)


def _child(rds: dict[str, Any]) -> subprocess.Popen[bytes]:
    """`pgdr drill --rds` as a user runs it, with a custom assertion that sleeps: it stays in
    validation until the test signals it."""
    src: Cluster = rds["src"]
    setup = rds["setup"]
    cfg = rds["base"] / "rds.toml"
    cfg.write_text(
        f'[repositories.main]\nurl = "{setup["url"]}"\nkey_file = "{setup["key"]}"\n'
        f'[postgres]\nhost = "{src.socket_dir}"\nport = {src.port}\nuser = "postgres"\n'
        f'[drill]\nstate_dir = "{rds["base"] / "state"}"\n'
        "[[drill.databases.postgres.assertions]]\n"
        'name = "hang"\nsql = "SELECT pg_sleep(600) IS NOT NULL"\n'
        f'[rds]\ninstance = "{SOURCE}"\nregion = "{REGION}"\n'
        f'endpoint_url = "{rds["moto"].url}"\n'
        '[rds.drill]\npassword = "env:PGDR_TEST_RDS_PASSWORD"\n'
    )
    return subprocess.Popen(
        [sys.executable, "-m", "pgdr", "--config", str(cfg), "drill", "--rds"],
        cwd=ROOT,
        env={**os.environ, "PGDR_TEST_RDS_PASSWORD": "drill-password"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_hanging(rds: dict[str, Any], child: subprocess.Popen[bytes]) -> str:
    """Until the child's drill instance exists in moto and its validation sleeps in the
    backing cluster (so a signal lands mid-drill, whatever the machine's load)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        ours = [i for i in _instances(rds) if i.startswith("pgdr-drill-2")]
        sleeping = rds["backing"].sql(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(600)%'"
        )[0][0]
        if len(ours) == 1 and sleeping:
            return ours[0]
        time.sleep(0.2)
    raise AssertionError("the child drill never reached its hanging assertion")


def _stop(rds: dict[str, Any], child: subprocess.Popen[bytes]) -> None:
    """The child is gone, and so is its sleeping query (it would sleep on otherwise)."""
    if child.poll() is None:
        child.kill()
        child.wait(30)
    rds["backing"].sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE query LIKE 'SELECT pg_sleep(600)%' AND pid <> pg_backend_pid()"
    )


def test_sigterm_deletes_the_instance_and_records_the_drill(rds: dict[str, Any]) -> None:
    child = _child(rds)
    try:
        ident = _wait_hanging(rds, child)
        child.send_signal(signal.SIGTERM)
        assert child.wait(120) == 130
    finally:
        _stop(rds, child)
    assert ident not in _instances(rds) and _deleted(rds["moto"], ident)
    rec = record.load(open_repo(rds["setup"]), "latest")
    assert rec.sandbox["instance"] == ident and rec.error and rec.error["kind"] == "interrupted"


def test_sigkilled_drill_instance_is_removed_by_cleanup_never_an_untagged_one(
    rds: dict[str, Any],
) -> None:
    child = _child(rds)
    try:
        ident = _wait_hanging(rds, child)
        child.kill()
        child.wait(30)
    finally:
        _stop(rds, child)
    assert ident in _instances(rds)  # nobody deleted it
    done = pgdr("--config", rds["base"] / "rds.toml", "drill", "cleanup", "--rds", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"removed": [ident]}
    assert ident not in _instances(rds) and _deleted(rds["moto"], ident)
    assert UNTAGGED in _instances(rds) and SOURCE in _instances(rds)
