"""The pure decisions of an RDS drill (docs/design.md §8d, "RDS drills"): the restore point
in the PITR window, the drill instance's name and tags, whether a tagged instance was left
by a dead drill, and the test-only endpoint map. Table-tested in tests/unit."""

from __future__ import annotations

import fnmatch
import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from pgdr.drill.choose import _when
from pgdr.errors import ConfigError, UsageError

#: The tag that marks an instance as a pgdr drill's (value: the drill id). Cleanup removes
#: only instances carrying it, never an untagged one.
DRILL_TAG = "pgdr-drill"
#: host:pid:pid_start of the drill process, so a later run can tell a dead drill's instance.
OWNER_TAG = "pgdr-drill-owner"
#: The RestoreTime pgdr asked for (ISO 8601, UTC) or "latest".
RESTORE_TAG = "pgdr-drill-restore-time"
#: "true" when the drill ran with --keep: not a leftover, removed by `cleanup --rds --kept`.
KEPT_TAG = "pgdr-drill-kept"
#: A tagged instance made on another host is a leftover once it is this old (its owner's
#: process cannot be checked from here).
FOREIGN_STALE = timedelta(hours=24)
#: Test-only: a JSON object {"address:port" or a glob of it: "conninfo"} (docs/design.md §8d).
ENDPOINT_MAP_ENV = "PGDR_TEST_RDS_ENDPOINT_MAP"


@dataclass(frozen=True)
class RestorePoint:
    #: UseLatestRestorableTime (then ``time`` is None) or RestoreTime = ``time``.
    latest: bool
    time: datetime | None
    #: What recency / RPO is measured against: the restore time, or the drill's start.
    reference: datetime

    @property
    def describe(self) -> str:
        return "the latest restorable time" if self.time is None else self.time.isoformat()


def restore_point(
    target: str, earliest: datetime, latest: datetime, now: datetime, rng: random.Random
) -> RestorePoint:
    """``target``: latest | random | an ISO time inside [earliest, latest] (whole seconds:
    what RDS restores to)."""
    if target == "latest":
        return RestorePoint(True, None, now)
    if target == "random":
        lo = earliest.replace(microsecond=0) + timedelta(seconds=1)
        hi = latest.replace(microsecond=0)
        if hi < lo:  # a window shorter than whole seconds: its end
            return RestorePoint(False, latest, latest)
        when = lo + timedelta(seconds=int((hi - lo).total_seconds() * rng.random()))
        return RestorePoint(False, when, when)
    when = _when(target)
    if not earliest <= when <= latest:
        raise UsageError(
            f"--target {target}: outside the instance's restorable window "
            f"{earliest.isoformat()} .. {latest.isoformat()}"
        )
    return RestorePoint(False, when, when)


def instance_id(drill_id: str) -> str:
    """A valid DB instance identifier (letters, digits, hyphens; a letter first; at most 63)
    that names the drill: ``pgdr-drill-20261207t124000123z-1a2b3c4d``."""
    return "pgdr-drill-" + drill_id.lower().replace(".", "").replace("_", "-")[:50]


def drill_tags(
    drill_id: str, owner: str, point: RestorePoint, extra: dict[str, str]
) -> list[dict[str, str]]:
    ours = {
        DRILL_TAG: drill_id,
        OWNER_TAG: owner,
        RESTORE_TAG: "latest" if point.time is None else point.time.isoformat(),
    }
    return [{"Key": k, "Value": v} for k, v in {**extra, **ours}.items()]


def tag_map(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or [] if "Key" in t and "Value" in t}


def is_leftover(
    tags: dict[str, str],
    here: str,
    alive: dict[tuple[int, str], bool],
    created: datetime | None,
    now: datetime,
    *,
    include_kept: bool = False,
) -> bool:
    """A tagged drill instance whose drill is dead: its owner process (on this host) is gone,
    or it was made on another host more than FOREIGN_STALE ago. Untagged: never.
    ``alive``: (pid, pid_start) -> whether that process still runs here."""
    if DRILL_TAG not in tags:
        return False
    if tags.get(KEPT_TAG) == "true":
        return include_kept
    parts = tags.get(OWNER_TAG, "").rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return created is not None and now - created > FOREIGN_STALE
    host, pid, start = parts[0], int(parts[1]), parts[2]
    if host != here:
        return created is not None and now - created > FOREIGN_STALE
    return not alive.get((pid, start), False)


def endpoint_map(raw: str | None) -> dict[str, str]:
    """The test seam's map: where the instance endpoint ``address:port`` really is."""
    if not raw:
        return {}
    try:
        doc = json.loads(raw)
    except ValueError:
        raise ConfigError(f"{ENDPOINT_MAP_ENV}: not a JSON object") from None
    if not isinstance(doc, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in doc.items()
    ):
        raise ConfigError(f'{ENDPOINT_MAP_ENV}: expected {{"address:port": "conninfo"}}')
    return doc


def mapped(seam: dict[str, str], endpoint: str) -> str | None:
    """The conninfo the test seam maps ``endpoint`` to: an exact key, else the first glob
    (in key order) that matches it; None when unmapped (the real endpoint is used)."""
    if endpoint in seam:
        return seam[endpoint]
    return next((v for k, v in seam.items() if fnmatch.fnmatchcase(endpoint, k)), None)
