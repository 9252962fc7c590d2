"""Alert transitions become notification events every channel understands."""

from __future__ import annotations

import pytest

from pgdr.daemon.alert_rules import Transition
from pgdr.daemon.events import alert_event, make_deliver
from pgdr.notify.base import RecordingNotifier
from pgdr.notify.event import Event

pytestmark = pytest.mark.unit
FIRE = Transition(
    "drill_failed",
    "firing",
    "drill d1: failed",
    "2026-11-24T12:00:00+00:00",
    "2026-11-24T12:00:00+00:00",
)
RESOLVE = Transition(
    "drill_failed",
    "resolved",
    "drill d2: passed",
    "2026-11-24T13:00:00+00:00",
    "2026-11-24T12:00:00+00:00",
)


def test_firing_and_resolved_events() -> None:
    f, r = alert_event(FIRE, "db1"), alert_event(RESOLVE, "db1")
    assert (f.kind, f.status, f.resolves) == ("alert", "failure", False)
    assert (r.status, r.previous_status, r.resolves) == ("ok", "failure", True)
    assert f.dedup_key == r.dedup_key == "pgdr-alert-db1-drill_failed"
    assert f.title.startswith("[FIRING] pgdr drill_failed on db1")
    assert r.title.startswith("[RESOLVED]") and "firing since" in r.text
    assert f.details["severity"] == "critical" and r.details["state"] == "resolved"


def test_warning_alerts_are_warnings() -> None:
    t = Transition("replica_lag", "firing", "lag 40 s", "2026-11-24T12:00:00+00:00")
    assert alert_event(t).status == "warning"


class Failing(RecordingNotifier):
    def send(self, event: Event) -> None:
        from pgdr.errors import NotifyError

        raise NotifyError(f"{self.name}: receiver down")


def test_deliver_reports_failed_channels_and_retries_only_them() -> None:
    a, b, other = RecordingNotifier("a"), Failing("b"), RecordingNotifier("other")
    deliver = make_deliver([a, b, other], channels=["a", "b"])
    assert deliver(FIRE, None) == ["b"]
    assert len(a.events) == 1 and not other.events  # [alerts] notify limits the channels
    assert deliver(FIRE, ["b"]) == ["b"]
    assert len(a.events) == 1  # a retry goes only to the channels that missed it


def test_drill_failed_shares_the_failed_drills_own_key() -> None:
    """One failed drill is one PagerDuty incident: the daemon's drill_failed alert uses the
    key the drill's own notification used, so the trigger merges and a resolve closes it."""
    from datetime import timedelta

    from pgdr.daemon.alert_rules import conditions, step
    from pgdr.daemon.facts import DrillFact
    from pgdr.daemon.settings import AlertSettings
    from pgdr.drill.events import drill_dedup_key
    from tests.fixtures.daemon_facts import NOW, facts

    s = AlertSettings()
    failed = facts(repo_repo_id="ab12", repo_drills=[DrillFact("d2", NOW, False, "failed")])
    states, fired = step({}, conditions(failed, s), NOW, 0.0)
    (t,) = [t for t in fired if t.name == "drill_failed"]
    assert t.dedup_key == drill_dedup_key("ab12") == "pgdr-drill-ab12"
    assert alert_event(t, "db1").dedup_key == "pgdr-drill-ab12"
    passed = facts(repo_repo_id="ab12", repo_drills=[DrillFact("d3", NOW, True, "passed")])
    later = NOW + timedelta(minutes=1)
    _, resolved = step(states, conditions(passed, s), later, 0.0)
    (r,) = [r for r in resolved if r.name == "drill_failed"]
    assert (r.to, alert_event(r, "db1").dedup_key) == ("resolved", "pgdr-drill-ab12")
    # Without the repository's id (it was unreachable) the per-host key is used.
    _, unknown = step({}, conditions(facts(repo_drills=failed.repo.drills), s), NOW, 0.0)
    (u,) = [t for t in unknown if t.name == "drill_failed"]
    assert alert_event(u, "db1").dedup_key == "pgdr-alert-db1-drill_failed"
