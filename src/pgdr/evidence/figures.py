"""Expected RTO and RPO per recovery scenario, taken only from drill and game-day records:
newest, median and worst of the last N, with their dates; flagged when the newest is older
than the policy allows. No record: no figure ("no drill measured")."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

SCENARIOS = (
    "accidental-deletion",
    "corruption",
    "complete-loss",
    "region-failure",
    "malicious-deletion",
    "application-failure",
)


@dataclass(frozen=True)
class Measurement:
    """One recovery measured by a drill or a game day."""

    scenario: str
    record: str  # manifests/drill/<id> or manifests/gameday/<id>
    when: str  # ISO time the measurement finished
    result: str  # passed | warning | failed
    rto_seconds: float | None
    rpo_seconds: float | None


@dataclass
class Figures:
    scenario: str
    measured: int = 0
    newest: Measurement | None = None
    median_rto_seconds: float | None = None
    worst_rto_seconds: float | None = None
    worst_rto_record: str | None = None
    median_rpo_seconds: float | None = None
    worst_rpo_seconds: float | None = None
    worst_rpo_record: str | None = None
    stale: bool = False
    records: list[str] = field(default_factory=list)


def scenarios_of_drill(doc: dict[str, Any], replica_urls: set[str]) -> list[str]:
    """Which scenarios a drill record measures: a drill from a replica repository is a
    region failure's recovery; a point-in-time drill measures the PITR scenarios
    (corruption, accidental deletion); one to the latest WAL a complete loss."""
    url = str((doc.get("repository") or {}).get("url", ""))
    if url in replica_urls:
        return ["region-failure"]
    kind = str((doc.get("target") or {}).get("kind", ""))
    if kind in ("time", "random"):
        return ["corruption", "accidental-deletion"]
    return ["complete-loss"]


def figures_for(
    scenario: str, measurements: list[Measurement], now: datetime, last_n: int, max_age: timedelta
) -> Figures:
    mine = sorted((m for m in measurements if m.scenario == scenario), key=lambda m: m.when)
    recent = mine[-last_n:]
    fig = Figures(scenario, measured=len(recent), records=[m.record for m in recent])
    if not recent:
        return fig
    fig.newest = recent[-1]
    rtos = [m for m in recent if m.rto_seconds is not None and m.result != "failed"]
    rpos = [m for m in recent if m.rpo_seconds is not None and m.result != "failed"]
    if rtos:
        fig.median_rto_seconds = statistics.median(m.rto_seconds or 0.0 for m in rtos)
        worst = max(rtos, key=lambda m: m.rto_seconds or 0.0)
        fig.worst_rto_seconds, fig.worst_rto_record = worst.rto_seconds, worst.record
    if rpos:
        fig.median_rpo_seconds = statistics.median(m.rpo_seconds or 0.0 for m in rpos)
        worst = max(rpos, key=lambda m: m.rpo_seconds or 0.0)
        fig.worst_rpo_seconds, fig.worst_rpo_record = worst.rpo_seconds, worst.record
    fig.stale = now - datetime.fromisoformat(fig.newest.when) > max_age
    return fig


def seconds_text(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"
