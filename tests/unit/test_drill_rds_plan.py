"""The pure decisions of an RDS drill: restore point, instance name and tags, which tagged
instances are leftovers of dead drills (never an untagged one), the test-only endpoint map."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from pgdr.drill import rds_plan as p
from pgdr.errors import ConfigError, UsageError

T0 = datetime(2026, 11, 1, 3, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 12, 6, 3, 0, 0, 500000, tzinfo=UTC)
NOW = datetime(2026, 12, 6, 3, 5, 0, tzinfo=UTC)


def test_latest_restores_the_latest_restorable_time_measured_against_now() -> None:
    assert p.restore_point("latest", T0, T1, NOW, random.Random(1)) == p.RestorePoint(
        True, None, NOW
    )


def test_a_time_inside_the_window_is_asked_for_exactly() -> None:
    when = datetime(2026, 11, 20, 12, 0, 7, tzinfo=UTC)
    got = p.restore_point(when.isoformat(), T0, T1, NOW, random.Random(1))
    assert got == p.RestorePoint(False, when, when)


@pytest.mark.parametrize(
    "target",
    [
        (T0 - timedelta(seconds=1)).isoformat(),
        (T1 + timedelta(seconds=1)).isoformat(),
        "2026-11-20T12:00:00",  # no zone
        "yesterday",
    ],
)
def test_outside_the_window_or_unreadable_is_a_usage_error(target: str) -> None:
    with pytest.raises(UsageError):
        p.restore_point(target, T0, T1, NOW, random.Random(1))


@pytest.mark.parametrize("seed", range(20))
def test_random_is_a_whole_second_strictly_inside_the_window_and_seedable(seed: int) -> None:
    a = p.restore_point("random", T0, T1, NOW, random.Random(seed))
    b = p.restore_point("random", T0, T1, NOW, random.Random(seed))
    assert a == b and a.time is not None and not a.latest
    assert T0 < a.time <= T1 and a.time.microsecond == 0 and a.reference == a.time


def test_random_in_a_window_of_under_a_second_stays_inside() -> None:
    lo = T0.replace(microsecond=200000)
    got = p.restore_point("random", lo, lo + timedelta(milliseconds=900), NOW, random.Random(3))
    assert got.time is not None and lo <= got.time <= lo + timedelta(milliseconds=900)


def test_instance_id_is_a_valid_identifier_naming_the_drill() -> None:
    ident = p.instance_id("20261207T124000.123Z-1a2b3c4d")
    assert ident == "pgdr-drill-20261207t124000123z-1a2b3c4d"
    assert len(ident) <= 63 and ident[0].isalpha() and "--" not in ident


def test_tags_carry_drill_owner_and_restore_time_and_ours_win() -> None:
    point = p.RestorePoint(False, T0, T0)
    tags = p.tag_map(p.drill_tags("d1", "h:1:2", point, {"team": "x", p.DRILL_TAG: "forged"}))
    assert tags == {
        "team": "x",
        p.DRILL_TAG: "d1",
        p.OWNER_TAG: "h:1:2",
        p.RESTORE_TAG: T0.isoformat(),
    }
    latest = p.tag_map(p.drill_tags("d1", "h:1:2", p.RestorePoint(True, None, NOW), {}))
    assert latest[p.RESTORE_TAG] == "latest"


OLD = NOW - timedelta(hours=25)
NEW = NOW - timedelta(hours=1)
ALIVE = {(10, "555"): True, (11, "666"): False}


@pytest.mark.parametrize(
    ("tags", "created", "kept", "leftover"),
    [
        ({}, OLD, False, False),  # untagged: never
        ({"Name": "pgdr-drill-x"}, OLD, True, False),  # untagged, even with --kept
        ({p.DRILL_TAG: "d", p.OWNER_TAG: "here:10:555"}, OLD, False, False),  # owner alive
        ({p.DRILL_TAG: "d", p.OWNER_TAG: "here:11:666"}, NEW, False, True),  # owner dead
        ({p.DRILL_TAG: "d", p.OWNER_TAG: "here:12:777"}, NEW, False, True),  # unknown pid
        ({p.DRILL_TAG: "d", p.OWNER_TAG: "there:11:666"}, NEW, False, False),  # other host
        ({p.DRILL_TAG: "d", p.OWNER_TAG: "there:11:666"}, OLD, False, True),  # ... stale
        ({p.DRILL_TAG: "d", p.OWNER_TAG: "garbage"}, NEW, False, False),
        ({p.DRILL_TAG: "d", p.OWNER_TAG: "garbage"}, OLD, False, True),
        ({p.DRILL_TAG: "d", p.OWNER_TAG: "garbage"}, None, False, False),
        ({p.DRILL_TAG: "d", p.OWNER_TAG: "here:11:666", p.KEPT_TAG: "true"}, OLD, False, False),
        ({p.DRILL_TAG: "d", p.OWNER_TAG: "here:10:555", p.KEPT_TAG: "true"}, NEW, True, True),
    ],
)
def test_leftovers(
    tags: dict[str, str], created: datetime | None, kept: bool, leftover: bool
) -> None:
    assert p.is_leftover(tags, "here", ALIVE, created, NOW, include_kept=kept) is leftover


def test_endpoint_map_exact_then_glob() -> None:
    seam = p.endpoint_map('{"a.rds:5432": "host=/a", "pgdr-drill-*:5432": "host=/b"}')
    assert p.mapped(seam, "a.rds:5432") == "host=/a"
    assert p.mapped(seam, "pgdr-drill-x.rds:5432") == "host=/b"
    assert p.mapped(seam, "pgdr-drill-x.rds:5433") is None
    assert p.endpoint_map(None) == {} and p.endpoint_map("") == {}


@pytest.mark.parametrize("raw", ["[1]", "{", '{"a": 1}'])
def test_bad_endpoint_map_is_a_config_error(raw: str) -> None:
    with pytest.raises(ConfigError):
        p.endpoint_map(raw)
