"""Generic webhook: the event as JSON (``pgdr.event/1``), POSTed to a URL."""

from __future__ import annotations

from pgdr.notify.channel import Channel
from pgdr.notify.event import Event
from pgdr.notify.http import post_json
from pgdr.notify.settings import WebhookSettings


class WebhookNotifier(Channel[WebhookSettings]):
    def send(self, event: Event) -> None:
        s = self.settings
        headers = {k: v.resolve() for k, v in s.headers.items()}
        post_json(
            self.name,
            s.url.resolve(),
            event.to_dict(),
            timeout=s.timeout_s,
            headers=headers,
            secret_url=True,
            secrets=list(headers.values()),
        )
