"""Recovery targets are checked where they are read: a usage error naming the option and the
accepted form, never a ValueError (exit 70)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pgdr.errors import UsageError
from pgdr.restore.plan import Target, check_target, parse_time

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("2026-11-24T03:00:00Z", datetime(2026, 11, 24, 3, tzinfo=UTC)),
        ("2026-11-24 03:00:00+01:00", datetime(2026, 11, 24, 2, tzinfo=UTC)),
        (" 2026-11-24T03:00:00.5+00:00 ", datetime(2026, 11, 24, 3, 0, 0, 500000, tzinfo=UTC)),
        (
            "2026-11-24T03:00-05:30",
            datetime(2026, 11, 24, 3, tzinfo=timezone(timedelta(hours=-5.5))),
        ),
    ],
)
def test_times_with_a_zone_are_accepted(text: str, when: datetime) -> None:
    assert parse_time(text) == when


@pytest.mark.parametrize(
    ("target", "says"),
    [
        (Target("time", "yesterday"), "--time 'yesterday': not a time"),
        (Target("time", "2026-11-24T03:00:00"), "needs a time zone"),
        (Target("time", "2026-02-30T00:00:00Z"), "not a time"),
        (Target("lsn", "16/XYZ"), "--lsn '16/XYZ': not an LSN"),
        (Target("xid", "-3"), "--xid '-3'"),
        (Target("xid", "٣"), "--xid"),  # a digit, but not an ASCII one
        (Target("name", ""), "--name needs"),
    ],
)
def test_malformed_targets_are_usage_errors(target: Target, says: str) -> None:
    with pytest.raises(UsageError, match=says) as e:
        check_target(target)
    assert e.value.exit_code == 2


def test_well_formed_targets_pass() -> None:
    for t in (Target("latest"), Target("lsn", "16/B374D848"), Target("xid", "7530")):
        assert check_target(t) is t
