"""Timing queries run on production: only reading statements are accepted in the
configuration, and a failed run is one line naming why and where."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pgdr.drill.settings import QuerySpec, reads_only
from pgdr.drill.verdicts import judge_timing_failure

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("sql", "ok"),
    [
        ("SELECT count(*) FROM t", True),
        ("  select 1", True),
        ("-- why\n/* how */ (SELECT 1) UNION (SELECT 2)", True),
        ("WITH x AS (SELECT 1) SELECT * FROM x", True),
        ("VALUES (1)", True),
        ("TABLE t", True),
        ("INSERT INTO t VALUES (1)", False),
        ("DELETE FROM t", False),
        ("COPY t TO PROGRAM 'sh'", False),
        ("-- SELECT\nUPDATE t SET a = 1", False),
        ("/* SELECT */ TRUNCATE t", False),
        ("", False),
        ("SELECTED", False),
    ],
)
def test_reads_only(sql: str, ok: bool) -> None:
    assert reads_only(sql) is ok


def test_a_query_that_is_not_a_read_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="must be one SELECT, WITH, VALUES or TABLE"):
        QuerySpec(name="purge", sql="DELETE FROM sessions")


@pytest.mark.parametrize(
    ("kind", "starts"),
    [
        ("writes", "refused: a timing query must not write (it runs read-only on production)"),
        ("timeout", "query exceeded the 30 s statement timeout on production"),
        ("error", "query failed on production: boom"),
    ],
)
def test_timing_failure_is_one_failed_line(kind: str, starts: str) -> None:
    c = judge_timing_failure("report", "production", "boom", 30.0, kind)
    assert c.name == "performance: report" and c.status == "fail"
    assert c.detail.startswith(starts) and "\n" not in c.detail
