"""The archived WAL as restores see it: every WAL object per timeline with the time it was
stored (one listing of ``wal/``), and the timeline history files parsed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pgdr.pg.timeline import TimelineSwitch, parse_history
from pgdr.pg.wal import is_history, timeline_of_history
from pgdr.repo.format import WAL_PREFIX
from pgdr.repo.repository import Repository
from pgdr.storage.base import ObjectInfo
from pgdr.wal.archive import read

#: Parsed history files: {timeline: its switches, oldest first}.
Timelines = dict[int, list[TimelineSwitch]]


@dataclass(frozen=True)
class WalCatalog:
    #: {timeline: {file name: when it was stored (None where the storage cannot tell)}},
    #: names in listing (sorted) order.
    stored: dict[int, dict[str, datetime | None]]
    objects: tuple[ObjectInfo, ...] = ()

    @classmethod
    def from_listing(cls, listing: Iterable[ObjectInfo]) -> WalCatalog:
        objects = tuple(listing)
        stored: dict[int, dict[str, datetime | None]] = {}
        for obj in objects:
            _prefix, tli, name = obj.key.split("/", 2)
            stored.setdefault(int(tli, 16), {})[name] = obj.modified
        return cls(stored, objects)

    @property
    def archived(self) -> dict[int, list[str]]:
        """File names per timeline, sorted."""
        return {t: list(names) for t, names in self.stored.items()}

    def times(self) -> dict[str, datetime | None]:
        """When each file was stored, by file name."""
        return {n: when for names in self.stored.values() for n, when in names.items()}


def list_wal_catalog(repo: Repository) -> WalCatalog:
    return WalCatalog.from_listing(repo.backend.list(WAL_PREFIX))


def list_wal(repo: Repository) -> dict[int, list[str]]:
    """Archived WAL file names per timeline, sorted."""
    return list_wal_catalog(repo).archived


def read_histories(
    repo: Repository, archived: dict[int, list[str]], *, strict: bool = False
) -> Timelines:
    """Every timeline history file in the repository, parsed (they are few and small). An
    unparsable one is left out (never followed) — or, ``strict`` (retention, which must not
    decide over a history it cannot read), raises TimelineHistoryError."""
    out: Timelines = {}
    for names in archived.values():
        for name in names:
            if is_history(name):
                text = read(repo, name).decode("utf-8", "replace")
                if strict:
                    out[timeline_of_history(name)] = parse_history(text)
                    continue
                with contextlib.suppress(ValueError):
                    out[timeline_of_history(name)] = parse_history(text)
    return out
