"""The logical checks of one restored database: critical tables, row counts, recency,
orphans, indexes, constraints, query performance and custom assertions. Each check is
guarded: a check that crashes is a failed check, never a crashed drill."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from pgdr.catalog.snapshot import CatalogSnapshot, ConstraintFacts
from pgdr.drill import probes, verdicts
from pgdr.drill.settings import DatabaseChecks, DrillSettings
from pgdr.drill.verdicts import CheckResult
from pgdr.errors import Interrupted, PostgresError
from pgdr.pg.connect import connect

Conn = psycopg.Connection[Any]


@dataclass
class Baselines:
    """Where query timings are compared: production (a conninfo per database) and/or the
    previous drill's sandbox timings ("db/name" -> ms)."""

    mode: str
    production: Callable[[str], str] | None = None
    previous: dict[str, float] = field(default_factory=dict)
    #: statement_timeout of each timed run (on production too).
    query_timeout_s: float = 30.0


@dataclass
class DatabaseFacts:
    """What the backup recorded about the database its catalog snapshot came from."""

    tables: list[str]
    rows_at_backup: dict[str, int | None]
    indexes: list[str]
    constraints: list[ConstraintFacts]


def catalog_facts(catalog: CatalogSnapshot) -> DatabaseFacts:
    return DatabaseFacts(
        [t.qualified for t in catalog.tables],
        {t.qualified: t.rows_at_backup for t in catalog.tables if not t.unlogged},
        [i.qualified for i in catalog.indexes],
        [c for c in catalog.constraints if c.on_table],
    )


def guarded(
    name: str, db: str, fn: Callable[[], CheckResult | list[CheckResult]]
) -> list[CheckResult]:
    t = time.monotonic()
    try:
        out = fn()
    except Interrupted:
        raise
    except Exception as e:  # a crashing check must fail, not end the drill
        reason = str(e).strip().splitlines()[0] if str(e).strip() else ""
        out = CheckResult(name, "fail", f"check crashed: {type(e).__name__}: {reason}")
    results = out if isinstance(out, list) else [out]
    spent = (time.monotonic() - t) / max(1, len(results))
    for r in results:
        r.database, r.seconds = db, round(spent, 3)
    return results


def check_database(
    conn: Conn,
    db: str,
    spec: DatabaseChecks,
    facts: DatabaseFacts | None,
    settings: DrillSettings,
    reference: datetime,
    freshness_floor: dict[str, datetime | None],
    baselines: Baselines,
) -> tuple[list[CheckResult], dict[str, Any]]:
    """``freshness_floor``: what recency falls back to when no column is configured (the
    last replayed transaction, or the backup's start)."""
    present: set[str] = probes.tables(conn)
    expected = (
        [probes.qualify(t) for t in spec.critical_tables]
        if spec.critical_tables
        else (facts.tables if facts else sorted(present))
    )
    missing = {t for t in expected if t not in present}
    out: list[CheckResult] = []
    out += guarded("tables", db, lambda: verdicts.judge_tables(expected, present))
    here = [t for t in expected if t in present]
    counts: dict[str, int] = {}

    def rows() -> CheckResult:
        counts.update(probes.row_counts(conn, here))
        at_backup = facts.rows_at_backup if facts else {}
        mins = {probes.qualify(k): v for k, v in spec.min_rows.items()}
        return verdicts.judge_rows(counts, at_backup, mins, settings.row_tolerance_pct)

    out += guarded("rows", db, rows)

    def recency() -> CheckResult:
        newest = {c: probes.newest_value(conn, c) for c in spec.recency} or freshness_floor
        return verdicts.judge_recency(newest, reference, settings.recency_window_hours)

    out += guarded("recency", db, recency)
    out += guarded("orphans", db, lambda: verdicts.judge_orphans(probes.orphans(conn)))

    def indexes() -> CheckResult:
        have = probes.indexes(conn)
        exp = (
            facts.indexes if facts else [f"{k.split('.')[0]}.?.{k.split('.', 1)[1]}" for k in have]
        )
        return verdicts.judge_indexes(exp, have, missing)

    out += guarded("indexes", db, indexes)

    def constraints() -> CheckResult:
        have = probes.constraints(conn)
        results = probes.validate(conn, [k for k, ok in have.items() if not ok])
        return verdicts.judge_constraints(
            facts.constraints if facts else [], have, results, missing
        )

    out += guarded("constraints", db, constraints)
    for q in spec.queries:
        out += guarded(f"performance: {q.name}", db, lambda q=q: _query(conn, db, q, baselines))  # type: ignore[misc]
    for a in spec.assertions:
        out += guarded(f"assertion: {a.name}", db, lambda a=a: _assert(conn, a))  # type: ignore[misc]
    ncounts = probes.index_counts(conn)
    data = {
        "tables": [
            {
                "name": t,
                "rows": counts.get(t),
                "rows_at_backup": (facts.rows_at_backup.get(t) if facts else None),
                "indexes": ncounts.get(t, 0),
            }
            for t in expected
        ],
        "indexes": sum(ncounts.values()),
        "constraints": len(probes.constraints(conn)),
    }
    return out, data


def _query(conn: Conn, db: str, q: Any, baselines: Baselines) -> CheckResult:
    prod: Conn | None = None
    if baselines.mode in ("auto", "production") and baselines.production is not None:
        try:
            prod = connect(baselines.production(db), timeout=5)
        except PostgresError:
            prod = None  # production unreachable: fall back to the previous drill
    timeout_ms = round(baselines.query_timeout_s * 1000)
    try:
        mine, base_ms = probes.time_query(conn, q.sql, q.runs, prod, timeout_ms)
    except probes.TimingFailed as e:
        return verdicts.judge_timing_failure(
            q.name, e.where, _line(e.error), baselines.query_timeout_s, _kind(e.error)
        )
    finally:
        if prod is not None:
            prod.close()
    source = "production" if base_ms is not None else "nothing"
    if base_ms is None and baselines.mode in ("auto", "previous"):
        prev = baselines.previous.get(f"{db}/{q.name}")
        if prev is not None:
            base_ms, source = prev, "the previous drill"
    return verdicts.judge_query(q.name, mine, base_ms, source, q.tolerance_pct, q.min_difference_ms)


def _assert(conn: Conn, a: Any) -> CheckResult:
    try:
        value = probes.scalar(conn, a.sql)
    except psycopg.Error as e:
        return verdicts.judge_assertion(a.name, None, a.min, a.max, _line(e))
    return verdicts.judge_assertion(a.name, value, a.min, a.max)


def _kind(e: psycopg.Error) -> str:
    if isinstance(e, psycopg.errors.ReadOnlySqlTransaction):
        return "writes"
    if isinstance(e, psycopg.errors.QueryCanceled):
        return "timeout"
    return "error"


def _line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
