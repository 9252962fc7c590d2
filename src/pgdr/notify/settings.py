"""``[notifications.NAME]`` tables of the config file, one model per channel type. URLs and
keys that grant access are secret references (``env:NAME`` / ``file:/path``), never values.
Endpoints of Slack and PagerDuty are configurable so tests (and proxies) can redirect them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from pgdr.settings_types import STRICT, Secret

On = list[Literal["ok", "warning", "failure"]]
ALL: On = ["ok", "warning", "failure"]


def _failures() -> On:
    return ["failure"]


class ChannelSettings(BaseModel):
    model_config = STRICT
    on: On = Field(default_factory=lambda: list(ALL))  # which event statuses to send
    timeout_s: float = Field(default=10.0, gt=0, le=300)


class WebhookSettings(ChannelSettings):
    type: Literal["webhook"]
    url: Secret
    headers: dict[str, Secret] = {}


class SlackSettings(ChannelSettings):
    type: Literal["slack"]
    webhook_url: Secret


class PagerDutySettings(ChannelSettings):
    type: Literal["pagerduty"]
    routing_key: Secret
    endpoint: str = "https://events.pagerduty.com/v2/enqueue"
    on: On = Field(default_factory=lambda: _failures())  # triggers; resolves always follow
    dedup_key: str | None = None  # default: the event's own key


class EmailSettings(ChannelSettings):
    type: Literal["email"]
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    ssl: bool = False
    username: str | None = None
    password: Secret | None = None
    sender: str = Field(alias="from")
    to: list[str] = Field(min_length=1)


class SnsSettings(ChannelSettings):
    type: Literal["sns"]
    topic_arn: str
    region: str | None = None
    endpoint: str | None = None


NotificationSettings = Annotated[
    WebhookSettings | SlackSettings | PagerDutySettings | EmailSettings | SnsSettings,
    Field(discriminator="type"),
]


def notification_settings(config: Any) -> dict[str, NotificationSettings]:
    """The validated ``[notifications.NAME]`` tables of a :class:`pgdr.config.Config`."""
    from pydantic import TypeAdapter

    from pgdr.config import section

    result: dict[str, NotificationSettings] = section(
        config, "notifications", TypeAdapter(dict[str, NotificationSettings])
    )
    return result
