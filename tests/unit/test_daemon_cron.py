"""Schedule expressions: parsing, the newest slot at or before now, the next slot, counting."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pgdr.daemon.cron import Schedule, slot_id, syntax_problem

pytestmark = pytest.mark.unit


def t(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "now", "latest", "nxt"),
    [
        ("0 3 * * 1-6", "2026-11-24 03:30", "2026-11-24 03:00", "2026-11-25 03:00"),  # Tue
        ("0 3 * * 1-6", "2026-11-24 03:00", "2026-11-24 03:00", "2026-11-25 03:00"),  # exact
        ("0 3 * * 1-6", "2026-11-22 12:00", "2026-11-21 03:00", "2026-11-23 03:00"),  # Sunday
        ("0 3 * * 0", "2026-11-24 12:00", "2026-11-22 03:00", "2026-11-29 03:00"),
        ("0 2 * * 0", "2026-11-29 01:59", "2026-11-22 02:00", "2026-11-29 02:00"),
        ("@daily", "2026-11-24 10:00", "2026-11-24 00:00", "2026-11-25 00:00"),
        ("@every 5s", "2026-11-24 10:00:07", "2026-11-24 10:00:05", "2026-11-24 10:00:10"),
        ("@every 5s", "2026-11-24 10:00:05", "2026-11-24 10:00:05", "2026-11-24 10:00:10"),
        ("@every 2m", "2026-11-24 10:03:00", "2026-11-24 10:02:00", "2026-11-24 10:04:00"),
        ("0 4 1 * *", "2026-11-24 10:00", "2026-11-01 04:00", "2026-12-01 04:00"),
    ],
)
def test_latest_and_next(expr: str, now: str, latest: str, nxt: str) -> None:
    s = Schedule.parse(expr)
    assert s.latest(t(now)) == t(latest)
    assert s.next(t(now)) == t(nxt)


@pytest.mark.parametrize("expr", ["off", "", "never", "OFF"])
def test_off(expr: str) -> None:
    s = Schedule.parse(expr)
    assert s.off and s.latest(t("2026-11-24 10:00")) is None and s.next(t("2026-11-24")) is None


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("0 3 * *", "has 4 fields"),
        ("*/5 * * * * *", "has 6 fields"),
        ("@fortnightly", "unknown schedule"),
        ("0 3 * * $", "invalid characters"),
    ],
)
def test_syntax_problems(expr: str, problem: str) -> None:
    assert problem in (syntax_problem(expr) or "")
    with pytest.raises(ValueError, match=problem):
        Schedule.parse(expr)


def test_semantic_problems_need_the_full_parse() -> None:
    assert syntax_problem("0 25 * * *") is None  # cheap check only
    with pytest.raises(ValueError, match="not a valid cron"):
        Schedule.parse("0 25 * * *")
    with pytest.raises(ValueError, match="at least 1 s"):
        Schedule.parse("@every 0s")


@pytest.mark.parametrize(
    ("expr", "after", "until", "n"),
    [
        ("@every 5s", "2026-11-24 10:00:00", "2026-11-24 10:00:00", 0),
        ("@every 5s", "2026-11-24 10:00:00", "2026-11-24 10:00:04", 0),
        ("@every 5s", "2026-11-24 10:00:00", "2026-11-24 10:00:05", 1),
        ("@every 5s", "2026-11-24 10:00:00", "2026-11-24 10:00:31", 6),
        ("0 3 * * *", "2026-11-20 03:00", "2026-11-24 03:00", 4),
        ("0 3 * * *", "2026-11-20 03:00", "2026-11-24 02:59", 3),
    ],
)
def test_slots_between(expr: str, after: str, until: str, n: int) -> None:
    assert Schedule.parse(expr).slots_between(t(after), t(until)) == n


def test_slot_id() -> None:
    assert slot_id(t("2026-11-24 03:00")) == "20261124T030000Z"
