"""How long a restore will take, from what drills measured (``restore preview``).

A drill is a restore into a sandbox (docs/design.md §8d); its record holds the seconds of
each step and the backup it restored. Its throughput is what it restored — the backup's
file bytes plus the WAL it replayed, from the backup's start to where replay stopped — over
the steps that a restore also runs (fetch, instance creation, WAL replay; not the checks).
The estimate is the bytes a restore will fetch and replay over the median throughput of the
``RECENT`` newest drills that passed and whose backup is still in the repository. Pure but
for ``drill_timings``, which reads the records as stored (``pgdr.restore`` does not import
``pgdr.drill``: the services are independent), skipping any it cannot read."""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pgdr.catalog.manifest import F_KIND, F_SIZE, BackupManifest
from pgdr.errors import PgdrError
from pgdr.pg.wal import parse_lsn
from pgdr.repo.repository import Repository

DRILL_KIND = "drill"
#: The drill steps a restore also runs (``pgdr.drill.engine.READY_STEPS`` minus the
#: connectivity check).
RESTORE_STEPS = frozenset({"fetch", "instance creation", "wal replay"})
RECENT = 5


@dataclass(frozen=True)
class DrillTiming:
    id: str
    seconds: float
    bytes: int  # backup files + WAL replayed

    @property
    def throughput(self) -> float:
        return self.bytes / self.seconds


@dataclass(frozen=True)
class Estimate:
    seconds: float | None
    basis: str
    throughput: float | None = None  # bytes per second
    drills: tuple[str, ...] = ()


def files_bytes(backup: BackupManifest) -> int:
    """The logical bytes of a backup's files, from the stored list (no validation: an
    estimate only; a restore checks the list before it writes)."""
    files = backup.files if isinstance(backup.files, list) else []
    return sum(
        f[F_SIZE]
        for f in files
        if isinstance(f, dict) and f.get(F_KIND) == "file" and isinstance(f.get(F_SIZE), int)
    )


def timing_of(doc: Mapping[str, Any], backups: Mapping[str, BackupManifest]) -> DrillTiming | None:
    """A drill record's restore timing, or None when it cannot serve: it failed, its steps
    are missing, or its backup is gone."""
    if doc.get("result") not in ("passed", "warning") or doc.get("error"):
        return None
    backup = backups.get(str((doc.get("backup") or {}).get("id")))
    if backup is None:
        return None
    seconds = sum(
        float(s.get("seconds") or 0)
        for s in doc.get("steps") or []
        if isinstance(s, dict) and s.get("name") in RESTORE_STEPS
    )
    if seconds <= 0:
        return None
    seg = backup.wal_segment_size
    last = backup.stop_lsn
    reached = (doc.get("reached") or {}).get("lsn")
    if isinstance(reached, str):
        with contextlib.suppress(PgdrError):
            last = max(last, parse_lsn(reached))
    wal = (last // seg - backup.start_lsn // seg + 1) * seg
    return DrillTiming(str(doc.get("id")), seconds, files_bytes(backup) + wal)


def estimate(timings: Sequence[DrillTiming], restore_bytes: int) -> Estimate:
    """``timings`` oldest first; the estimate from the newest ``RECENT``."""
    recent = list(timings)[-RECENT:]
    if not recent:
        return Estimate(
            None,
            "no drill record to estimate from: run `pgdr drill run` (a drill measures the "
            "restore throughput)",
        )
    rate = statistics.median(t.throughput for t in recent)
    n = len(recent)
    return Estimate(
        restore_bytes / rate,
        f"median restore throughput of the {n} most recent passed drill{'s' * (n > 1)} "
        f"({rate / (1 << 20):.1f} MiB/s: backup files and WAL replayed over fetch, "
        "instance creation and WAL replay)",
        rate,
        tuple(t.id for t in recent),
    )


def drill_timings(
    repo: Repository, backups: Sequence[BackupManifest], limit: int = 50
) -> list[DrillTiming]:
    """The usable timings of the newest ``limit`` drill records, oldest first."""
    by_id = {b.id: b for b in backups}
    out: list[DrillTiming] = []
    for drill_id in sorted(repo.list_manifests(DRILL_KIND))[-limit:]:
        try:
            doc = repo.get_manifest(DRILL_KIND, drill_id).doc
        except PgdrError:
            continue
        if isinstance(doc, dict):
            try:
                timing = timing_of(doc, by_id)
            except (TypeError, ValueError, AttributeError):
                continue
            if timing is not None:
                out.append(timing)
    return out
