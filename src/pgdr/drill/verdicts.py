"""Pure decisions: the facts a probe gathered from the sandbox -> pass / warn / fail with a
one-line detail. No I/O here; tests/unit/test_drill_verdicts.py tables every rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pgdr.catalog.snapshot import ConstraintFacts

Status = Literal["pass", "warn", "fail", "skip"]
RANK = {"skip": 0, "pass": 1, "warn": 2, "fail": 3}


@dataclass
class CheckResult:
    name: str
    status: Status
    detail: str
    database: str | None = None
    seconds: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)


def _few(items: list[str], n: int = 5) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


def overall(checks: list[CheckResult]) -> Status:
    worst = max((RANK[c.status] for c in checks), default=0)
    return "fail" if worst == 3 else "warn" if worst == 2 else "pass"


def judge_connectivity(ms: float | None, error: str | None, warn_ms: float) -> CheckResult:
    if error is not None or ms is None:
        reason = str(error).rsplit("FATAL:", 1)[-1].strip()
        return CheckResult("connectivity", "fail", f"cannot connect: {reason}")
    m = {"connect_ms": round(ms, 2)}
    if ms > warn_ms:
        return CheckResult(
            "connectivity", "warn", f"connected in {ms:.0f} ms (> {warn_ms:.0f})", metrics=m
        )
    return CheckResult("connectivity", "pass", f"connected in {ms:.1f} ms", metrics=m)


def judge_tables(expected: list[str], present: set[str]) -> CheckResult:
    missing = [t for t in expected if t not in present]
    m = {"expected": len(expected), "missing": missing}
    if missing:
        return CheckResult(
            "tables", "fail", f"critical table(s) missing: {_few(missing)}", metrics=m
        )
    return CheckResult("tables", "pass", f"all {len(expected)} critical tables exist", metrics=m)


def judge_rows(
    counts: Mapping[str, int],
    at_backup: Mapping[str, int | None],
    minimums: Mapping[str, int],
    tolerance_pct: float,
) -> CheckResult:
    """Fail below a configured minimum or when a table that had rows at backup time is
    empty; warn when it lost more than ``tolerance_pct`` of them (the target may be after
    legitimate deletes, so that alone is no failure)."""
    fails: list[str] = []
    warns: list[str] = []
    for t, n in counts.items():
        lo = minimums.get(t)
        before = at_backup.get(t)
        if lo is not None and n < lo:
            fails.append(f"{t} has {n:,} rows, minimum {lo:,}")
        elif before and n == 0:
            fails.append(f"{t} is empty (had {before:,} at backup time)")
        elif before and n < before * (1 - tolerance_pct / 100):
            warns.append(
                f"{t} has {n:,} rows, {100 * (before - n) / before:.0f}% fewer than at backup time ({before:,})"
            )
    m = {"rows": dict(counts), "rows_at_backup": dict(at_backup)}
    if fails:
        return CheckResult("rows", "fail", "; ".join(fails[:5]), metrics=m)
    if warns:
        return CheckResult("rows", "warn", "; ".join(warns[:5]), metrics=m)
    total = sum(counts.values())
    return CheckResult("rows", "pass", f"{len(counts)} tables, {total:,} rows", metrics=m)


def judge_recency(
    newest: Mapping[str, datetime | None], reference: datetime, window_hours: float
) -> CheckResult:
    """``newest``: column (or "last replayed transaction") -> newest timestamp found. The
    lag of the freshest source behind ``reference`` (the restore target) is the achieved
    RPO; every configured column must be within the window."""
    if not newest:
        return CheckResult(
            "recency", "skip", "no timestamp column configured and no transaction replayed"
        )
    lags = {k: (reference - v).total_seconds() if v else None for k, v in newest.items()}
    known = [v for v in lags.values() if v is not None]
    rpo = max(0.0, min(known)) if known else None
    m: dict[str, Any] = {"lag_seconds": lags, "rpo_seconds": rpo, "window_hours": window_hours}
    empty = [k for k, v in lags.items() if v is None]
    stale = [
        f"{k} is {v / 3600:.1f} h old"
        for k, v in lags.items()
        if v is not None and v > window_hours * 3600
    ]
    if empty:
        return CheckResult("recency", "fail", f"no value at all in {_few(empty)}", metrics=m)
    if stale:
        return CheckResult(
            "recency", "fail", f"stale data: {_few(stale)} (window {window_hours:g} h)", metrics=m
        )
    assert rpo is not None
    return CheckResult("recency", "pass", f"newest data {_hours(rpo)} before the target", metrics=m)


def _hours(seconds: float) -> str:
    return (
        f"{seconds:.0f} s"
        if seconds < 120
        else f"{seconds / 60:.0f} min"
        if seconds < 7200
        else f"{seconds / 3600:.1f} h"
    )


def judge_orphans(orphans: Mapping[str, int]) -> CheckResult:
    bad = [f"{fk}: {n:,}" for fk, n in orphans.items() if n]
    m = {"foreign_keys": len(orphans), "orphans": {k: v for k, v in orphans.items() if v}}
    if bad:
        return CheckResult("orphans", "fail", f"orphaned rows: {_few(bad)}", metrics=m)
    return CheckResult(
        "orphans", "pass", f"{len(orphans)} foreign keys, no orphaned rows", metrics=m
    )


def judge_indexes(
    expected: list[str], present: Mapping[str, bool], missing_tables: set[str]
) -> CheckResult:
    """``expected``: "schema.table.index" recorded at backup time; ``present``: index
    -> valid in the sandbox. Indexes of missing tables are the tables check's finding."""
    missing, invalid, counted = [], [], 0
    for full in expected:
        schema, table, name = full.split(".", 2)
        if f"{schema}.{table}" in missing_tables:
            continue
        counted += 1
        key = f"{schema}.{name}"
        if key not in present:
            missing.append(key)
        elif not present[key]:
            invalid.append(key)
    m = {"expected": counted, "missing": missing, "invalid": invalid}
    problems = ([f"missing: {_few(missing)}"] if missing else []) + (
        [f"invalid: {_few(invalid)}"] if invalid else []
    )
    if problems:
        return CheckResult("indexes", "fail", "; ".join(problems), metrics=m)
    return CheckResult("indexes", "pass", f"all {counted} indexes present and valid", metrics=m)


def judge_constraints(
    expected: Sequence[ConstraintFacts],
    present: Mapping[str, bool],
    validation: Mapping[str, str | None],
    missing_tables: set[str],
) -> CheckResult:
    """``present``: "schema.table.name" -> convalidated in the sandbox; ``validation``: for
    each NOT VALID one, None when VALIDATE CONSTRAINT succeeded on the sandbox, else the
    error. A constraint valid at backup time but NOT VALID now is unexpected."""
    missing, unexpected, violated = [], [], []
    for c in expected:
        if c.table_qualified in missing_tables:
            continue
        if c.qualified not in present:
            missing.append(c.qualified)
        elif c.validated and not present[c.qualified]:
            unexpected.append(c.qualified)
    for key, err in validation.items():
        if err is not None:
            violated.append(f"{key} ({err})")
    m = {"constraints": len(present), "not_valid_checked": len(validation), "violated": violated}
    problems = []
    if missing:
        problems.append(f"missing: {_few(missing)}")
    if unexpected:
        problems.append(f"unexpectedly NOT VALID: {_few(unexpected)}")
    if violated:
        problems.append(f"data violates: {_few(violated, 3)}")
    if problems:
        return CheckResult("constraints", "fail", "; ".join(problems), metrics=m)
    extra = f", {len(validation)} NOT VALID validated on the sandbox" if validation else ""
    return CheckResult("constraints", "pass", f"{len(present)} constraints valid{extra}", metrics=m)


def judge_timing_failure(
    name: str, where: str, error: str, timeout_s: float, kind: str
) -> CheckResult:
    """A timed query that failed: ``kind`` "writes" (refused: timing queries run read-only,
    also on production), "timeout" (statement_timeout) or "error"."""
    check = f"performance: {name}"
    if kind == "writes":
        why = f"refused: a timing query must not write (it runs read-only on {where}): {error}"
    elif kind == "timeout":
        why = f"query exceeded the {timeout_s:g} s statement timeout on {where}"
    else:
        why = f"query failed on {where}: {error}"
    return CheckResult(check, "fail", why)


def judge_query(
    name: str,
    sandbox_ms: float | None,
    baseline_ms: float | None,
    baseline: str,
    tolerance_pct: float,
    min_difference_ms: float,
    error: str | None = None,
) -> CheckResult:
    check = f"performance: {name}"
    if error is not None or sandbox_ms is None:
        return CheckResult(check, "fail", f"query failed on the sandbox: {error}")
    m: dict[str, Any] = {
        "sandbox_ms": round(sandbox_ms, 3),
        "baseline_ms": baseline_ms,
        "baseline": baseline,
    }
    if baseline_ms is None:
        return CheckResult(
            check,
            "pass",
            f"{sandbox_ms:.1f} ms (no baseline yet: recorded for the next drill)",
            metrics=m,
        )
    ratio = sandbox_ms / baseline_ms if baseline_ms > 0 else 1.0
    m["ratio_pct"] = round(100 * ratio, 1)
    text = f"{sandbox_ms:.1f} ms vs {baseline_ms:.1f} ms on {baseline} ({100 * ratio:.0f}%)"
    if ratio > 1 + tolerance_pct / 100 and sandbox_ms - baseline_ms > min_difference_ms:
        return CheckResult(
            check, "fail", f"slower: {text}, tolerance {tolerance_pct:g}%", metrics=m
        )
    return CheckResult(check, "pass", text, metrics=m)


def judge_assertion(
    name: str, value: Any, lo: float | None, hi: float | None, error: str | None = None
) -> CheckResult:
    check = f"assertion: {name}"
    if error is not None:
        return CheckResult(check, "fail", f"query failed: {error}")
    m = {
        "value": value
        if isinstance(value, bool | int | float | str) or value is None
        else str(value)
    }
    if lo is None and hi is None:
        ok = value is True
        return CheckResult(
            check,
            "pass" if ok else "fail",
            "true" if ok else f"expected true, got {value!r}",
            metrics=m,
        )
    try:
        num = float(value)
    except (TypeError, ValueError):
        return CheckResult(check, "fail", f"expected a number, got {value!r}", metrics=m)
    if lo is not None and hi is not None:
        bounds = f"between {lo:g} and {hi:g}"
    else:
        bounds = f"at least {lo:g}" if lo is not None else f"at most {hi:g}"
    if (lo is not None and num < lo) or (hi is not None and num > hi):
        return CheckResult(check, "fail", f"{num:g}, expected {bounds}", metrics=m)
    return CheckResult(check, "pass", f"{num:g} ({bounds})", metrics=m)


def judge_amcheck(returncode: int, output: str, databases: int) -> CheckResult:
    """NOTICE lines are not findings (``--install-missing`` on a database that already has
    the extension — any restored production that used amcheck — says so)."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip() and "NOTICE:" not in ln]
    if returncode == 0 and not lines:
        return CheckResult(
            "amcheck", "pass", f"heap and btree (heapallindexed) clean in {databases} database(s)"
        )
    first = next(
        (ln for ln in lines if "error" in ln.lower() or "corrupt" in ln.lower()),
        lines[0] if lines else f"exit {returncode}",
    )
    return CheckResult("amcheck", "fail", f"pg_amcheck: {first}", metrics={"report": lines[:20]})


def judge_checksums(enabled: bool, returncode: int | None, output: str) -> CheckResult:
    if not enabled:
        return CheckResult(
            "checksums", "warn", "data checksums are off in this cluster: pages cannot be verified"
        )
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    bad = [ln for ln in lines if "checksum verification failed" in ln]
    if returncode == 0:
        files = next(
            (ln.split(":")[-1].strip() for ln in lines if ln.startswith("Files scanned")), "?"
        )
        blocks = next(
            (ln.split(":")[-1].strip() for ln in lines if ln.startswith("Blocks scanned")), "?"
        )
        return CheckResult(
            "checksums", "pass", f"pg_checksums: {files} files, {blocks} blocks verified"
        )
    first = bad[0] if bad else (lines[-1] if lines else f"exit {returncode}")
    first = first.removeprefix("pg_checksums: ").removeprefix("error: ")
    return CheckResult(
        "checksums",
        "fail",
        f"pg_checksums: {first}" + (f" ({len(bad)} bad blocks)" if len(bad) > 1 else ""),
        metrics={"report": lines[:20]},
    )


def failure_message(checks: list[CheckResult]) -> str:
    failed = [c for c in checks if c.status == "fail"]
    parts = [
        f"{c.name}{f' [{c.database}]' if c.database not in (None, '*') else ''}: {c.detail}"
        for c in failed
    ]
    return "; ".join(parts)
