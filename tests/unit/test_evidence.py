"""The pure cores of pgdr.evidence: which scenario a drill measures, the runbook's figures,
game-day preconditions, cost by storage class, compliance controls."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rich.console import Console

from pgdr.evidence.compliance import MET, NOT_CONFIGURED, NOT_MET, evaluate
from pgdr.evidence.cost import LOCAL, bytes_by_class, cost_report
from pgdr.evidence.figures import Measurement, figures_for, scenarios_of_drill
from pgdr.evidence.gameday_checks import (
    lock_setting_problem,
    replica_problem,
    retention_problem,
)
from pgdr.evidence.runbook import build_runbook
from pgdr.evidence.runbook_render import code_blocks, to_markdown
from pgdr.storage.base import ObjectInfo
from tests.fixtures.evidence import NOW, deployment, drill_doc, facts, figures

pytestmark = pytest.mark.unit
REPLICA = "s3://dr/prod"


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (drill_doc("a", 1, url=REPLICA), ["region-failure"]),
        (drill_doc("b", 1, kind="time"), ["corruption", "accidental-deletion"]),
        (drill_doc("c", 1, kind="random"), ["corruption", "accidental-deletion"]),
        (drill_doc("d", 1, kind="latest"), ["complete-loss"]),
        (drill_doc("e", 1, kind="immediate"), ["complete-loss"]),
    ],
)
def test_which_scenario_a_drill_measures(doc: dict[str, object], expected: list[str]) -> None:
    assert scenarios_of_drill(doc, {REPLICA}) == expected


def m(
    when_days: float, rto: float | None, result: str = "passed", rpo: float | None = 1.0
) -> Measurement:
    return Measurement(
        "x", f"r{when_days}", (NOW - timedelta(days=when_days)).isoformat(), result, rto, rpo
    )


@pytest.mark.parametrize(
    ("ms", "newest_rto", "median", "worst", "stale"),
    [
        ([], None, None, None, False),
        ([m(1, 10.0)], 10.0, 10.0, 10.0, False),
        ([m(3, 30.0), m(2, 10.0), m(1, 20.0)], 20.0, 20.0, 30.0, False),
        ([m(3, 30.0), m(1, 99.0, "failed")], 99.0, 30.0, 30.0, False),  # failed: not a figure
        ([m(9, 10.0)], 10.0, 10.0, 10.0, True),  # older than 8 days: stale
        ([m(30, 500.0)] + [m(d, 5.0) for d in (5, 4, 3)], 5.0, 5.0, 5.0, False),  # last 3 only
    ],
)
def test_figures_newest_median_worst_of_the_last_n(
    ms: list[Measurement],
    newest_rto: float | None,
    median: float | None,
    worst: float | None,
    stale: bool,
) -> None:
    f = figures_for("x", ms, NOW, 3, timedelta(days=8))
    assert (f.newest.rto_seconds if f.newest else None) == newest_rto
    assert (f.median_rto_seconds, f.worst_rto_seconds, f.stale) == (median, worst, stale)


def objs(*keys: str, age_s: float = 0.0) -> list[ObjectInfo]:
    return [ObjectInfo(k, 10, NOW - timedelta(seconds=age_s)) for k in keys]


SRC = objs(
    "config", "manifests/backup/20261207T030000ZF-a", "wal/00000001/000000010000000000000003"
)


@pytest.mark.parametrize(
    ("replica", "needle"),
    [
        ([], "is empty"),
        (objs("config"), "holds no backup"),
        (
            objs("config", "manifests/backup/20261206T030000ZF-z"),
            "lacks backup 20261207T030000ZF-a",
        ),
        (objs("config", "manifests/backup/20261207T030000ZF-a"), "object(s) behind"),
        (SRC, None),
    ],
)
def test_replica_preconditions(replica: list[ObjectInfo], needle: str | None) -> None:
    src = objs("config", "manifests/backup/20261207T030000ZF-a") + objs(
        "wal/00000001/000000010000000000000003", age_s=120
    )
    why = replica_problem("dr", src, replica, NOW, 30)
    assert (why is None) if needle is None else (needle in (why or "")), why


@pytest.mark.parametrize(
    ("url", "mode", "days", "needle"),
    [
        ("file:///r", "GOVERNANCE", 40.0, "not on S3"),
        ("s3://b/p", None, None, "no s3.object_lock_mode"),
        ("s3://b/p", "GOVERNANCE", 7.0, "covers 7 days, less than the 35-day window"),
        ("s3://b/p", "COMPLIANCE", 35.0, None),
    ],
)
def test_lock_settings(url: str, mode: str | None, days: float | None, needle: str | None) -> None:
    why = lock_setting_problem("main", url, mode, days, timedelta(days=35))
    assert (why is None) if needle is None else (needle in (why or "")), why


def test_retention_must_cover_the_window() -> None:
    w = timedelta(days=35)
    assert "has no retention" in (retention_problem("k", NOW, None, NOW, w) or "")
    assert "expired" in (retention_problem("k", NOW, NOW - timedelta(1), NOW, w) or "")
    assert "before it leaves the window" in (
        retention_problem("k", NOW, NOW + timedelta(3), NOW, w) or ""
    )
    assert retention_problem("k", NOW, NOW + timedelta(40), NOW, w) is None


def test_cost_is_bytes_by_class_times_configured_prices() -> None:
    listing = [
        ObjectInfo("a", 3 * 1024**3, storage_class="STANDARD"),
        ObjectInfo("b", 1024**3, storage_class="STANDARD"),
        ObjectInfo("c", 2 * 1024**3, storage_class="GLACIER"),
        ObjectInfo("d", 512, storage_class="DEEP_ARCHIVE"),
    ]
    classes = bytes_by_class(listing)
    assert classes == {
        "STANDARD": (2, 4 * 1024**3),
        "GLACIER": (1, 2 * 1024**3),
        "DEEP_ARCHIVE": (1, 512),
    }
    local = bytes_by_class([ObjectInfo("x", 7)])
    assert local == {LOCAL: (1, 7)}
    r = cost_report(
        [("main", "s3://b", classes), ("dr", "file:///d", local)],
        {"STANDARD": 0.02, "GLACIER": 0.004},
        "USD",
        "2026-11-01",
    )
    by = {(ln.location, ln.storage_class): ln for ln in r.lines}
    assert by["main", "STANDARD"].monthly_cost == pytest.approx(0.08)
    assert by["main", "GLACIER"].monthly_cost == pytest.approx(0.008)
    assert by["main", "DEEP_ARCHIVE"].monthly_cost is None  # no price: no figure, never a guess
    assert r.monthly_total == pytest.approx(0.088)
    assert r.unpriced == ["DEEP_ARCHIVE", LOCAL] and not r.complete
    assert r.total_bytes == 6 * 1024**3 + 512 + 7
    console = Console(record=True, width=200)
    r.render_text(console)
    assert "no price in [costs] per_gb_month for: DEEP_ARCHIVE, local" in console.export_text()


def states(**over: object) -> dict[str, str]:
    return {c.id: c.state for c in evaluate(facts(**over), "now").controls}


def test_compliance_all_met_with_records() -> None:
    r = evaluate(facts(), "now")
    assert all(c.state == MET for c in r.controls), [(c.id, c.why) for c in r.controls]
    by = {c.id: c for c in r.controls}
    assert by["restore-drill-passed"].records == ["manifests/drill/20261206T020000.000Z-aa11bb22"]
    assert by["audit-log-intact"].records == ["audit/000000000057-9f3c"]
    assert by["backups-within-rpo"].records == ["manifests/backup/20261207T030000ZI-c0ffee"]


@pytest.mark.parametrize(
    ("over", "control", "state", "needle"),
    [
        ({"drills": []}, "restore-drill-passed", NOT_MET, "no drill recorded in the last 8 days"),
        ({"drills": [drill_doc("old", 20)]}, "restore-drill-passed", NOT_MET, "no drill recorded"),
        (
            {"drills": [drill_doc("f", 1, "failed", message="rows [safety]: 0")]},
            "restore-drill-passed",
            NOT_MET,
            "none passed",
        ),
        (
            {"audit_ok": False, "audit_problem": "audit/0003: edited"},
            "audit-log-intact",
            NOT_MET,
            "audit/0003: edited",
        ),
        ({"audit_entries": 0, "audit_newest": None}, "audit-log-intact", NOT_MET, "empty"),
        ({"backups": []}, "backups-within-rpo", NOT_MET, "no backup"),
        (
            {"backups": [("old", NOW - timedelta(hours=30))]},
            "backups-within-rpo",
            NOT_MET,
            "30.0 h old",
        ),
        ({"window_days": 7.0}, "retention-35-days", NOT_MET, "7 days"),
        ({"encryption": "none", "key_slots": 0}, "encryption-at-rest", NOT_MET, "unencrypted"),
        (
            {"object_lock_mode": None},
            "deletion-protection",
            NOT_CONFIGURED,
            "no s3.object_lock_mode",
        ),
        ({"object_lock_days": 10.0}, "deletion-protection", NOT_MET, "shorter than"),
        ({"replicas": {}}, "second-copy", NOT_CONFIGURED, "no replicate_to"),
        ({"replicas": {"replica": None}}, "second-copy", NOT_MET, "not initialized"),
        ({"replicas": {"replica": 90.0}}, "second-copy", NOT_MET, "90 s behind"),
    ],
)
def test_compliance_names_missing_evidence(
    over: dict[str, object], control: str, state: str, needle: str
) -> None:
    c = next(c for c in evaluate(facts(**over), "now").controls if c.id == control)
    assert c.state == state and needle in c.why, (c.state, c.why)


def test_runbook_commands_carry_this_deployments_names() -> None:
    md = to_markdown(build_runbook(deployment(), figures(), "2026-12-07T09:00:00+00:00"))
    region = code_blocks(md, "region-failure")
    assert region[-1].startswith(
        "pgdr --config /etc/pgdr/pgdr.toml --repo replica restore --data-dir /var/lib/pgdr/restore/region-failure"
    )
    deletion = code_blocks(md, "accidental-deletion")
    assert deletion[1] == (
        "pgdr --config /etc/pgdr/pgdr.toml restore table --table users --table recalls "
        '--database safety --time "$TARGET_TIME" --missing-rows'
    )
    (check,) = code_blocks(md, "accidental-deletion", "check")
    assert check.startswith("psql -h /var/run/postgresql -p 5432 -U postgres -d safety -Atc")
    assert code_blocks(md, "accidental-deletion", "cleanup") == []  # the sandbox goes by itself
    assert "--port 5433" in md  # the side server, to look around first
    assert code_blocks(md, "application-failure") == []
