"""Pure helpers of bench/compare.py: ratios, the issue's bars, markdown tables.

No I/O and no PostgreSQL here, so tests/unit/test_bench_compare.py can check them in
milliseconds. A "bar" is one of issue 14's goals: pgdr's figure divided by a peer's must
be at most ``goal``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    dataset: str
    name: str
    value: float | None  # pgdr / peer; None when the run did not measure it
    goal: float

    @property
    def met(self) -> bool | None:
        return None if self.value is None else self.value <= self.goal


def ratio(mine: float | None, theirs: float | None) -> float | None:
    """``mine / theirs``; None when either is missing or the peer's figure is not positive."""
    if mine is None or theirs is None or not theirs > 0 or math.isnan(mine):
        return None
    return mine / theirs


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def verdict(bar: Bar) -> str:
    return {True: "met", False: "NOT met", None: "not measured"}[bar.met]


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A markdown table; floats with two decimals."""

    def cell(v: object) -> str:
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


#: Which bar applies to which data set ("random" = random-text filler, "blank" = pgbench's).
RANDOM_ONLY = {"full backup wall vs pgBackRest", "full backup wall vs pg_basebackup zstd:1"}
BLANK_ONLY = {"stored bytes vs pgBackRest"}


def bars(dataset: str, random_filler: bool, m: Mapping[str, float | None]) -> list[Bar]:
    """The issue's bars for one data set from its measurements ``m`` (seconds, ms, bytes);
    missing keys (a part not run with ``--only``) give "not measured"."""

    def g(key: str) -> float | None:
        return m.get(key)

    def total(who: str) -> float | None:
        f, s = g(f"restore files {who}"), g(f"restore start {who}")
        return None if f is None or s is None else f + s

    out = [
        Bar(dataset, "restore total vs pgBackRest", ratio(total("pgdr"), total("pgbr")), 0.5),
        Bar(
            dataset,
            "restore files vs pgBackRest",
            ratio(g("restore files pgdr"), g("restore files pgbr")),
            0.45,
        ),
        Bar(
            dataset,
            "restore start->promoted vs pgBackRest",
            ratio(g("restore start pgdr"), g("restore start pgbr")),
            1.0,
        ),
        Bar(
            dataset,
            "sync wal-push ms/segment vs pgBackRest",
            ratio(g("wal pgdr"), g("wal pgbr")),
            1.0,
        ),
        Bar(
            dataset,
            "full backup wall vs pgBackRest",
            ratio(g("backup wall pgdr"), g("backup wall pgbr")),
            0.5,
        ),
        Bar(
            dataset,
            "full backup wall vs pg_basebackup zstd:1",
            ratio(g("backup wall pgdr"), g("backup wall basebackup")),
            1.0,
        ),
        Bar(
            dataset,
            "stored bytes vs pgBackRest",
            ratio(g("backup bytes pgdr"), g("backup bytes pgbr")),
            1.05,
        ),
    ]
    skip = BLANK_ONLY if random_filler else RANDOM_ONLY
    return [b for b in out if b.name not in skip]


def summary(all_bars: Iterable[Bar]) -> str:
    rows = [(b.dataset, b.name, fmt_ratio(b.value), f"<= {b.goal:g}", verdict(b)) for b in all_bars]
    return table(("data", "bar (pgdr / peer)", "ratio", "goal", "verdict"), rows)
