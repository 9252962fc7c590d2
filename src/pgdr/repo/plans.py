"""Deletion plans: what garbage collection is about to delete (docs/design.md §10).

A plan is a transient JSON object ``plans/<20-digit µs time>-<16 hex>`` (never under Object
Lock, like locks) naming the packs GC will delete and the index objects it will retire.
Writers list plans after writing their lock and do not deduplicate against a planned pack;
GC lists locks after writing its plan and deletes only once every lock live then has ended.
A plan is advisory: the sweep re-checks every reference before deleting, so a damaged or
forged plan can make GC keep more, never delete something referenced.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from pgdr.errors import PgdrError
from pgdr.repo.format import PLANS_PREFIX
from pgdr.repo.locks import Holder
from pgdr.storage.base import Backend, PutOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    plan_id: str
    created: float
    purpose: str
    host: str
    pid: int
    packs: list[bytes]
    indexes: list[bytes]
    #: Lock holders live right after the plan was durable; None: not recorded (a crash came
    #: between the plan and its listing of locks): wait for every live lock instead.
    waits: list[Holder] | None = None
    #: When the first version of the plan was stored, by the storage's clock. A planned
    #: pack stored at or after it was written again (unencrypted repositories have
    #: deterministic packs) and is spared.
    first_stored: datetime | None = None

    @property
    def key(self) -> str:
        return PLANS_PREFIX + self.plan_id

    def to_json(self) -> bytes:
        doc = {
            "version": 1,
            "id": self.plan_id,
            "created": self.created,
            "purpose": self.purpose,
            "host": self.host,
            "pid": self.pid,
            "packs": [p.hex() for p in self.packs],
            "indexes": [i.hex() for i in self.indexes],
            "waits": None if self.waits is None else [list(h) for h in self.waits],
            "first_stored": self.first_stored.isoformat() if self.first_stored else None,
        }
        return json.dumps(doc, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, plan_id: str, data: bytes) -> Plan:
        doc = json.loads(data)
        waits = doc.get("waits")
        stored = doc.get("first_stored")
        return cls(
            plan_id,
            float(doc["created"]),
            str(doc["purpose"]),
            str(doc["host"]),
            int(doc["pid"]),
            [bytes.fromhex(p) for p in doc["packs"]],
            [bytes.fromhex(i) for i in doc["indexes"]],
            None if waits is None else [(str(h), int(p), float(c)) for h, p, c in waits],
            datetime.fromisoformat(stored) if stored else None,
        )


def _new_id(now: float) -> str:
    return f"{int(now * 1e6):020d}-{os.urandom(8).hex()}"


def write_plan(
    backend: Backend,
    purpose: str,
    packs: list[bytes],
    indexes: list[bytes],
    *,
    clock: Callable[[], float] = time.time,
) -> Plan:
    now = clock()
    plan = Plan(_new_id(now), now, purpose, socket.gethostname(), os.getpid(), packs, indexes)
    backend.put(plan.key, plan.to_json(), PutOptions(transient=True))
    return plan


def record_waits(backend: Backend, plan: Plan, waits: list[Holder]) -> Plan:
    """Replace the plan by one that also names the locks to wait for and when the first
    version was stored. Written before the first is deleted, so a plan naming these packs
    exists at every moment."""
    info = backend.stat(plan.key)
    full = replace(
        plan,
        plan_id=_new_id(plan.created),
        waits=sorted(waits),
        first_stored=info.modified if info is not None else None,
    )
    backend.put(full.key, full.to_json(), PutOptions(transient=True))
    backend.delete(plan.key)
    return full


def list_plans(backend: Backend) -> list[Plan]:
    out = []
    for info in backend.list(PLANS_PREFIX):
        plan_id = info.key[len(PLANS_PREFIX) :]
        try:
            plan = Plan.from_json(plan_id, backend.get(info.key))
            out.append(plan if plan.first_stored else replace(plan, first_stored=info.modified))
        except PgdrError:
            continue  # finished and deleted between list and get
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring unreadable deletion plan %s", info.key)
            out.append(Plan(plan_id, 0.0, "unreadable", "?", 0, [], [], []))
    return out


def planned_packs(backend: Backend) -> set[bytes]:
    """Packs some garbage collection plans to delete: a writer must not deduplicate
    against them."""
    return {p for plan in list_plans(backend) for p in plan.packs}
