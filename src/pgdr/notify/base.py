"""The notifier interface, building channels from the config, and delivering one event to
every channel without letting one broken channel hide the others."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from pgdr.errors import PgdrError
from pgdr.notify.event import Event
from pgdr.notify.settings import (
    EmailSettings,
    NotificationSettings,
    PagerDutySettings,
    SlackSettings,
    SnsSettings,
    WebhookSettings,
)


class Notifier(Protocol):
    name: str

    def wants(self, event: Event) -> bool:
        """Whether this channel sends ``event`` at all (its ``on`` filter)."""
        ...

    def send(self, event: Event) -> None:
        """Deliver or raise NotifyError (one line naming the channel and the cause)."""
        ...


@dataclass
class Delivery:
    channel: str
    ok: bool
    seconds: float
    error: str | None = None


def build_notifiers(settings: Mapping[str, NotificationSettings]) -> list[Notifier]:
    from pgdr.notify import mail, pagerduty, slack, sns, webhook

    out: list[Notifier] = []
    for name, s in sorted(settings.items()):
        if isinstance(s, WebhookSettings):
            out.append(webhook.WebhookNotifier(name, s))
        elif isinstance(s, SlackSettings):
            out.append(slack.SlackNotifier(name, s))
        elif isinstance(s, PagerDutySettings):
            out.append(pagerduty.PagerDutyNotifier(name, s))
        elif isinstance(s, EmailSettings):
            out.append(mail.EmailNotifier(name, s))
        elif isinstance(s, SnsSettings):
            out.append(sns.SnsNotifier(name, s))
    return out


def send_all(notifiers: Iterable[Notifier], event: Event) -> list[Delivery]:
    """Send ``event`` to every channel that wants it; a failure is recorded, not raised."""
    out: list[Delivery] = []
    for n in notifiers:
        if not n.wants(event):
            continue
        t = time.monotonic()
        try:
            n.send(event)
            out.append(Delivery(n.name, True, time.monotonic() - t))
        except PgdrError as e:
            out.append(Delivery(n.name, False, time.monotonic() - t, e.message))
        except Exception as e:  # a channel bug must not cost the other channels
            out.append(Delivery(n.name, False, time.monotonic() - t, f"{type(e).__name__}: {e}"))
    return out


class RecordingNotifier:
    """A notifier we own for tests and dry runs: keeps what it was sent."""

    def __init__(self, name: str = "recording") -> None:
        self.name = name
        self.events: list[Event] = []

    def wants(self, event: Event) -> bool:
        return True

    def send(self, event: Event) -> None:
        self.events.append(event)
