"""Export files in Glacier Flexible Retrieval or Deep Archive (pure decisions): a GET fails
with InvalidObjectState until ``restore_object`` has copied the object back for some days.
Which files need a restore request, which are on their way, what to tell the operator and
how long a tier typically takes (AWS's published retrieval times)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pgdr.errors import ArchivedObjectsPending, UsageError
from pgdr.export.bucket import ObjectState
from pgdr.export.lifecycle import ARCHIVE_CLASSES

Tier = Literal["Standard", "Bulk", "Expedited"]
TIERS: tuple[str, ...] = ("Standard", "Bulk", "Expedited")
#: Typical time until a restored copy is readable, per storage class and tier.
TYPICAL_WAIT: dict[tuple[str, str], str] = {
    ("GLACIER", "Expedited"): "1-5 minutes",
    ("GLACIER", "Standard"): "3-5 hours",
    ("GLACIER", "Bulk"): "5-12 hours",
    ("DEEP_ARCHIVE", "Standard"): "up to 12 hours",
    ("DEEP_ARCHIVE", "Bulk"): "up to 48 hours",
}
#: Days a restored copy stays readable (long enough to run the restore again tomorrow).
RESTORED_DAYS = 7


@dataclass(frozen=True)
class ThawPlan:
    #: archived files with no restore yet: request one for each
    request: list[str]
    #: archived files S3 is copying back
    ongoing: list[str]
    #: storage classes of the archived files not readable yet
    classes: list[str]

    @property
    def ready(self) -> bool:
        return not self.request and not self.ongoing


def plan_thaw(states: list[ObjectState]) -> ThawPlan:
    archived = [s for s in states if s.storage_class in ARCHIVE_CLASSES]
    request = [s.key for s in archived if s.restore_ongoing is None]
    ongoing = [s.key for s in archived if s.restore_ongoing is True]
    waiting = {s.storage_class for s in archived if s.restore_ongoing is not False}
    return ThawPlan(request, ongoing, sorted(waiting))


def check_tier(tier: str, classes: list[str]) -> None:
    if tier not in TIERS:
        raise UsageError(f"--retrieval-tier {tier!r}: choose Standard, Bulk or Expedited")
    if tier == "Expedited" and "DEEP_ARCHIVE" in classes:
        raise UsageError(
            "Deep Archive has no Expedited retrieval: use --retrieval-tier Standard (up to "
            "12 hours) or Bulk (up to 48 hours)"
        )


def wait_text(tier: str, classes: list[str]) -> str:
    waits = [f"{c}: {TYPICAL_WAIT.get((c, tier), 'hours')}" for c in classes]
    return f"{tier} retrieval typically takes " + ", ".join(waits)


def pending_error(plan: ThawPlan, requested: int, tier: str, table: str) -> ArchivedObjectsPending:
    """The error `export restore` ends with while files are not readable yet."""
    total = len(plan.request) + len(plan.ongoing)
    parts = []
    if requested:
        parts.append(f"restore requested now for {requested}")
    if total - requested:
        parts.append(f"{total - requested} already being restored")
    return ArchivedObjectsPending(
        f"{total} file(s) of {table} are in {' / '.join(plan.classes)}: "
        f"{', '.join(parts)}; {wait_text(tier, plan.classes)}",
        hint=f"run the same command again then (restored copies stay readable {RESTORED_DAYS} days)",
    )
