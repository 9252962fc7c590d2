"""`export restore` decided without PostgreSQL: type names from an untrusted manifest, table
choice, target names, column fallbacks, value conversion, and the Glacier thaw decisions."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from pgdr.errors import ArchivedObjectsPending, UnsafeExportManifest, UsageError
from pgdr.export.bucket import ObjectState, restore_state
from pgdr.export.load_plan import (
    TargetName,
    choose_table,
    column_defs,
    create_table_sql,
    pg_value,
    safe_pg_type,
    target_name,
)
from pgdr.export.manifest import ColumnEntry, ExportManifest, Source, TableEntry
from pgdr.export.thaw import check_tier, pending_error, plan_thaw

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "pg_type",
    [
        "bigint",
        "numeric(12,3)",
        "numeric(5, -2)",
        "character varying(20)",
        "timestamp(3) with time zone",
        "integer[]",
        "text[][]",
        "public.mood",
        '"My Type"',
        '"sch"."Typ"[]',
        "double precision",
        "bit varying(5)[]",
        "interval day to second(3)",
    ],
)
def test_type_names_accepted(pg_type: str) -> None:
    assert safe_pg_type(pg_type) == pg_type


@pytest.mark.parametrize(
    "pg_type",
    [
        "int); DROP TABLE users; --",
        "text DEFAULT 'x'",
        "int /* c */",
        "int -- c",
        "",
        "numeric(1,2,3)",
        '"unterminated',
        "a" * 300,
        "int, evil int",
        "int\x00",
    ],
)
def test_type_names_refused(pg_type: str) -> None:
    with pytest.raises(UnsafeExportManifest):
        safe_pg_type(pg_type)


def _table(
    database: str, schema: str, table: str, columns: tuple[ColumnEntry, ...] = ()
) -> TableEntry:
    return TableEntry(database, schema, table, 0, 0, None, columns, ())


T = datetime(2026, 12, 7, tzinfo=UTC)
M = ExportManifest(
    "20261207T130000Z-a1b2c3",
    Source("live"),
    T,
    T,
    T,
    (
        _table("app", "public", "users"),
        _table("app", "audit", "users"),
        _table("app", "public", "recalls"),
        _table("crm", "public", "recalls"),
    ),
)


@pytest.mark.parametrize(
    ("wanted", "database", "found"),
    [
        ("public.users", None, ("app", "public", "users")),
        ("audit.users", None, ("app", "audit", "users")),
        ("public.recalls", "crm", ("crm", "public", "recalls")),
        ("recalls", "app", ("app", "public", "recalls")),
    ],
)
def test_choose_table(wanted: str, database: str | None, found: tuple[str, str, str]) -> None:
    t = choose_table(M, wanted, database)
    assert (t.database, t.schema, t.table) == found


@pytest.mark.parametrize(
    ("wanted", "database", "message"),
    [
        ("users", None, "names 2 tables"),
        ("public.recalls", None, "names 2 tables"),
        ("nope", None, "has no table 'nope'"),
        ("public.users", "crm", "has no table"),
    ],
)
def test_choose_table_refuses(wanted: str, database: str | None, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        choose_table(M, wanted, database)


@pytest.mark.parametrize(
    ("as_name", "want"),
    [
        (None, TargetName("audit", "users")),
        ("back", TargetName("audit", "back")),
        ("arch.back", TargetName("arch", "back")),
        ('we"ird', TargetName("audit", 'we"ird')),
    ],
)
def test_target_name(as_name: str | None, want: TargetName) -> None:
    assert target_name(_table("app", "audit", "users"), as_name) == want


@pytest.mark.parametrize("as_name", ["", "schema.", "a\x00b"])
def test_target_name_refused(as_name: str) -> None:
    with pytest.raises(UsageError):
        target_name(_table("app", "public", "users"), as_name)


def test_columns_fall_back_to_text_for_types_the_target_lacks() -> None:
    t = _table(
        "app",
        "public",
        "t",
        (
            ColumnEntry("id", "bigint", "int64", False),
            ColumnEntry("m", "mood", "dictionary<values=string, indices=int32, ordered=1>", True),
            ColumnEntry("ms", "mood[]", "list<item: string>", True),
        ),
    )
    cols = column_defs(t, {"bigint": True, "mood": False})
    assert [(c.name, c.pg_type, c.not_null) for c in cols] == [
        ("id", "bigint", True),
        ("m", "text", False),
        ("ms", "text[]", False),
    ]
    assert cols[1].note == "type mood does not exist in the target database: created as text"
    sql = create_table_sql(TargetName("s", 'x"y'), cols)
    assert (
        sql == 'CREATE TABLE "s"."x""y" (\n  "id" bigint NOT NULL,\n  "m" text,\n  "ms" text[]\n)'
    )


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ({"months": 1, "days": 2, "microseconds": 3}, "1 mons 2 days 3 microseconds"),
        ({"months": -12, "days": -3, "microseconds": 0}, "-12 mons -3 days 0 microseconds"),
        (
            pa.scalar(pa.MonthDayNano([1, 2, 3000]), pa.month_day_nano_interval()).as_py(),
            "1 mons 2 days 3 microseconds",
        ),
        (
            [{"months": 0, "days": 1, "microseconds": 0}, None],
            ["0 mons 1 days 0 microseconds", None],
        ),
        ([1, None, 3], [1, None, 3]),
        ("text", "text"),
        (None, None),
    ],
)
def test_pg_value(value: object, want: object) -> None:
    assert pg_value(value) == want


@pytest.mark.parametrize(
    ("header", "state"),
    [
        (None, None),
        ("", None),
        ('ongoing-request="true"', True),
        ('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"', False),
    ],
)
def test_restore_header(header: str | None, state: bool | None) -> None:
    assert restore_state(header) is state


def test_thaw_plan_and_messages() -> None:
    states = [
        ObjectState("a", "STANDARD", None),
        ObjectState("b", "GLACIER_IR", None),  # instant retrieval: readable as is
        ObjectState("c", "DEEP_ARCHIVE", None),
        ObjectState("d", "DEEP_ARCHIVE", True),
        ObjectState("e", "GLACIER", False),  # restored copy readable
    ]
    plan = plan_thaw(states)
    assert (plan.request, plan.ongoing, plan.classes, plan.ready) == (
        ["c"],
        ["d"],
        ["DEEP_ARCHIVE"],
        False,
    )
    err = pending_error(plan, 1, "Standard", "app:public.t")
    assert isinstance(err, ArchivedObjectsPending) and err.exit_code == 112
    assert err.message == (
        "2 file(s) of app:public.t are in DEEP_ARCHIVE: restore requested now for 1, 1 already "
        "being restored; Standard retrieval typically takes DEEP_ARCHIVE: up to 12 hours"
    )
    assert plan_thaw(states[:2] + states[4:]).ready
    glacier = plan_thaw([ObjectState("x", "GLACIER", None)])
    assert "1-5 minutes" in pending_error(glacier, 1, "Expedited", "t").message


def test_retrieval_tiers() -> None:
    check_tier("Expedited", ["GLACIER"])
    check_tier("Bulk", ["DEEP_ARCHIVE"])
    with pytest.raises(UsageError, match="no Expedited"):
        check_tier("Expedited", ["GLACIER", "DEEP_ARCHIVE"])
    with pytest.raises(UsageError, match="choose Standard"):
        check_tier("fast", ["GLACIER"])


@pytest.mark.parametrize(
    ("arrow", "cast"),
    [
        ("int64", True),
        ("double", True),
        ("decimal128(12, 3)", True),
        ("timestamp[us, tz=UTC]", True),
        ("timestamp[us]", True),
        ("timestamp[us, tz=Europe/Paris]", False),  # offsets of named zones: read per value
        ("timestamp[ns]", False),
        ("date32[day]", True),
        ("time64[us]", True),
        ("dictionary<values=string, indices=int32, ordered=1>", True),
        ("string", True),
        ("binary", False),  # bytea text is hex, not what Arrow casts to
        ("extension<arrow.uuid>", False),
        ("list<item: int32>", False),
        ("struct<months: int32, days: int32, microseconds: int64>", False),
        ("decimal256(60, 2)", False),
    ],
)
def test_text_castable(arrow: str, cast: bool) -> None:
    from pgdr.export.load_plan import text_castable

    assert text_castable(arrow) is cast
