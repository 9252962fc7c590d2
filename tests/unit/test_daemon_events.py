"""Alert transitions become notification events every channel understands."""

from __future__ import annotations

import pytest

from pgdr.daemon.alerts import Transition
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
