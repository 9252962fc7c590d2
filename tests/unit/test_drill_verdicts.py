"""The drill's decisions, table by table: facts in, pass / warn / fail out."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from pgdr.catalog.snapshot import ConstraintFacts
from pgdr.drill import verdicts as v
from pgdr.drill.choose import choose
from pgdr.drill.validate import guarded
from pgdr.errors import UsageError
from tests.fixtures.manifests import manifest

pytestmark = pytest.mark.unit
T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("counts", "before", "mins", "status", "needle"),
    [
        ({"a": 100}, {"a": 100}, {}, "pass", "1 tables, 100 rows"),
        ({"a": 120}, {"a": 100}, {}, "pass", "120"),
        ({"a": 91}, {"a": 100}, {}, "pass", ""),
        ({"a": 89}, {"a": 100}, {}, "warn", "11% fewer"),
        ({"a": 0}, {"a": 100}, {}, "fail", "a is empty (had 100"),
        ({"a": 0}, {"a": 0}, {}, "pass", ""),
        ({"a": 0}, {"a": None}, {}, "pass", ""),
        ({"a": 50}, {"a": 50}, {"a": 51}, "fail", "minimum 51"),
        ({"a": 51}, {}, {"a": 51}, "pass", ""),
    ],
)
def test_rows(counts, before, mins, status, needle) -> None:  # type: ignore[no-untyped-def]
    r = v.judge_rows(counts, before, mins, 10)
    assert r.status == status and needle in r.detail


@pytest.mark.parametrize(
    ("newest", "status", "rpo"),
    [
        ({"t.c": T0 - timedelta(hours=1)}, "pass", 3600),
        ({"t.c": T0 - timedelta(hours=47)}, "pass", 47 * 3600),
        ({"t.c": T0 - timedelta(hours=49)}, "fail", 49 * 3600),
        ({"t.c": T0 - timedelta(hours=1), "u.d": T0 - timedelta(days=9)}, "fail", 3600),
        ({"t.c": None}, "fail", None),
        ({"t.c": T0 + timedelta(seconds=3)}, "pass", 0),  # clock skew: never a negative RPO
        ({}, "skip", None),
    ],
)
def test_recency(newest, status, rpo) -> None:  # type: ignore[no-untyped-def]
    r = v.judge_recency(newest, T0, 48)
    assert r.status == status
    assert r.metrics.get("rpo_seconds") == rpo


def test_tables_orphans_indexes_constraints() -> None:
    assert (
        v.judge_tables(["public.a", "public.b"], {"public.a", "public.b", "public.c"}).status
        == "pass"
    )
    r = v.judge_tables(["public.a", "public.b"], {"public.a"})
    assert r.status == "fail" and "public.b" in r.detail
    assert v.judge_orphans({"a.fk": 0, "b.fk": 0}).status == "pass"
    assert "b.fk: 3" in v.judge_orphans({"a.fk": 0, "b.fk": 3}).detail
    exp = ["public.a.a_pkey", "public.a.a_x", "public.b.b_pkey"]
    assert (
        v.judge_indexes(
            exp, {"public.a_pkey": True, "public.a_x": True, "public.b_pkey": True}, set()
        ).status
        == "pass"
    )
    r = v.judge_indexes(exp, {"public.a_pkey": True, "public.b_pkey": False}, set())
    assert (
        r.status == "fail"
        and "missing: public.a_x" in r.detail
        and "invalid: public.b_pkey" in r.detail
    )
    # a missing table's indexes are the tables check's finding, not this one's
    assert (
        v.judge_indexes(exp, {"public.a_pkey": True, "public.a_x": True}, {"public.b"}).status
        == "pass"
    )
    cons = [
        ConstraintFacts("public", "a", "c1", validated=True),
        ConstraintFacts("public", "a", "c2", validated=False),
    ]
    assert (
        v.judge_constraints(
            cons, {"public.a.c1": True, "public.a.c2": False}, {"public.a.c2": None}, set()
        ).status
        == "pass"
    )
    r = v.judge_constraints(
        cons,
        {"public.a.c1": False, "public.a.c2": False},
        {"public.a.c1": None, "public.a.c2": "violated"},
        set(),
    )
    assert (
        r.status == "fail"
        and "unexpectedly NOT VALID: public.a.c1" in r.detail
        and "violated" in r.detail
    )
    assert (
        "missing: public.a.c1" in v.judge_constraints(cons, {"public.a.c2": True}, {}, set()).detail
    )


@pytest.mark.parametrize(
    ("mine", "base", "status"),
    [
        (10.0, 10.0, "pass"),
        (10.4, 10.0, "pass"),  # 4% slower: within 5%
        (12.0, 10.0, "pass"),  # 20% slower but only 2 ms: noise floor of 5 ms
        (100.0, 50.0, "fail"),
        (5.0, None, "pass"),  # no baseline yet
    ],
)
def test_query(mine, base, status) -> None:  # type: ignore[no-untyped-def]
    assert v.judge_query("q", mine, base, "production", 5, 5).status == status


@pytest.mark.parametrize(
    ("value", "lo", "hi", "status"),
    [
        (True, None, None, "pass"),
        (False, None, None, "fail"),
        (1, None, None, "fail"),
        (5, 1, 10, "pass"),
        (0, 1, None, "fail"),
        (11, None, 10, "fail"),
        ("x", 1, 2, "fail"),
    ],
)
def test_assertion(value, lo, hi, status) -> None:  # type: ignore[no-untyped-def]
    assert v.judge_assertion("a", value, lo, hi).status == status


def test_integrity_outputs() -> None:
    assert v.judge_amcheck(0, "", 2).status == "pass"
    notice = 'pg_amcheck: NOTICE:  extension "amcheck" already exists, skipping\n'
    assert v.judge_amcheck(0, notice, 2).status == "pass"  # a notice is not a finding
    assert v.judge_amcheck(2, notice + "ERROR:  bad\n", 2).detail == "pg_amcheck: ERROR:  bad"
    bad = 'heap table "postgres.public.t", block 1:\nERROR:  invalid page in block 1 of relation base/5/1'
    r = v.judge_amcheck(2, bad, 2)
    assert r.status == "fail" and "invalid page in block 1" in r.detail
    ok = "Checksum operation completed\nFiles scanned:   10\nBlocks scanned:  99\nBad checksums:  0\n"
    assert v.judge_checksums(True, 0, ok).detail == "pg_checksums: 10 files, 99 blocks verified"
    r = v.judge_checksums(
        True,
        1,
        'pg_checksums: error: checksum verification failed in file "x", block 1: calculated checksum 1 but block contains 2',
    )
    assert r.status == "fail" and r.detail.startswith(
        'pg_checksums: checksum verification failed in file "x"'
    )
    assert v.judge_checksums(False, None, "").status == "warn"


def test_overall_and_a_crashing_check() -> None:
    ok = v.CheckResult("a", "pass", "")
    assert v.overall([ok, v.CheckResult("b", "skip", "")]) == "pass"
    assert v.overall([ok, v.CheckResult("b", "warn", "")]) == "warn"

    def boom() -> v.CheckResult:
        raise ZeroDivisionError("division by zero")

    (r,) = guarded("rows", "app", boom)
    assert r.status == "fail" and r.detail == "check crashed: ZeroDivisionError: division by zero"
    assert v.overall([ok, r]) == "fail" and v.failure_message([ok, r]) == f"rows [app]: {r.detail}"


BACKUPS = [
    manifest(id="B1", label="nightly", stop_time="2026-11-20T03:10:00+00:00"),
    manifest(id="B2", label="nightly", stop_time="2026-11-21T03:10:00+00:00"),
    manifest(id="B3", label="before-upgrade", stop_time="2026-11-21T12:00:00+00:00"),
]


def test_choose() -> None:
    rng = random.Random(1)
    now = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    c = choose(BACKUPS, "latest", "latest", None, now, rng)
    assert (c.backup_id, c.target.kind, c.reference) == ("B3", "latest", now)
    assert choose(BACKUPS, "nightly", "latest", None, now, rng).backup_id == "B2"
    assert choose(BACKUPS, "B1", "latest", None, now, rng).backup_id == "B1"
    c = choose(BACKUPS, "latest", "2026-11-21T05:00:00+00:00", None, now, rng)
    assert c.backup_id == "B2" and c.target.value == "2026-11-21T05:00:00+00:00"
    for _ in range(20):
        c = choose(BACKUPS, "random", "random", now, now, rng)
        stop = next(b for b in BACKUPS if b.id == c.backup_id).stop_time
        assert c.target.kind == "time" and stop <= c.reference <= now
    assert choose(BACKUPS, "random", "latest", None, now, random.Random(7)) == choose(
        BACKUPS, "random", "latest", None, now, random.Random(7)
    )
    for args, msg in [
        (("nope", "latest"), "no backup with that id or label"),
        (("latest", "2026-11-21T05:00:00"), "needs a time zone"),
        (("latest", "yesterday"), "expected latest, random or an ISO 8601 time"),
        (("B3", "2026-11-21T05:00:00+00:00"), "after --target"),
    ]:
        with pytest.raises(UsageError, match=msg):
            choose(BACKUPS, args[0], args[1], None, now, rng)
    with pytest.raises(UsageError, match="no backups"):
        choose([], "latest", "latest", None, now, rng)
