"""The event every channel delivers: what happened, how bad, and a stable key that ties the
events of one ongoing problem together (PagerDuty's dedup key)."""

from __future__ import annotations

import socket
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Status = Literal["ok", "warning", "failure"]
SCHEMA = "pgdr.event/1"


@dataclass(frozen=True)
class Event:
    kind: str  # "drill" now; the daemon adds "alert"
    status: Status
    title: str  # one line
    text: str  # a few lines for humans (e-mail body, Slack message)
    dedup_key: str  # the same for every event about the same thing
    previous_status: Status | None = None  # of the last event with this dedup key, if known
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    source: str = field(default_factory=socket.gethostname)
    details: dict[str, Any] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)

    @property
    def resolves(self) -> bool:
        """A success after a failure: the problem keyed by ``dedup_key`` is over."""
        return self.status == "ok" and self.previous_status in ("failure", "warning")

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, **asdict(self), "resolves": self.resolves}
