"""The ``[drill]`` config section. Everything has a default: a drill needs no configuration
(critical tables = every table in the backup's catalog snapshot)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from pgdr.settings_types import STRICT, LaxPath


class _M(BaseModel):
    model_config = STRICT


#: Leading comments and parentheses before a query's first keyword.
_LEAD = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*", re.DOTALL)
READING = ("SELECT", "WITH", "VALUES", "TABLE")


def reads_only(sql: str) -> bool:
    """``sql`` starts like a query that reads (SELECT, WITH, VALUES, TABLE). A first line of
    defence for clear errors; what actually stops a write is the READ ONLY transaction
    every timed run is made in (``probes.timed_run``)."""
    rest = sql[_LEAD.match(sql).end() :]  # type: ignore[union-attr]
    word = re.match(r"[A-Za-z]+", rest)
    return word is not None and word[0].upper() in READING


class QuerySpec(_M):
    """A query timed on the sandbox and on the baseline (production or the previous drill):
    one reading statement, run in a READ ONLY transaction with a statement timeout."""

    name: str
    sql: str
    tolerance_pct: float = Field(default=5.0, ge=0)
    #: Differences smaller than this are noise, whatever the percentage says.
    min_difference_ms: float = Field(default=5.0, ge=0)
    runs: int = Field(default=5, ge=1, le=100)

    @field_validator("sql")
    @classmethod
    def _reads(cls, sql: str) -> str:
        if not reads_only(sql):
            raise ValueError(
                "a timing query runs on production: it must be one SELECT, WITH, VALUES or "
                "TABLE statement, and it runs read-only"
            )
        return sql


class AssertionSpec(_M):
    """Custom SQL: the first column of the first row must be true, or within [min, max]."""

    name: str
    sql: str
    min: float | None = None
    max: float | None = None


class DatabaseChecks(_M):
    #: "table" (schema public) or "schema.table"; default: every table in the catalog snapshot.
    critical_tables: list[str] | None = None
    min_rows: dict[str, int] = {}
    #: "table.column" or "schema.table.column" holding the newest business timestamp.
    recency: list[str] = []
    queries: list[QuerySpec] = []
    assertions: list[AssertionSpec] = []

    @model_validator(mode="after")
    def _recency_names(self) -> DatabaseChecks:
        for r in self.recency:
            if not 2 <= len(r.split(".")) <= 3:
                raise ValueError(f"recency {r!r}: expected table.column or schema.table.column")
        return self


class DrillSettings(_M):
    #: Where sandboxes are created (default: the system temp directory).
    sandbox_dir: LaxPath | None = None
    #: Where sandbox markers live, for cleanup after a crash (default: $PGDR_STATE_DIR,
    #: /var/lib/pgdr when root, else ~/.local/state/pgdr).
    state_dir: LaxPath | None = None
    shared_buffers: str = "128MB"
    start_timeout_s: float = Field(default=900.0, gt=0)
    recency_window_hours: float = Field(default=48.0, gt=0)
    row_tolerance_pct: float = Field(default=10.0, ge=0, le=100)
    connect_warn_ms: float = Field(default=1000.0, gt=0)
    amcheck: bool = True
    amcheck_jobs: int = Field(default=2, ge=1, le=64)
    checksums: bool = True
    performance_baseline: Literal["auto", "production", "previous"] = "auto"
    #: statement_timeout of each run of a timing query, on the sandbox and on production.
    query_timeout_s: float = Field(default=30.0, gt=0, le=86400)
    #: Warn when the measured RTO exceeds this many seconds.
    max_rto_s: float | None = Field(default=None, gt=0)
    #: Channels (names under [notifications]) told when a drill ends; default all.
    notify: list[str] | None = None
    databases: dict[str, DatabaseChecks] = {}


def drill_settings(config: Any) -> DrillSettings:
    """The validated ``[drill]`` section of a :class:`pgdr.config.Config`."""
    from pgdr.config import section

    result: DrillSettings = section(config, "drill", DrillSettings)
    return result
