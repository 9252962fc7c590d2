"""How a drill's instance comes to be, apart from what the drill does with it: one engine
(``pgdr.drill.engine``: connectivity, validation, record, notification) and small providers
that bring an instance up and tear it down — a sandbox restored from the repository
(``sandbox_provider``) or an RDS point-in-time restore (``rds_provider``). Every provider
gives the same guarantees: its own steps are timed on the drill's clock, teardown runs on
success, failure, Ctrl-C and SIGTERM, and what a SIGKILLed drill left behind is removed by
the next drill (``reap``) or `pgdr drill cleanup`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pgdr.catalog.snapshot import CatalogSnapshot
from pgdr.drill.record import DrillRecord
from pgdr.drill.steps import StepClock


@dataclass
class Instance:
    """A running PostgreSQL holding the data at the drill's target, as the engine sees it."""

    #: database -> libpq conninfo of the restored instance.
    conninfo: Callable[[str], str]
    #: What the restored data is checked against: tables, rows, indexes, constraints.
    catalog: CatalogSnapshot
    #: What recency (and the RPO) is measured against: the target time, or the drill's start.
    reference: datetime
    #: Recency's fallback when no transaction time can be read (a backup's start), if any.
    floor: datetime | None
    #: The database checked when [drill.databases] names none.
    default_database: str


class InstanceProvider(Protocol):
    #: "sandbox" | "rds": stored in the record's ``sandbox.provider``.
    kind: str
    #: Steps that are not part of the recovery, hence not of the RTO.
    rto_excludes: tuple[str, ...]

    def reap(self) -> list[str]:
        """Remove what killed drills left behind; returns what was removed."""
        ...

    def bring_up(self, rec: DrillRecord, clock: StepClock) -> Instance:
        """Restore and start the instance, each step on ``clock``; fills the record's
        backup, target, timeline, reached and sandbox."""
        ...

    def integrity(self, rec: DrillRecord, clock: StepClock) -> None:
        """Physical checks the provider can run (appended to ``rec.checks``)."""
        ...

    def teardown(self, rec: DrillRecord, keep: bool) -> None:
        """Remove the instance (or keep it, marked as kept); must not raise for an instance
        that was never made."""
        ...
