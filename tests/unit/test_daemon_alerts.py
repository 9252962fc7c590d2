"""Alert conditions from facts, and the firing/resolved state machine (pure)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from pgdr.daemon.alert_rules import RULES, AlertState, Condition, Transition, conditions, step
from pgdr.daemon.events import alert_event
from pgdr.daemon.facts import DrillFact, Facts, RdsFact, Standby, Volume
from pgdr.daemon.settings import AlertSettings
from tests.fixtures.daemon_facts import NOW, GiB, backup, facts, record

pytestmark = pytest.mark.unit
S = AlertSettings()


def active(f: Facts, s: AlertSettings = S) -> dict[str, bool | None]:
    return {c.name: c.active for c in conditions(f, s)}


def test_a_healthy_server_fires_nothing() -> None:
    got = active(facts())
    assert set(got) == set(RULES)
    assert not any(got.values()), got


@pytest.mark.parametrize(
    ("f", "name"),
    [
        (facts(repo_backups=[backup(27)]), "backup_age"),
        (facts(repo_backups=[], rds=None), "backup_age"),
        (
            facts(
                repo_backups=[backup(72, n=3), backup(48, n=2), backup(30, n=1), backup(1, 3 * GiB)]
            ),
            "backup_size",
        ),
        (
            facts(
                repo_backups=[
                    backup(72, n=3),
                    backup(48, n=2),
                    backup(30, n=1),
                    backup(1, 16 * GiB),
                ]
            ),
            "backup_size",
        ),
        (facts(repo_drills=[DrillFact("d2", NOW, False, "failed")]), "drill_failed"),
        (
            facts(volumes=[Volume("repository", "/srv", 5 * GiB, 100 * GiB)]),
            "storage_free_repository",
        ),
        (facts(volumes=[Volume("pgdata", "/pg", 9 * GiB, 100 * GiB)]), "storage_free_pgdata"),
        (facts(pg_standbys=[Standby("r1", None, "streaming", 31.0, 10)]), "replica_lag"),
        (
            facts(pg_last_failed_time=NOW, pg_last_failed_wal="000000010000000000000064"),
            "wal_archive_failing",
        ),
        (facts(pg_archive_mode="off"), "wal_archive_failing"),
        (facts(wal_lag_segments=17), "wal_archive_lag"),
        (facts(wal_lag_segments=2, wal_lag_seconds=601.0), "wal_archive_lag"),
        (facts(repo_jobs=[record("verify", "failed", "verify-failed")]), "verify_failed"),
        (facts(repo_up=False, repo_error="no such repository"), "repository_unreachable"),
        (facts(pg_up=False, pg_error="connection refused"), "postgres_down"),
    ],
)
def test_each_condition(f: Facts, name: str) -> None:
    # exactly this one: an unreachable source makes what depends on it unknown, not firing
    assert {k for k, v in active(f).items() if v} == {name}


@pytest.mark.parametrize(
    ("sizes", "fires"),
    [
        ([10, 10, 10, 10], False),
        ([10, 10, 10, 14.9], False),  # inside ±50 %
        ([10, 10, 10, 15.1], True),
        ([10, 10, 10, 4.9], True),  # a sudden drop: data lost?
        ([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 23], False),  # steady growth: median moves
        ([10, 30], False),  # too few earlier backups to judge
    ],
)
def test_size_band(sizes: list[float], fires: bool) -> None:
    bs = [backup(len(sizes) - i, int(s * GiB), n=i) for i, s in enumerate(sizes)]
    assert active(facts(repo_backups=bs))["backup_size"] is fires


def test_unknown_sources() -> None:
    got = active(facts(repo_up=False, pg_up=False, volumes=[], wal_lag_segments=None))
    assert got["repository_unreachable"] and got["postgres_down"]
    for name in (
        "backup_age",
        "backup_size",
        "drill_failed",
        "replica_lag",
        "wal_archive_failing",
        "wal_archive_lag",
        "storage_free_pgdata",
    ):
        assert got[name] is None, name


def test_archiving_recovered_after_a_failure() -> None:
    f = facts(pg_last_failed_time=NOW - timedelta(minutes=5))  # archived since
    assert active(f)["wal_archive_failing"] is False


def test_replica_lag_null_when_idle_is_not_lag() -> None:
    assert (
        active(facts(pg_standbys=[Standby("r1", None, "streaming", None, 0)]))["replica_lag"]
        is False
    )


def test_verify_that_could_not_run_is_not_damage() -> None:
    f = facts(repo_jobs=[record("verify", "failed", "internal")])
    assert active(f)["verify_failed"] is False


def test_thresholds_and_disabled_come_from_config() -> None:
    f = facts(repo_backups=[backup(2)])
    assert active(f, AlertSettings(backup_max_age_s=3600))["backup_age"] is True
    assert "backup_age" not in active(f, AlertSettings(disabled=["backup_age"]))
    low = Volume("pgdata", "/pg", 10 * GiB, 100 * GiB)
    assert (
        active(facts(volumes=[low]), AlertSettings(storage_free_min_pct=5))["storage_free_pgdata"]
        is False
    )
    assert (
        active(
            facts(volumes=[low]),
            AlertSettings(storage_free_min_pct=5, storage_free_min_bytes=20 * GiB),
        )["storage_free_pgdata"]
        is True
    )


def c(active: bool | None, name: str = "backup_age") -> list[Condition]:
    return [Condition(name, active, f"summary {active}")]


def run(seq: list[bool | None], for_s: float = 0.0) -> list[tuple[str, str]]:
    """Evaluate a sequence one second apart; return (state, transition-or-'') per step."""
    states: dict[str, AlertState] = {}
    out = []
    for i, a in enumerate(seq):
        states, ts = step(states, c(a), NOW + timedelta(seconds=i), for_s)
        out.append(
            (states["backup_age"].state if "backup_age" in states else "ok", ts[0].to if ts else "")
        )
    return out


@pytest.mark.parametrize(
    ("seq", "for_s", "expected"),
    [
        (
            [False, True, True, False, False],
            0,
            [("ok", ""), ("firing", "firing"), ("firing", ""), ("ok", "resolved"), ("ok", "")],
        ),
        # unknown keeps the state: neither re-fires nor resolves
        (
            [True, None, None, True, None, False],
            0,
            [
                ("firing", "firing"),
                ("firing", ""),
                ("firing", ""),
                ("firing", ""),
                ("firing", ""),
                ("ok", "resolved"),
            ],
        ),
        # for: must hold 2 s before firing; a blip does not fire at all
        (
            [True, False, True, True, True, False],
            2,
            [
                ("pending", ""),
                ("ok", ""),
                ("pending", ""),
                ("pending", ""),
                ("firing", "firing"),
                ("ok", "resolved"),
            ],
        ),
        ([None, None], 0, [("ok", ""), ("ok", "")]),
    ],
)
def test_state_machine(
    seq: list[bool | None], for_s: float, expected: list[tuple[str, str]]
) -> None:
    assert run(seq, for_s) == expected


def test_transition_carries_since_and_severity() -> None:
    s1, t1 = step({}, c(True), NOW, 0)
    s2, t2 = step(s1, c(False), NOW + timedelta(hours=2), 0)
    assert t1[0].to == "firing" and t1[0].severity == "critical"
    assert t2[0].to == "resolved" and t2[0].firing_since == NOW.isoformat()
    assert s2["backup_age"].state == "ok" and s2["backup_age"].since == t2[0].at


def test_postgres_down_names_the_socket_in_one_line(tmp_path: Path) -> None:
    """libpq's real text: the first line names the socket, the last is a tabbed hint."""
    with pytest.raises(psycopg.OperationalError) as exc:
        psycopg.connect(f"host={tmp_path} port=5999 dbname=postgres connect_timeout=1")
    text = str(exc.value)
    assert "\n\t" in text  # "\tIs the server running locally…" follows the cause
    f = facts(pg_up=False, pg_error=text)
    (c,) = [c for c in conditions(f, S) if c.name == "postgres_down"]
    assert c.active
    assert f'"{tmp_path}/.s.PGSQL.5999"' in c.summary and "No such file" in c.summary
    assert "\t" not in c.summary and "\n" not in c.summary and "Is the server" not in c.summary
    event = alert_event(Transition(c.name, "firing", c.summary, NOW.isoformat()), host="db1")
    assert event.title.startswith("[FIRING] pgdr postgres_down on db1: ")
    assert f"{tmp_path}/.s.PGSQL.5999" in event.title and "\t" not in event.title
    assert "\t" not in event.text


def test_a_multi_line_repository_error_is_one_line() -> None:
    f = facts(repo_up=False, repo_error="cannot read s3://b/p:\n\tconnection refused\n")
    (c,) = [c for c in conditions(f, S) if c.name == "repository_unreachable"]
    assert c.summary == "cannot read s3://b/p:"


def test_a_multi_line_verify_error_is_one_line() -> None:
    from dataclasses import replace

    rec = replace(
        record("verify", "failed", "verify-failed"),
        error="verify found damage: data/ab/abcd: missing\n\tand 3 more",
    )
    (c,) = [c for c in conditions(facts(repo_jobs=[rec]), S) if c.name == "verify_failed"]
    assert c.active and c.summary == "verify found damage: data/ab/abcd: missing"


def _rds(**kw: object) -> RdsFact:
    base = {"instance": "db1", "up": True, "latest_restorable": NOW - timedelta(seconds=200)}
    return RdsFact(**{**base, "retention_days": 35, "policy_days": 35, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rds", "rpo", "retention"),
    [
        (None, False, False),  # not in RDS mode: neither can fire
        (_rds(), False, False),
        (_rds(latest_restorable=NOW - timedelta(seconds=601)), True, False),
        (_rds(latest_restorable=NOW - timedelta(seconds=599)), False, False),
        (_rds(latest_restorable=NOW + timedelta(seconds=1)), False, False),  # clock skew
        (_rds(latest_restorable=None, retention_days=0), True, True),  # backups off
        (_rds(retention_days=7), False, True),
        (_rds(up=False, error="rds DescribeDBInstances: throttled\nmore"), None, None),
    ],
)
def test_rds_alerts(rds: RdsFact | None, rpo: bool | None, retention: bool | None) -> None:
    got = active(facts(rds=rds))
    assert (got["rds_rpo"], got["rds_retention"]) == (rpo, retention)


def test_an_empty_repository_is_normal_in_rds_mode() -> None:
    """AWS takes an RDS instance's backups: no pgdr backup is not an outage there (rds_rpo
    says whether the instance is protected); outside RDS mode it stays critical."""
    by_name = {c.name: c for c in conditions(facts(repo_backups=[], rds=_rds()), S)}
    assert not by_name["backup_age"].active and not by_name["backup_size"].active
    assert by_name["backup_age"].summary == "RDS mode: AWS takes the backups (see rds_rpo)"
    lagging = facts(repo_backups=[], rds=_rds(latest_restorable=NOW - timedelta(hours=1)))
    assert active(lagging)["rds_rpo"] and not active(lagging)["backup_age"]
    assert active(facts(repo_backups=[], rds=None))["backup_age"]
    # a repository that does hold backups (from before a move to RDS) is judged as ever
    assert active(facts(repo_backups=[backup(27)], rds=_rds()))["backup_age"]


def test_rds_rpo_threshold_and_summary() -> None:
    f = facts(rds=_rds(latest_restorable=NOW - timedelta(minutes=12)))
    (c,) = [c for c in conditions(f, S) if c.name == "rds_rpo"]
    assert c.active and c.summary == "RDS instance db1 restorable to 12.0 min ago (limit 10.0 min)"
    assert not active(f, AlertSettings(rds_rpo_max_s=900))["rds_rpo"]
