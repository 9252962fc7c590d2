"""What every notification channel shares: its name, its settings and the ``on`` filter."""

from __future__ import annotations

from typing import Generic, TypeVar

from pgdr.notify.event import Event
from pgdr.notify.settings import ChannelSettings

S = TypeVar("S", bound=ChannelSettings)


class Channel(Generic[S]):
    def __init__(self, name: str, settings: S) -> None:
        self.name = name
        self.settings = settings

    def wants(self, event: Event) -> bool:
        """Events whose status the channel's ``on`` lists, and every resolution."""
        return event.status in self.settings.on or event.resolves
