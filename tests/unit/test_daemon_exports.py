"""Exports in the daemon (pure): the schedule's period, export_late / export_failed firing and
resolving, the export metrics and the status panel, all from an ExportFact."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pgdr.daemon.alert_rules import AlertState, conditions, step
from pgdr.daemon.cron import Schedule
from pgdr.daemon.export_state import export_summary, lateness
from pgdr.daemon.facts import ExportFact, Facts
from pgdr.daemon.metrics import View, render
from pgdr.daemon.settings import AlertSettings
from pgdr.daemon.status import build_status
from tests.fixtures.daemon_facts import NOW, GiB, export, facts, record

pytestmark = pytest.mark.unit
DAY = timedelta(days=1)
GRACE = 2 * 86400.0


@pytest.mark.parametrize(
    ("expr", "at", "gap"),
    [
        ("0 4 1 * *", NOW, timedelta(days=31)),  # monthly: the longest month
        ("@monthly", datetime(2027, 3, 15, tzinfo=UTC), timedelta(days=31)),
        ("0 4 1 */3 *", NOW, timedelta(days=92)),  # quarterly: Jul..Oct
        ("0 4 * * 0", NOW, timedelta(days=7)),
        ("0 3 * * 1-6", NOW, timedelta(days=2)),  # Saturday -> Monday
        ("0 4 1 1 *", NOW, timedelta(days=366)),  # yearly, across a leap year
        ("@every 90m", NOW, timedelta(minutes=90)),
        ("off", NOW, None),
    ],
)
def test_longest_gap_of_a_schedule(expr: str, at: datetime, gap: timedelta | None) -> None:
    assert Schedule.parse(expr).longest_gap(at) == gap


MONTH = 31 * 86400.0


@pytest.mark.parametrize(
    ("fact", "late", "why"),
    [
        (export(10), False, "10.0 d old (limit 33.0 d)"),
        (export(32.9), False, "limit 33.0 d"),
        (export(33.1), True, "33.1 d old"),
        (export(40, period_s=92 * 86400.0), False, "limit 94.0 d"),  # quarterly schedule
        (ExportFact("file:///x", True, period_s=MONTH), True, "no complete export at file:///x"),
        (ExportFact("file:///x", False, "permission denied", MONTH), None, "permission denied"),
        (
            ExportFact(None, False, "exports not configured: set [exports] url"),
            False,
            "set [exports]",
        ),
        (export(400, period_s=None), False, "not scheduled"),
        (None, False, "not watched"),
    ],
)
def test_lateness(fact: ExportFact | None, late: bool | None, why: str) -> None:
    got, summary = lateness(fact, NOW, GRACE)
    assert got is late and why in summary, summary


def states(f: Facts, prev: dict[str, AlertState] | None = None) -> dict[str, AlertState]:
    st, _ = step(prev or {}, conditions(f, AlertSettings()), NOW, 0)
    return st


def test_export_late_fires_and_resolves() -> None:
    late = states(facts(exports=export(40)))
    assert late["export_late"].state == "firing"
    st, moves = step(late, conditions(facts(exports=export(1)), AlertSettings()), NOW, 0)
    assert st["export_late"].state == "ok"
    assert [(m.name, m.to) for m in moves] == [("export_late", "resolved")]
    # an unreadable target neither resolves nor re-fires it
    down = ExportFact("file:///x", False, "unreachable", MONTH)
    assert states(facts(exports=down), late)["export_late"].state == "firing"
    # the grace comes from [alerts]
    s = AlertSettings(export_grace_s=10 * 86400)
    assert not {c.name: c.active for c in conditions(facts(exports=export(40)), s)}["export_late"]


def test_export_failed_fires_on_a_failed_or_refused_job_and_resolves() -> None:
    refused = replace(record("export", "failed"), error="job export: no [exports] url")
    st = states(facts(repo_jobs=[record("verify"), refused]))
    assert st["export_failed"].state == "firing"
    assert "no [exports] url" in st["export_failed"].summary
    assert states(facts(repo_jobs=[refused, record("export")]), st)["export_failed"].state == "ok"
    # RDS mode: the rds_export job's failure is an export failure too, its success resolves it
    rds_failed = replace(record("rds_export", "failed"), error="export task ended in 'FAILED'")
    rds = states(facts(repo_jobs=[record("export"), rds_failed]))
    assert rds["export_failed"].state == "firing" and "FAILED" in rds["export_failed"].summary
    assert (
        states(facts(repo_jobs=[rds_failed, record("rds_export")]), rds)["export_failed"].state
        == "ok"
    )
    assert states(facts(repo_jobs=[]))["export_failed"].state == "ok"
    # an export run by hand after the failed job completes the month: resolved
    assert refused.finished == (NOW - timedelta(hours=1)).isoformat()
    by_hand = facts(repo_jobs=[refused], exports=export(1 / 48))
    assert states(by_hand, st)["export_failed"].state == "ok"
    assert states(facts(repo_jobs=[refused], exports=export(1 / 12)))["export_failed"].state == (
        "firing"
    )


def samples(f: Facts) -> dict[str, float]:
    out = {}
    for fam in text_string_to_metric_families(render(View(f)).decode()):
        for s in fam.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


def test_export_metrics_come_from_the_newest_manifest() -> None:
    e = export(10)
    m = samples(facts(exports=e))
    assert e.latest_finished is not None
    assert m["pgdr_export_last_success_timestamp_seconds"] == e.latest_finished.timestamp()
    assert m["pgdr_export_last_duration_seconds"] == 300
    assert m['pgdr_export_rows{database="app",table="public.recalls"}'] == 460000
    assert m['pgdr_export_bytes{database="app",table="public.users"}'] == 2 * GiB // 1024
    assert m['pgdr_exports{state="complete"}'] == 3 and m['pgdr_exports{state="incomplete"}'] == 1
    assert m["pgdr_export_target_up"] == 1 and m["pgdr_export_last_job_success"] == 1
    # unreadable: no stale values; not configured: no export metrics at all
    down = samples(facts(exports=ExportFact("file:///x", False, "gone", MONTH)))
    assert down["pgdr_export_target_up"] == 0
    assert not any(k.startswith(("pgdr_export_rows", "pgdr_export_last_s")) for k in down)
    off = samples(facts(exports=ExportFact(None, False, "not configured"), repo_jobs=[]))
    assert not any(k.startswith("pgdr_export") for k in off)


@pytest.mark.parametrize(
    ("f", "state"),
    [
        (facts(exports=export(10)), "ok"),
        (facts(exports=export(40)), "late"),
        (facts(exports=export(1), repo_jobs=[record("export", "failed")]), "failed"),
        (
            facts(exports=ExportFact(None, False, "exports not configured: set [exports] url")),
            "unconfigured",
        ),
        (facts(exports=ExportFact("file:///x", False, "gone", MONTH)), "unknown"),
    ],
)
def test_status_panel_state(f: Facts, state: str) -> None:
    assert export_summary(f, GRACE)["state"] == state


def test_status_panel_numbers() -> None:
    f = facts(exports=export(10))
    panel = build_status(f, states(f), {"export": "0 4 1 * *"}).exports
    last = panel["latest"]
    assert panel["state"] == "ok" and panel["complete"] == 3
    assert last["rows"] == 475000 and last["bytes"] == 42 * GiB // 1024 and last["tables"] == 2
    assert last["age_s"] == 10 * 86400 and last["seconds"] == 300
    assert [t["table"] for t in last["per_table"]] == ["public.users", "public.recalls"]


def test_status_text_names_the_export_state() -> None:
    from rich.console import Console

    for e, want in (
        (
            export(10),
            "exports     ok: last 20261114T115500Z-abc123, 10.0 d old, 2 table(s), 475000 rows",
        ),
        (
            ExportFact(None, False, "no [exports] url (where exports go)"),
            "unconfigured: no [exports] url",
        ),
    ):
        f = facts(exports=e)
        console = Console(record=True, width=200)
        build_status(f, states(f), {"export": "0 4 1 * *"}).render_text(console)
        assert want in console.export_text(), console.export_text()
