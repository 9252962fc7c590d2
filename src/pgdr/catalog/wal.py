"""The archived WAL as restores see it: every WAL object per timeline with the time it was
stored (one listing of ``wal/``), and the timeline history files parsed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pgdr.errors import UsageError
from pgdr.pg.timeline import TimelineSwitch, parse_history
from pgdr.pg.wal import (
    is_backup_history,
    is_history,
    is_partial,
    is_segment,
    timeline_of_history,
    timeline_of_name,
)
from pgdr.repo.format import WAL_PREFIX, ObjectType
from pgdr.repo.repository import Repository
from pgdr.storage.base import ObjectInfo


def check_wal_name(name: str) -> str:
    if "/" in name or not (
        is_segment(name) or is_partial(name) or is_history(name) or is_backup_history(name)
    ):
        raise UsageError(f"{name!r} is not a WAL segment, .partial, .history or .backup file name")
    return name


def wal_key(name: str) -> str:
    """The object key of WAL file ``name``: ``wal/<timeline>/<name>``."""
    check_wal_name(name)
    return f"{WAL_PREFIX}{timeline_of_name(name):08X}/{name}"


def read(repo: Repository, name: str) -> bytes:
    """One archived WAL file's bytes, authenticated (bound to its key)."""
    key = wal_key(name)
    return repo.sealer.open(repo.backend.get(key), key.encode(), key, ObjectType.WAL)


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


class HistoryCache:
    """Parsed timeline history files kept across calls by a long-lived reader (the daemon
    collects every few seconds): a history file is written once, so each one (by name and
    storage time) is read once; files no longer listed are forgotten. Unparsable ones are
    left out, as ``read_histories`` does."""

    def __init__(self) -> None:
        self._parsed: dict[tuple[str, datetime | None], list[TimelineSwitch] | None] = {}

    def read(self, repo: Repository, wal: WalCatalog) -> Timelines:
        listed = {
            (name, when)
            for names in wal.stored.values()
            for name, when in names.items()
            if is_history(name)
        }
        for gone in set(self._parsed) - listed:
            del self._parsed[gone]
        for name, when in sorted(listed - set(self._parsed), key=lambda k: k[0]):
            try:
                switches: list[TimelineSwitch] | None = parse_history(
                    read(repo, name).decode("utf-8", "replace")
                )
            except ValueError:
                switches = None
            self._parsed[(name, when)] = switches
        return {
            timeline_of_history(name): switches
            for (name, _when), switches in sorted(self._parsed.items(), key=lambda k: k[0][0])
            if switches is not None
        }
