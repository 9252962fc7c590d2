"""bench/compare.py's pure helpers: ratios, issue 14's bars per data set, the summary table.
(The benchmark itself is not a test; this only keeps its report honest.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from compare_report import Bar, bars, fmt_ratio, ratio, summary, table

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("mine", "theirs", "want"),
    [(1.0, 2.0, 0.5), (3.0, 3.0, 1.0), (None, 2.0, None), (1.0, None, None), (1.0, 0.0, None)],
)
def test_ratio(mine: float | None, theirs: float | None, want: float | None) -> None:
    assert ratio(mine, theirs) == want


def test_bars_random_filler_all_measured() -> None:
    m = {
        "restore files pgdr": 2.0,
        "restore start pgdr": 0.5,
        "restore files pgbr": 4.0,
        "restore start pgbr": 0.5,
        "wal pgdr": 120.0,
        "wal pgbr": 100.0,
        "backup wall pgdr": 3.0,
        "backup wall pgbr": 8.0,
        "backup wall basebackup": 2.0,
        "backup bytes pgdr": 110.0,
        "backup bytes pgbr": 100.0,
    }
    got = {b.name: (round(b.value, 3) if b.value else b.value, b.met) for b in bars("r", True, m)}
    assert got == {
        "restore total vs pgBackRest": (0.556, False),
        "restore files vs pgBackRest": (0.5, False),
        "restore start->promoted vs pgBackRest": (1.0, True),
        "sync wal-push ms/segment vs pgBackRest": (1.2, False),
        "full backup wall vs pgBackRest": (0.375, True),
        "full backup wall vs pg_basebackup zstd:1": (1.5, False),
    }  # stored bytes is a blank-filler bar only


def test_bars_blank_filler_and_parts_not_run() -> None:
    got = bars("b", False, {"backup bytes pgdr": 104.0, "backup bytes pgbr": 100.0})
    names = [b.name for b in got]
    assert "full backup wall vs pgBackRest" not in names
    assert "stored bytes vs pgBackRest" in names
    verdicts = {b.name: b.met for b in got}
    assert verdicts.pop("stored bytes vs pgBackRest") is True
    assert set(verdicts.values()) == {None}  # --only backup: the rest is "not measured"


def test_summary_table() -> None:
    out = summary([Bar("s50", "x vs y", 0.61, 0.5), Bar("s50", "z", None, 1.0)])
    assert out.splitlines() == [
        "| data | bar (pgdr / peer) | ratio | goal | verdict |",
        "|---|---|---|---|---|",
        "| s50 | x vs y | 0.61 | <= 0.5 | NOT met |",
        "| s50 | z | n/a | <= 1 | not measured |",
    ]
    assert fmt_ratio(1.005) == "1.00"
    assert table(("a",), [(1.234,)]).splitlines()[-1] == "| 1.23 |"
