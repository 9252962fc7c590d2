"""The dashboard drawn by headless Chromium from fixed snapshots (healthy, an alert firing with
a long libpq message, a failed drill with its reason): captions and axes agree with
/api/status and /api/history, manual backups count next to scheduled ones, alert text is
whole with its severity in words, nothing is cut; one screenshot per state in artifacts/."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pgdr.daemon.alert_rules import (
    cause,
    conditions,
    step,
)
from pgdr.daemon.facts import DrillFact, Facts
from pgdr.daemon.history import JobRecord
from pgdr.daemon.series import dashboard_series
from pgdr.daemon.settings import AlertSettings
from pgdr.daemon.status import build_status
from pgdr.web.app import create_app
from pgdr.web.auth import Credentials
from pgdr.web.server import WebServer
from tests.fixtures.daemon_facts import NOW, facts
from tests.pg.browser import CHROMIUM, TOKEN, check_charts, load_dom, screenshot

pytestmark = pytest.mark.component

PG_DOWN = (
    'connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: No such file '
    "or directory\n\tIs the server running locally and accepting connections on that socket?"
)
DRILL_WHY = (
    "drill failed: indexes [app]: missing: public.orders_customer_id_idx, "
    "public.orders_created_at_idx; rows [app]: public.orders has 0 rows, 15,000 at backup"
)


def job(kind: str, hours_ago: float, status: str = "success") -> JobRecord:
    t = (NOW - timedelta(hours=hours_ago)).isoformat()
    return JobRecord(f"j-{kind}-{hours_ago}", kind, t, t, t, status)


def healthy() -> Facts:
    """Eight daily backups: seven scheduled (with job records), the oldest taken by hand, and
    one scheduled run that failed."""
    f = facts()
    backups = [replace(b, scheduled=i > 0) for i, b in enumerate(f.repo.backups)]
    jobs = [job("backup_incr", (NOW - b.stop_time).total_seconds() / 3600) for b in backups[1:]]
    jobs.append(job("backup_incr", 30.5, "failed"))
    f.repo = replace(f.repo, backups=backups, jobs=sorted(jobs, key=lambda j: j.finished))
    return f


VERIFY_ERROR = (
    "verify found damage: data/ab/abcdef0123456789abcdef0123456789abcdef0123456789: missing "
    "(referenced by backups 20261124T030000.000ZI-1a2b3c4d and 20261123T030000.000ZI-5e6f7a8b)"
)


def alert_firing() -> Facts:
    f = healthy()
    f.pg = replace(f.pg, up=False, error=PG_DOWN)
    failed = replace(job("verify", 0.5, "failed"), error=VERIFY_ERROR)
    f.repo = replace(f.repo, jobs=[*f.repo.jobs, failed])
    return f


def drill_failed() -> Facts:
    f = healthy()
    d = DrillFact("20261124T1100", NOW - timedelta(hours=1), False, "failed", 41, 41, 30, DRILL_WHY)
    f.repo = replace(f.repo, drills=[*f.repo.drills, d])
    return f


class Source:
    def __init__(self, f: Facts) -> None:
        self.f = f
        self.states, _ = step({}, conditions(f, AlertSettings()), NOW, 0)

    def status(self) -> Any:
        return build_status(self.f, self.states, {"backup_incr": "0 3 * * *", "verify": "@daily"})

    def history(self) -> dict[str, Any]:
        return {**dashboard_series(self.f), "limits": {"backup_max_age_s": 93600}}

    def metrics(self) -> bytes:
        return b""

    def job_records(self, kind: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        return []


@pytest.fixture(params=[healthy, alert_firing, drill_failed], ids=lambda p: p.__name__)
def served(request: pytest.FixtureRequest) -> Iterator[tuple[int, Facts, str]]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/install-system-deps installs it)")
    f = request.param()
    srv = WebServer(create_app(Source(f), Credentials(token=TOKEN)), "127.0.0.1:0")
    srv.start()
    try:
        yield srv.port, f, request.param.__name__
    finally:
        srv.stop()


def api(port: int, path: str) -> dict[str, Any]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    req.add_header("Authorization", f"Bearer {TOKEN}")
    with urllib.request.urlopen(req, timeout=10) as r:
        return dict(json.loads(r.read()))


def test_dashboard_states(served: tuple[int, Facts, str], tmp_path: Path) -> None:
    port, _, state = served
    status, history = api(port, "/api/status"), api(port, "/api/history")
    dom = load_dom(port, tmp_path / "dom")
    # seven scheduled successes and the manual backup; the failed run counts as a run
    check_charts(dom, status, history, succeeded=8, manual=1)
    assert history["backup_success"]["runs"] == 9 and history["backup_success"]["failed"] == 1
    firing = {a["name"]: a["summary"] for a in status["alerts"] if a["state"] == "firing"}
    if state == "alert_firing":
        # libpq's first line (socket path and cause) whole, checked readable by check_charts
        assert firing["postgres_down"] == cause(PG_DOWN) and ".s.PGSQL.5432" in cause(PG_DOWN)
        what = re.search(
            r'<tr class="job bad" data-job="verify">.*?<td class="what">(.*?)</td>', dom
        )
        assert what and what.group(1).endswith(VERIFY_ERROR), what  # the whole error, not cut
    if state == "drill_failed":
        assert DRILL_WHY in firing["drill_failed"]
    if state == "healthy":
        assert firing == {}
    screenshot(port, tmp_path / "shot", f"dashboard-{state.replace('_', '-')}.png")
