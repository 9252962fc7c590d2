"""AWS SNS through boto3: the event's title as subject, its JSON as the message, and the
status and dedup key as message attributes (for subscription filter policies)."""

from __future__ import annotations

import json
from typing import Any

from pgdr.errors import NotifyError
from pgdr.notify.channel import Channel
from pgdr.notify.event import Event
from pgdr.notify.settings import SnsSettings


class SnsNotifier(Channel[SnsSettings]):
    def _client(self) -> Any:
        import boto3
        from botocore.config import Config

        s = self.settings
        cfg = Config(
            connect_timeout=s.timeout_s, read_timeout=s.timeout_s, retries={"max_attempts": 2}
        )
        return boto3.client("sns", region_name=s.region, endpoint_url=s.endpoint, config=cfg)

    def send(self, event: Event) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client().publish(
                TopicArn=self.settings.topic_arn,
                Subject=f"pgdr {event.status}: {event.title}"[:99],
                Message=json.dumps(event.to_dict()),
                MessageAttributes={
                    "status": {"DataType": "String", "StringValue": event.status},
                    "kind": {"DataType": "String", "StringValue": event.kind},
                    "dedup_key": {"DataType": "String", "StringValue": event.dedup_key},
                },
            )
        except (BotoCoreError, ClientError) as e:
            raise NotifyError(f"notification channel {self.name!r} failed: SNS: {e}") from None
