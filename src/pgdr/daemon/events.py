"""Alert transitions as notification events (``pgdr.notify``), delivered per channel.

Firing: status ``failure`` (critical) or ``warning``; resolved: ``ok`` with the previous
status, so every channel treats it as a resolve (PagerDuty resolves the incident it opened).
The dedup key is stable per host and alert: ``pgdr-alert-<host>-<name>`` — except for
``drill_failed``, which shares the failed drill's own key (``pgdr-drill-<repo id>``), so one
failure is one PagerDuty incident.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from pgdr.daemon.alert_delivery import Deliver
from pgdr.daemon.alert_rules import RULES, Transition
from pgdr.notify.base import Notifier, send_all
from pgdr.notify.event import Event, Status


def alert_event(t: Transition, host: str | None = None) -> Event:
    host = host or socket.gethostname()
    raised: Status = "failure" if t.severity == "critical" else "warning"
    firing = t.to == "firing"
    word = "FIRING" if firing else "RESOLVED"
    return Event(
        kind="alert",
        status=raised if firing else "ok",
        title=f"[{word}] pgdr {t.name} on {host}: {t.summary}",
        text="\n".join(
            [
                f"{t.name} ({t.severity}) {word.lower()} at {t.at}",
                RULES[t.name][1],
                t.summary,
                *([f"firing since {t.firing_since}"] if not firing and t.firing_since else []),
            ]
        ),
        dedup_key=t.dedup_key or f"pgdr-alert-{host}-{t.name}",
        previous_status=None if firing else raised,
        time=t.at,
        details={
            "alert": t.name,
            "severity": t.severity,
            "state": t.to,
            "summary": t.summary,
            "firing_since": t.firing_since,
        },
    )


def make_deliver(notifiers: Sequence[Notifier], channels: list[str] | None) -> Deliver:
    """A Deliver for the AlertBook: ``channels`` ([alerts] notify) limits which are used."""

    def deliver(t: Transition, only: list[str] | None) -> list[str]:
        targets = [
            n
            for n in notifiers
            if (channels is None or n.name in channels) and (only is None or n.name in only)
        ]
        return [d.channel for d in send_all(targets, alert_event(t)) if not d.ok]

    return deliver
