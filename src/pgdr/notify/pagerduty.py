"""PagerDuty Events API v2: ``trigger`` on a failure, ``resolve`` on the next success, both
with the same dedup key so one incident tracks one ongoing problem."""

from __future__ import annotations

from typing import Any

from pgdr.notify.channel import Channel
from pgdr.notify.event import Event
from pgdr.notify.http import post_json
from pgdr.notify.settings import PagerDutySettings

SEVERITY = {"ok": "info", "warning": "warning", "failure": "critical"}


def pagerduty_payload(event: Event, routing_key: str, dedup_key: str) -> dict[str, Any] | None:
    """The Events v2 body for ``event``, or None when there is nothing to say (a success
    that follows a success)."""
    if event.resolves:
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup_key}
    if event.status == "ok":
        return None
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": event.title[:1024],
            "source": event.source,
            "severity": SEVERITY[event.status],
            "timestamp": event.time,
            "component": "pgdr",
            "group": event.kind,
            "class": event.kind,
            "custom_details": {"text": event.text, **event.details},
        },
        "links": [{"href": v, "text": k} for k, v in event.links.items()],
    }


class PagerDutyNotifier(Channel[PagerDutySettings]):
    def wants(self, event: Event) -> bool:
        return event.resolves or (event.status != "ok" and event.status in self.settings.on)

    def send(self, event: Event) -> None:
        s = self.settings
        key = s.routing_key.resolve()
        body = pagerduty_payload(event, key, s.dedup_key or event.dedup_key)
        if body is not None:
            post_json(self.name, s.endpoint, body, timeout=s.timeout_s, secrets=[key])
