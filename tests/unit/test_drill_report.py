"""Drill records: round trip through the manifest document, history summary, and the
Markdown / HTML renderings (self-contained, chart scaled to the longest step)."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import pytest

from pgdr.drill.events import drill_event
from pgdr.drill.record import DrillRecord, Step, summarize
from pgdr.drill.report import render_html, render_markdown, steps_svg, write_report
from pgdr.drill.verdicts import CheckResult
from pgdr.notify.event import Event
from pgdr.notify.pagerduty import pagerduty_payload

pytestmark = pytest.mark.unit


def record(i: int, result: str, total: float, rpo: float | None) -> DrillRecord:
    r = DrillRecord(
        id=f"20261122T02000{i}.000Z-0000000{i}",
        started="2026-11-22T02:00:00+00:00",
        host="db1",
        user="root",
        pid=1,
        repository={"url": "s3://b/p", "repo_id": "r1"},
        request={"backup": "latest", "target": "latest"},
    )
    r.result, r.total_seconds, r.rto_seconds, r.rpo_seconds = result, total, total, rpo
    r.steps = [Step("fetch", total / 2), Step("wal replay", total / 4), Step("cleanup", total / 4)]
    r.checks = [CheckResult("tables", "pass", "all 4 critical tables exist", "app")]
    if result == "failed":
        r.checks.append(CheckResult("indexes", "fail", "missing: public.x|y", "app"))
        r.message = "drill failed: indexes [app]: missing: public.x|y"
    r.data = {
        "app": {
            "tables": [
                {"name": "public.users", "rows": 15000, "rows_at_backup": 14990, "indexes": 10}
            ],
            "indexes": 10,
            "constraints": 3,
        }
    }
    return r


def test_round_trip_and_audit() -> None:
    r = record(1, "failed", 20.0, 30.0)
    again = DrillRecord.from_doc(r.to_doc())
    assert again == r
    a = r.audit()
    assert a["action"] == "drill" and a["actor"] == "root@db1" and a["outcome"] == "failed"
    assert a["object"] == f"manifests/drill/{r.id}" and a["rto_seconds"] == 20.0


def test_history_summary() -> None:
    h = summarize(
        [record(1, "passed", 20, 60), record(2, "failed", 30, 120), record(3, "passed", 10, 30)]
    )
    assert (h.total, h.passed, round(h.pass_rate or 0, 3)) == (3, 2, 0.667)
    assert h.rto_seconds == {"min": 10, "median": 20, "max": 30, "last": 10}
    assert h.rpo_seconds["max"] == 120 and h.drills[1]["failed"] == ["indexes"]
    assert summarize([]).pass_rate is None


def test_markdown_and_html() -> None:
    r = record(2, "failed", 40.0, 90.0)
    md = render_markdown(r)
    assert (
        md.startswith(f"# Drill {r.id}: FAILED") and "| public.users | 15,000 | 14,990 | 10 |" in md
    )
    assert "| indexes | app | FAIL | missing: public.x\\|y |" in md  # pipes escaped
    page = render_html(r)
    assert page.count('class="bar"') == 3 and "missing: public.x|y" in page
    assert not re.search(r"(src|href)=\"https?:", page) and "<script" not in page
    widths = [
        float(w) for w in re.findall(r'class="bar" x="150" y="\d+" width="([\d.]+)"', steps_svg(r))
    ]
    assert widths[0] == 640 - 150 - 70 and widths[1] == widths[0] / 2


@pytest.mark.parametrize(
    ("status", "previous", "resolves", "action"),
    [
        ("failure", None, False, "trigger"),
        ("failure", "failure", False, "trigger"),
        ("ok", "failure", True, "resolve"),
        ("ok", "warning", True, "resolve"),
        ("ok", "ok", False, None),
        ("ok", None, False, None),
        ("warning", "ok", False, "trigger"),
    ],
)
def test_pagerduty_lifecycle(status, previous, resolves, action) -> None:  # type: ignore[no-untyped-def]
    e = Event("drill", status, "t", "x", "k", previous_status=previous)
    assert e.resolves is resolves
    body = pagerduty_payload(e, "RK", "k")
    assert (body or {}).get("event_action") == action


def test_drill_event() -> None:
    prev = record(1, "failed", 20, 60)
    e = drill_event(record(2, "passed", 10, 5), prev)
    assert e.status == "ok" and e.resolves and e.dedup_key == "pgdr-drill-r1"
    e = drill_event(record(3, "failed", 10, 5), None)
    assert e.status == "failure" and "FAILED indexes [app]: missing" in e.text
    assert e.details["failed_checks"] == ["indexes"]


def test_every_report_names_the_timeline_followed() -> None:
    r = record(3, "passed", 10.0, 5.0)
    r.timeline = {"followed": "1", "backup": "1", "production": 1, "role": "production"}
    again = DrillRecord.from_doc(r.to_doc())
    assert again.timeline == r.timeline and r.audit()["timeline"] == "1"
    for text in (render_markdown(r), render_html(r)):
        assert "timeline 1 (production)" in text
    assert summarize([r]).drills[0]["timeline"] == "1"


@pytest.mark.parametrize(
    ("kind", "value", "named"),
    [
        ("time", "2026-11-22T01:59:30+00:00", "time 2026-11-22T01:59:30+00:00"),
        ("lsn", "0/3000060", "lsn 0/3000060"),
        ("xid", "7421", "xid 7421"),
        ("latest", None, "latest"),
    ],
)
def test_html_report_names_target_lsn_and_timeline_reached(
    kind: str, value: str | None, named: str
) -> None:
    r = record(4, "passed", 10.0, 5.0)
    r.target = {"kind": kind, "value": value, "reference_time": "2026-11-22T01:59:30+00:00"}
    r.timeline = {"followed": 2, "backup": 1, "production": 2, "role": "production"}
    r.reached = {"lsn": "0/5A0001C8", "timeline": 2}
    assert DrillRecord.from_doc(r.to_doc()).reached == r.reached
    page = render_html(r)
    assert re.search(rf'<td class="target">{re.escape(html.escape(named))}</td>', page), page
    reached = "LSN 0/5A0001C8 on timeline 2 (production)"
    assert f'<td class="reached">{reached}</td>' in page
    assert named in render_markdown(r) and reached in render_markdown(r)


def test_html_report_says_when_replay_never_reached_the_target() -> None:
    r = record(5, "failed", 10.0, None)
    r.target = {"kind": "time", "value": "2026-11-22T01:59:30+00:00"}
    r.timeline = {"followed": 3, "role": "production"}
    page = render_html(r)
    assert '<td class="reached">not reached (timeline 3 chosen)</td>' in page
    assert "time 2026-11-22T01:59:30+00:00" in page


@pytest.mark.parametrize("name", ["r.html", "r.md", "r.json"])
def test_reports_are_owner_only_whatever_the_umask(tmp_path: Path, name: str) -> None:
    old = os.umask(0o022)
    try:
        write_report(record(1, "passed", 10.0, 5.0), tmp_path / name)
    finally:
        os.umask(old)
    mode = (tmp_path / name).stat().st_mode & 0o777
    assert mode == 0o600, oct(mode)
    assert "users" in (tmp_path / name).read_text()


def test_an_rds_drill_names_its_instance_and_its_rto_without_baseline_and_cleanup() -> None:
    r = record(7, "passed", 100.0, 30.0)
    r.rto_seconds = 70.0
    r.steps = [Step("baseline", 20.0), Step("instance creation", 60.0), Step("cleanup", 10.0)]
    r.sandbox = {
        "provider": "rds",
        "instance": "pgdr-drill-x",
        "source": "recalls-prod",
        "endpoint": "pgdr-drill-x.example:5432",
        "removed": True,
    }
    md = render_markdown(r)
    assert "| **total** | **100.00** |" in md and "| **RTO (recovery steps)** | **70.00** |" in md
    assert "RDS instance pgdr-drill-x (from recalls-prod)" in md
    assert "RTO 70.0 s" in md and "restored by RDS" in render_html(r)
    assert drill_event(r, None).details["rto_seconds"] == 70.0
    assert r.audit()["rto_seconds"] == 70.0 and summarize([r]).rto_seconds["last"] == 70.0
    # a sandbox drill: one row, as before
    assert "| **total (RTO)** | **100.00** |" in render_markdown(record(8, "passed", 100.0, 1.0))
