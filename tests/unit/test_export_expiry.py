"""The 7-year rule on exports (pure): which exports `pgdr export expire` deletes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pgdr.export.expiry import ExportAge, decide_expiry, export_time

pytestmark = pytest.mark.unit

NOW = datetime(2033, 12, 7, 12, 0, tzinfo=UTC)
SEVEN_YEARS = 2557


def eid(days_ago: float, tag: str = "aaaaaa") -> str:
    return f"{NOW - timedelta(days=days_ago):%Y%m%dT%H%M%SZ}-{tag}"


def hours(h: float) -> datetime:
    return NOW - timedelta(hours=h)


# (exports, keep_days, deleted ids, why fragment of the first export's verdict)
CASES = [
    # a complete export past 7 years goes; the newer ones stay
    ([ExportAge(eid(2600), True), ExportAge(eid(30), True)], SEVEN_YEARS, [eid(2600)], "2600 days"),
    # exactly at the limit it stays (deleted only once older)
    ([ExportAge(eid(2557), True), ExportAge(eid(1), True)], SEVEN_YEARS, [], "kept 2557 days"),
    # the newest complete export stays, however old
    ([ExportAge(eid(3000), True)], SEVEN_YEARS, [], "newest complete"),
    # ... even when a newer incomplete one exists (a crash does not empty the archive)
    (
        [ExportAge(eid(3000), True), ExportAge(eid(3, "bbbbbb"), False, hours(70))],
        SEVEN_YEARS,
        [eid(3, "bbbbbb")],
        "newest complete",
    ),
    # an incomplete one older than a day goes; one written to an hour ago may be running
    (
        [
            ExportAge(eid(2, "cccccc"), False, hours(47)),
            ExportAge(eid(1.5, "dddddd"), False, hours(1)),
            ExportAge(eid(10), True),
        ],
        SEVEN_YEARS,
        [eid(2, "cccccc")],
        "incomplete",
    ),
    # a legal hold / Object Lock retention keeps an export the rule would delete
    (
        [ExportAge(eid(2600), True, protected="legal hold"), ExportAge(eid(1), True)],
        SEVEN_YEARS,
        [],
        "protected: legal hold",
    ),
    (
        [
            ExportAge(eid(5, "eeeeee"), False, hours(100), "retention until 2034-01-01"),
            ExportAge(eid(1), True),
        ],
        SEVEN_YEARS,
        [],
        "protected: retention",
    ),
    # no expire_days: complete exports are kept for ever, crashed ones still cleaned up
    (
        [ExportAge(eid(9000), True), ExportAge(eid(1), True), ExportAge(eid(3, "ffffff"), False)],
        None,
        [eid(3, "ffffff")],
        "for ever",
    ),
    # an id whose time does not parse (month 13) is kept, never guessed at
    (
        [ExportAge("20331307T000000Z-aaaaaa", False), ExportAge(eid(1), True)],
        SEVEN_YEARS,
        [],
        "no readable time",
    ),
    # nothing at all
    ([], SEVEN_YEARS, [], None),
]


@pytest.mark.parametrize(("exports", "keep_days", "deleted", "why"), CASES)
def test_expiry(
    exports: list[ExportAge], keep_days: int | None, deleted: list[str], why: str | None
) -> None:
    verdicts = decide_expiry(exports, NOW, keep_days)
    assert [v.export_id for v in verdicts] == [e.export_id for e in exports]
    assert [v.export_id for v in verdicts if v.delete] == deleted
    if why is not None:
        assert why in verdicts[0].reason, verdicts[0].reason


def test_export_time_from_the_id() -> None:
    assert export_time("20261207T040012Z-1a2b3c") == datetime(2026, 12, 7, 4, 0, 12, tzinfo=UTC)
    assert export_time("2026") is None
