"""The pure part of `restore table`: table names as operators write them, the names and DDL
of a copy, and the missing-rows statement."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgdr.errors import DumpExists, UsageError
from pgdr.surgical import ddl
from pgdr.surgical.dump import refuse_existing_file
from pgdr.surgical.names import TableName, default_copy_name, derived, parse_table
from pgdr.surgical.run import only_its_database
from tests.fixtures.manifests import manifest

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("items", TableName("public", "items")),
        ("public.items", TableName("public", "items")),
        ("Sales.Items", TableName("sales", "items")),  # folded, as PostgreSQL does
        ('"Sales"."Big Items"', TableName("Sales", "Big Items")),
        ('app."a.b"', TableName("app", "a.b")),
        ('"say ""hi"""', TableName("public", 'say "hi"')),
        (" app.t ", TableName("app", "t")),
    ],
)
def test_parse_table(text: str, expected: TableName) -> None:
    assert parse_table(text) == expected


@pytest.mark.parametrize(
    "text", ["", ".", "a.", ".b", "a.b.c", '"unterminated', 'a."b"c', "a b.c", '""', "x" * 64]
)
def test_parse_table_refuses(text: str) -> None:
    with pytest.raises(UsageError):
        parse_table(text)


def test_parse_table_default_schema_and_quoting() -> None:
    assert parse_table("copy", "--as", schema="app") == TableName("app", "copy")
    assert str(TableName("a", 'b"c')) == '"a"."b""c"'


def test_derived_names_fit_postgres_identifiers() -> None:
    assert derived("items_at_t", "items_pkey") == "items_at_t_items_pkey"
    long = derived("x" * 40, "y" * 40)
    assert len(long.encode()) == 63 and long.startswith("x" * 40 + "_")
    assert derived("é" * 31, "z") == "é" * 31 + "_"  # 63 bytes, never half a character
    assert len(derived("é" * 32, "z").encode()) == 62


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("time", "2026-12-07T04:15:00+01:00", "items_restored_20261207T031500"),
        ("time", "2026-12-07 03:15:00.25Z", "items_restored_20261207T031500"),
        ("lsn", "0/3000028", "items_restored_0_3000028"),
        ("immediate", "20261207T030000Z-ab12", "items_restored_20261207t030000z_ab12"),
    ],
)
def test_default_copy_name(kind: str, value: str, expected: str) -> None:
    assert default_copy_name(TableName("app", "items"), kind, value) == TableName("app", expected)


def test_default_copy_name_keeps_its_suffix_within_63_bytes() -> None:
    long = default_copy_name(TableName("s", "t" * 63), "lsn", "0/1")
    assert long.name == "t" * 50 + "_restored_0_1"  # 63 bytes, the suffix whole


ITEMS = TableName("public", "items")
SHAPE = ddl.Shape(
    table=ITEMS,
    table_sql="public.items",
    columns=(
        ddl.Column("id", "integer", True, "nextval('items_id_seq'::regclass)"),
        ddl.Column("note", "text", True, "'none'::text"),
        ddl.Column("n", "bigint", True, None, identity="a"),
        ddl.Column("twice", "bigint", False, "(n * 2)", generated="s"),
    ),
    primary_key=("id",),
    indexes=(
        ddl.Index(
            "items_note", "items_note", "CREATE INDEX items_note ON public.items USING btree (note)"
        ),
        ddl.Index(
            "Odd Name",
            '"Odd Name"',
            'CREATE UNIQUE INDEX "Odd Name" ON public.items USING btree (lower(note)) WHERE (n > 0)',
        ),
        ddl.Index("weird", "weird", "CREATE INDEX weird ON other.items USING btree (note)"),
    ),
    constraints=(
        ddl.Constraint("items_parent_fkey", "f", "FOREIGN KEY (n) REFERENCES parents(id)"),
        ddl.Constraint("items_note_check", "c", "CHECK ((note <> ''::text))"),
        ddl.Constraint("items_pkey", "p", "PRIMARY KEY (id)"),
        ddl.Constraint("items_self_fkey", "f", "FOREIGN KEY (n) REFERENCES items(id)", True),
    ),
)
COPY = TableName("public", "items_back")


def test_create_table_keeps_types_and_not_null_drops_sequence_identity_generation() -> None:
    assert ddl.create_table(COPY, SHAPE) == (
        'CREATE TABLE "public"."items_back" ("id" integer NOT NULL, '
        '"note" text DEFAULT \'none\'::text NOT NULL, "n" bigint NOT NULL, "twice" bigint)'
    )
    assert ddl.dropped_defaults(SHAPE) == [
        "id (sequence default)",
        "n (identity)",
        "twice (generated)",
    ]


def test_copy_statements_order_names_and_what_is_left_out() -> None:
    todo, left_out = ddl.copy_statements(SHAPE, COPY)
    assert [(s.what, s.sql) for s in todo] == [
        ("constraint items_pkey",
         'ALTER TABLE "public"."items_back" ADD CONSTRAINT "items_back_items_pkey" PRIMARY KEY (id)'),
        ("constraint items_parent_fkey",
         'ALTER TABLE "public"."items_back" ADD CONSTRAINT "items_back_items_parent_fkey" '
         "FOREIGN KEY (n) REFERENCES parents(id)"),
        ("constraint items_note_check",
         'ALTER TABLE "public"."items_back" ADD CONSTRAINT "items_back_items_note_check" '
         "CHECK ((note <> ''::text))"),
        ("index Odd Name",
         'CREATE UNIQUE INDEX "items_back_Odd Name" ON "public"."items_back" USING btree '
         "(lower(note)) WHERE (n > 0)"),
        ("index items_note",
         'CREATE INDEX "items_back_items_note" ON "public"."items_back" USING btree (note)'),
    ]  # fmt: skip
    assert left_out == [
        "constraint items_self_fkey: a foreign key to the original table itself",
        "index weird: definition not understood",
    ]


def test_a_foreign_key_to_a_table_restored_beside_it_points_at_that_copy() -> None:
    parents, copy_of_parents = TableName("public", "parents"), TableName("public", "parents_back")
    fk = ddl.Constraint(
        "items_parent_fkey",
        "f",
        "FOREIGN KEY (n) REFERENCES parents(id) ON DELETE CASCADE",
        references=parents,
        references_sql="parents",
    )
    sql = ddl.constraint_on(fk, COPY, {parents: copy_of_parents, ITEMS: COPY})
    assert sql.endswith(
        'FOREIGN KEY (n) REFERENCES "public"."parents_back"(id) ON DELETE CASCADE'
    ), sql
    # restored alone, or pointing at a table not restored: the live table, as before
    assert ddl.constraint_on(fk, COPY).endswith("REFERENCES parents(id) ON DELETE CASCADE")
    assert ddl.constraint_on(fk, COPY, {ITEMS: COPY}).endswith(
        "REFERENCES parents(id) ON DELETE CASCADE"
    )
    # a schema-qualified print (the table off the search path) is matched as printed
    other = ddl.Constraint(
        "k", "f", "FOREIGN KEY (n) REFERENCES app.parents(id)",
        references=TableName("app", "parents"), references_sql="app.parents",
    )  # fmt: skip
    moved = ddl.constraint_on(other, COPY, {TableName("app", "parents"): copy_of_parents})
    assert moved.endswith('REFERENCES "public"."parents_back"(id)'), moved


def test_missing_rows_sql() -> None:
    assert ddl.live_columns_missing(SHAPE, ["id", "note", "n", "extra"]) == ["twice"]
    assert ddl.staged_table("st", SHAPE, ["id", "note"]) == (
        'CREATE TEMPORARY TABLE "st" ("id" integer, "note" text) ON COMMIT DROP'
    )
    assert ddl.insert_missing(ITEMS, "st", ["id", "note"], ["id"], overriding=False) == (
        'INSERT INTO "public"."items" ("id", "note") SELECT s."id", s."note" FROM pg_temp."st" s '
        'WHERE NOT EXISTS (SELECT 1 FROM "public"."items" l WHERE l."id" = s."id")'
    )
    two = ddl.insert_missing(ITEMS, "st", ["a", "b", "n"], ["a", "b"], overriding=True)
    assert "OVERRIDING SYSTEM VALUE SELECT" in two
    assert two.endswith('WHERE l."a" = s."a" AND l."b" = s."b")')


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["restore"], "--data-dir"),  # still required when no subcommand is given
        (["restore", "--data-dir", "/tmp/x", "table", "--table", "t", "--missing-rows"],
         "--data-dir belongs to `pgdr restore`"),
        (["restore", "table", "--table", "t", "--as", "u", "--missing-rows", "--backup", "b"],
         "one of --as NAME, --missing-rows or --dump FILE"),
        (["restore", "table", "--table", "t", "--dump", "f", "--missing-rows", "--backup", "b"],
         "one of --as NAME, --missing-rows or --dump FILE"),
        (["restore", "table", "--table", "t", "--missing-rows"], "--time, --lsn or --backup"),
        (["restore", "table", "--table", "t", "--missing-rows", "--time", "yesterday"],
         "not a time"),
        (["restore", "table", "--table", "t", "--missing-rows", "--lsn", "0/1",
          "--time", "2026-12-07T03:00:00Z"], "one recovery target"),
        (["restore", "table", "--table", "a b", "--missing-rows", "--backup", "b"],
         "expected schema.name"),
    ],
)  # fmt: skip
def test_restore_table_usage_errors(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused before any configuration, repository or server is read: exit 2, one line."""
    from pgdr.cli.main import run

    with pytest.raises(SystemExit) as exited:
        run(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2, err
    assert says in err and err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("oids", "database", "expected"),
    [
        ({"1": "template1", "5": "postgres", "16384": "app"}, "app", ["app"]),
        ({"1": "template1", "5": "postgres", "16384": "app"}, "postgres", ["postgres"]),
        # created after the backup: only WAL replay brings it, so the whole cluster
        ({"1": "template1", "5": "postgres"}, "app", []),
        ({}, "app", []),  # a backup that does not record its databases' oids
    ],
)
def test_the_sandbox_restores_only_the_tables_database_when_it_can(
    oids: dict[str, str], database: str, expected: list[str]
) -> None:
    assert only_its_database(manifest(database_oids=oids), database) == expected


def test_dump_file_refusals(tmp_path: Path) -> None:
    refuse_existing_file(tmp_path / "new.dump")  # fine: nothing there, the directory is
    (tmp_path / "taken.dump").write_bytes(b"")
    (tmp_path / "dangling.dump").symlink_to(tmp_path / "nowhere")
    for name in ("taken.dump", "dangling.dump"):
        with pytest.raises(DumpExists, match="the file exists; a dump never overwrites"):
            refuse_existing_file(tmp_path / name)
    with pytest.raises(UsageError, match="no directory"):
        refuse_existing_file(tmp_path / "missing" / "t.dump")
    assert DumpExists.exit_code == 58
