"""The job kinds take their dependencies as typed fields wired by the CLI; a kind whose
dependency was not wired refuses with a one-line error before touching the repository."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pgdr.daemon.jobs import REGISTRY, JobContext, JobDeps
from pgdr.errors import DaemonError
from pgdr.repo.repository import Repository

pytestmark = pytest.mark.unit


def _no_repo() -> Repository:
    raise AssertionError("the repository must not be opened")


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("expire", "no retention policy"),
        ("drill", "no drill settings"),
        ("rds_drill", "no drill settings"),
        ("export", r"no \[exports\] url \(where exports go\)"),
        ("rds_snapshot", r"job rds_snapshot: no \[rds\] section \(instance to snapshot\)"),
        ("rds_export", r"job rds_export: no \[rds\] section \(instance to export\)"),
    ],
)
def test_a_kind_without_its_dependency_refuses(kind: str, message: str) -> None:
    ctx = JobContext(kind, datetime.now(UTC), _no_repo, "conninfo", deps=JobDeps())
    with pytest.raises(DaemonError, match=message):
        REGISTRY[kind].run(ctx)


def test_the_rds_drill_refuses_without_an_rds_section() -> None:
    from pgdr.daemon.jobs import DrillDeps
    from pgdr.drill.engine import DrillEnv
    from pgdr.drill.settings import DrillSettings

    deps = JobDeps(drill=DrillDeps(DrillSettings(), DrillEnv()))
    ctx = JobContext("rds_drill", datetime.now(UTC), _no_repo, "conninfo", deps=deps)
    with pytest.raises(DaemonError, match=r"no \[rds\] section"):
        REGISTRY["rds_drill"].run(ctx)


def test_the_rds_drill_is_scheduled_only_when_asked() -> None:
    from pgdr.daemon.service import planned_jobs
    from pgdr.daemon.settings import ScheduleSettings

    assert "rds_drill" not in {p.kind.name for p in planned_jobs(ScheduleSettings())}
    weekly = ScheduleSettings(rds_drill="0 2 * * 0")
    (rds,) = [p for p in planned_jobs(weekly) if p.kind.name == "rds_drill"]
    assert rds.kind.group == "drill"  # never at the same time as a sandbox drill


def test_the_rds_snapshot_and_export_are_scheduled_only_when_asked() -> None:
    from pgdr.daemon.service import planned_jobs
    from pgdr.daemon.settings import ScheduleSettings

    names = {p.kind.name for p in planned_jobs(ScheduleSettings())}
    assert not names & {"rds_snapshot", "rds_export"}
    asked = ScheduleSettings(rds_snapshot="0 5 * * *", rds_export="0 6 1 * *")
    groups = {p.kind.name: p.kind.group for p in planned_jobs(asked)}
    # one group: an export never starts while the snapshot it would export is being taken
    assert groups["rds_snapshot"] == groups["rds_export"] == "rds"


def test_a_bad_rds_schedule_is_refused_naming_the_key() -> None:
    from pydantic import ValidationError

    from pgdr.daemon.settings import ScheduleSettings

    with pytest.raises(ValidationError, match="rds_snapshot"):
        ScheduleSettings(rds_snapshot="every day")


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("", "off"),
        ('[rds]\ninstance = "db1"\nregion = "eu-west-1"\n', "off"),
        # [rds.snapshots] schedule, where RDS mode first put it, schedules the job
        ('[rds]\ninstance = "db1"\nregion = "eu-west-1"\n[rds.snapshots]\nschedule = "0 4 * * *"\n',
         "0 4 * * *"),
        # [schedule] rds_snapshot wins when both are given
        ('[schedule]\nrds_snapshot = "@daily"\n[rds]\ninstance = "db1"\nregion = "eu-west-1"\n'
         '[rds.snapshots]\nschedule = "0 4 * * *"\n', "@daily"),
    ],
)  # fmt: skip
def test_the_rds_snapshot_schedule_comes_from_either_section(toml: str, expected: str) -> None:
    from pathlib import Path

    from pgdr.config import parse_config
    from pgdr.daemon.settings import daemon_sections

    assert daemon_sections(parse_config(toml, Path("t.toml"))).schedule.rds_snapshot == expected


def test_a_bad_rds_snapshots_schedule_is_one_config_error() -> None:
    from pathlib import Path

    from pgdr.config import parse_config
    from pgdr.daemon.settings import daemon_sections
    from pgdr.errors import ConfigError

    toml = '[rds]\ninstance = "db1"\nregion = "eu-west-1"\n[rds.snapshots]\nschedule = "daily"\n'
    with pytest.raises(ConfigError, match=r"\[rds.snapshots\] schedule = 'daily'"):
        daemon_sections(parse_config(toml, Path("t.toml")))
