"""Copying single objects to the replica: read, verify, write, check on arrival — and audit
entries in chain order, each after every entry it names."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pgdr.audit.entry import open_entry, parse_key
from pgdr.errors import ObjectNotFound, PgdrError
from pgdr.replicate.check import verify_object
from pgdr.repo.repository import Repository
from pgdr.storage.base import Backend


@dataclass(frozen=True)
class Outcome:
    key: str
    status: str  # copied | vanished | failed
    bytes: int = 0
    message: str = ""


def copy_one(source: Repository, target: Backend, key: str, data: bytes | None = None) -> Outcome:
    """Read (unless given), verify, write, check the size on arrival."""
    if data is None:
        try:
            data = source.backend.get(key)
        except ObjectNotFound:
            return Outcome(key, "vanished")
    try:
        verify_object(source, key, data)
        target.put(key, data)
        arrived = target.stat(key)
    except PgdrError as e:
        return Outcome(key, "failed", message=e.message.removeprefix(f"{key}: "))
    if arrived is None or arrived.size != len(data):
        got = "nothing" if arrived is None else f"{arrived.size} bytes"
        return Outcome(key, "failed", message=f"sent {len(data)} bytes, {got} arrived")
    return Outcome(key, "copied", len(data))


class AuditCopier:
    """Audit entries reach the replica in chain order, each only after every entry it names,
    so the replica's chain never names a missing entry — even when an entry was appended
    while the source was being listed (a WAL summary) and a later one names it."""

    def __init__(self, source: Repository, target: Backend, present: Iterable[str]) -> None:
        self.source, self.target = source, target
        self.done = set(present)  # on the replica already, or handled in this run

    def copy(self, missing: Iterable[str]) -> list[Outcome]:
        out: list[Outcome] = []
        for key in sorted(missing, key=lambda k: (parse_key(k) or (0, ""), k)):
            self._visit(key, out, known_missing=True)
        return out

    def _visit(self, key: str, out: list[Outcome], *, known_missing: bool) -> None:
        if key in self.done:
            return
        self.done.add(key)
        if not known_missing and self.target.stat(key) is not None:
            return
        try:
            data = self.source.backend.get(key)
        except ObjectNotFound:
            out.append(Outcome(key, "vanished"))
            return
        try:
            entry = open_entry(self.source, key, data)
        except PgdrError as e:
            out.append(Outcome(key, "failed", message=e.message.removeprefix(f"{key}: ")))
            return
        for prev in entry.prev:  # a predecessor the listing missed is copied first
            self._visit(prev, out, known_missing=False)
        out.append(copy_one(self.source, self.target, key, data))
