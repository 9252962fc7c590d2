"""Slack incoming webhook: a short text plus one attachment coloured by status."""

from __future__ import annotations

from typing import Any

from pgdr.notify.channel import Channel
from pgdr.notify.event import Event
from pgdr.notify.http import post_json
from pgdr.notify.settings import SlackSettings

COLOURS = {"ok": "#2eb886", "warning": "#daa038", "failure": "#a30200"}
ICONS = {"ok": ":white_check_mark:", "warning": ":warning:", "failure": ":rotating_light:"}


def slack_payload(event: Event) -> dict[str, Any]:
    return {
        "text": f"{ICONS[event.status]} {event.title}",
        "attachments": [
            {
                "color": COLOURS[event.status],
                "title": event.title,
                "text": event.text,
                "footer": f"pgdr on {event.source}",
                "fields": [
                    {"title": k, "value": str(v), "short": True}
                    for k, v in list(event.details.items())[:8]
                    if not isinstance(v, dict | list)
                ],
            }
        ],
    }


class SlackNotifier(Channel[SlackSettings]):
    def send(self, event: Event) -> None:
        s = self.settings
        post_json(
            self.name,
            s.webhook_url.resolve(),
            slack_payload(event),
            timeout=s.timeout_s,
            secret_url=True,
        )
