"""`pgdr restore table` on real clusters (issue 18): one source cluster and one backup
shared by the module (its cluster holds a second database, which every table restore's
sandbox leaves out: fewer bytes fetched than the cluster). After a point T: part of a table is deleted by accident, a row is
changed, later unrelated rows are written, a table is dropped. Then:

- `--missing-rows` brings back exactly the deleted rows and leaves the later writes (and the
  changed row) alone;
- `--as` creates an equal copy of the table at T (row hashes), TOAST-heavy rows included,
  with its indexes, its check constraint and its foreign key recreated;
- `--dump FILE` writes an owner-only pg_dump file that pg_restore turns into the table at T,
  and never overwrites a file (exit 58);
- a dropped table comes back with `--as`;
- two tables whose rows a cascading delete took come back together with `--missing-rows`
  (given children first, inserted parents first, one transaction, one sandbox), and `--as`
  with two tables is refused;
- a table without a primary key is refused for `--missing-rows` with the reason (exit 57), a
  deleted row whose unique key a later row took is refused with nothing inserted (exit 59),
  an `--as` name that exists is refused (exit 58), and `--dry-run` changes nothing.
Every sandbox is removed afterwards; each action is in the audit log."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pgdr.pg.cluster import Cluster
from pgdr.surgical.names import TableName, default_copy_name
from tests.e2e.cli import pgdr, spawn
from tests.fixtures.pg import FAST_SETTINGS
from tests.fixtures.pgconfig import add_postgres
from tests.pg.archiving import _archive_setup, archive_command
from tests.pg.drilling import switch_and_wait

pytestmark = [pytest.mark.pg, pytest.mark.e2e]

DB = "app"
#: A row hash of a table: every row as text, in key order (equal tables, equal hashes).
HASH = "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY {key}), '')) FROM {table} t"

SCHEMA = """
CREATE TABLE parents (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE items (
    id serial PRIMARY KEY,
    parent_id int NOT NULL REFERENCES parents (id),
    note text NOT NULL CHECK (note <> ''),
    body text,
    at timestamptz DEFAULT clock_timestamp()
);
CREATE INDEX items_parent ON items (parent_id);
CREATE UNIQUE INDEX items_note_live ON items (note) WHERE note LIKE 'unique%';
CREATE TABLE loose (a int, b text);
CREATE TABLE doomed (id int PRIMARY KEY, v text NOT NULL);
CREATE TABLE tags (id int PRIMARY KEY, label text UNIQUE);
INSERT INTO tags VALUES (1, 'a'), (2, 'b');
CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL);
CREATE TABLE orders (
    id int PRIMARY KEY,
    account_id int NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    total numeric NOT NULL
);
INSERT INTO accounts SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 40) g;
INSERT INTO orders SELECT g, 1 + g % 40, g * 1.5 FROM generate_series(1, 200) g;
INSERT INTO parents SELECT g, 'parent ' || g FROM generate_series(1, 20) g;
INSERT INTO loose SELECT g, 'x' || g FROM generate_series(1, 50) g;
INSERT INTO doomed SELECT g, 'doomed ' || g FROM generate_series(1, 300) g;
"""
#: Rows whose body is ~60 kB of barely compressible text: stored out of line, in TOAST.
TOASTY = (
    "INSERT INTO items (parent_id, note, body) SELECT 1 + g % 20, 'toast ' || g, "
    "(SELECT string_agg(md5(g::text || ':' || i), '') FROM generate_series(1, 1900) i) "
    "FROM generate_series({lo}, {hi}) g"
)
PLAIN = (
    "INSERT INTO items (parent_id, note, body) SELECT 1 + g % 20, 'note ' || g, 'small ' || g "
    "FROM generate_series({lo}, {hi}) g"
)


def cli(cfg: Path, *args: str, json_out: bool = True) -> subprocess.CompletedProcess[str]:
    return pgdr("--config", cfg, *(["--json"] if json_out else []), *args, timeout=600)


def table_hash(c: Cluster, table: str, key: str = "id") -> tuple[int, str]:
    (row,) = c.sql(HASH.format(table=table, key=key), dbname=DB)
    return int(row[0]), str(row[1])


@pytest.fixture(scope="module")
def scene(pg_bindir: Path, pg_base_dir: Path) -> Iterator[dict[str, Any]]:
    setup = _archive_setup(pg_base_dir)
    root, cfg = Path(setup["root"]), Path(setup["cfg"])
    settings = {
        **FAST_SETTINGS,
        "archive_mode": "on",
        "archive_command": archive_command(cfg),
        "archive_timeout": 0,
    }
    src = Cluster.create(pg_base_dir / "table-restore-source", bindir=pg_bindir, settings=settings)
    try:
        src.start()
        add_postgres(
            cfg,
            src,
            user="postgres",
            more=f'\n[drill]\nstate_dir = "{root / "state"}"\n'
            f'sandbox_dir = "{root / "sandboxes"}"\nshared_buffers = "32MB"\n',
        )
        src.sql(f"CREATE DATABASE {DB}")
        # Another database with some weight: the sandbox restore leaves it out.
        src.sql("CREATE DATABASE other")
        src.sql(
            "CREATE TABLE filler AS SELECT g, md5(g::text) AS m FROM generate_series(1, 60000) g",
            dbname="other",
        )
        with src.connect(DB) as conn:
            conn.execute(SCHEMA)  # type: ignore[arg-type]
            conn.execute(PLAIN.format(lo=1, hi=400))  # type: ignore[arg-type]
        (other_bytes, whole_bytes) = src.sql(
            "SELECT pg_database_size('other'), pg_tablespace_size('pg_global') "
            "+ (SELECT sum(pg_database_size(oid)) FROM pg_database)"
        )[0]
        r = cli(cfg, "backup", "--type", "full")
        assert r.returncode == 0, r.stderr
        # Written after the backup: replayed from WAL by every restore to T.
        with src.connect(DB) as conn:
            conn.execute(TOASTY.format(lo=401, hi=440))  # type: ignore[arg-type]
            conn.execute(PLAIN.format(lo=441, hi=600))  # type: ignore[arg-type]
        at_t = {t: table_hash(src, t) for t in ("items", "doomed", "parents", "accounts", "orders")}
        at_t["deleted"] = table_hash(src, "(SELECT * FROM items WHERE id % 3 = 0)")
        at_t["unchanged"] = table_hash(src, "(SELECT * FROM items WHERE id <> 1)")
        (toasted,) = src.sql(
            "SELECT count(*) FROM items WHERE pg_column_size(body) > 8000", dbname=DB
        )[0]
        assert toasted == 40
        (when,) = src.sql("SELECT clock_timestamp()")[0]
        t = when.isoformat()
        # The accident and what came after it.
        with src.connect(DB) as conn:
            conn.execute("DELETE FROM items WHERE id % 3 = 0")  # a third of the table
            conn.execute("UPDATE items SET note = 'changed after T' WHERE id = 1")
            conn.execute(PLAIN.format(lo=601, hi=650))  # type: ignore[arg-type]
            conn.execute("DROP TABLE doomed")
            conn.execute("DELETE FROM tags WHERE id = 2")  # its label is taken again:
            conn.execute("INSERT INTO tags VALUES (3, 'b')")
            # Accounts deleted by mistake take their orders with them (ON DELETE CASCADE).
            conn.execute("DELETE FROM accounts WHERE id % 4 = 0")
        switch_and_wait(src)
        yield {"src": src, "cfg": cfg, "root": root, "t": t, "at_t": at_t, "setup": setup,
               "other_bytes": other_bytes, "whole_bytes": int(whole_bytes)}  # fmt: skip
    finally:
        src.destroy()
        shutil.rmtree(root, ignore_errors=True)


def sandboxes_left(root: Path) -> list[str]:
    where, state = root / "sandboxes", root / "state" / "sandboxes"
    return [p.name for d in (where, state) if d.exists() for p in d.iterdir()]


def test_missing_rows_brings_back_exactly_the_deleted_rows(scene: dict[str, Any]) -> None:
    src: Cluster = scene["src"]
    deleted = {r[0] for r in src.sql("SELECT g FROM generate_series(1, 600) g WHERE g % 3 = 0")}
    later = src.sql("SELECT id, note FROM items WHERE id > 600 OR id = 1 ORDER BY id", dbname=DB)
    before = src.sql("SELECT count(*) FROM items", dbname=DB)[0][0]

    r = cli(scene["cfg"], "restore", "table", "--table", "public.items", "--database", DB,
            "--time", scene["t"], "--missing-rows")  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    (missing,) = out["missing"]
    assert missing["inserted"] == len(deleted)
    assert missing["rows_at_target"] == 600
    assert missing["rows_before"] == before
    assert missing["rows_after"] == before + len(deleted)
    assert out["sandbox"]["removed"] is True
    assert sandboxes_left(scene["root"]) == []
    # Only the table's database was fetched: `other` was left out as files of zeros.
    assert out["left_out"] == ["other"]
    other = scene["other_bytes"]
    assert abs(out["left_out_bytes"] - other) <= 0.10 * other, (out["left_out_bytes"], other)
    assert out["fetched_bytes"] < scene["whole_bytes"] - 0.9 * other

    ids = {r[0] for r in src.sql("SELECT id FROM items", dbname=DB)}
    assert ids == set(range(1, 651))  # every deleted row is back, the later ones stayed
    # Later writes untouched: the row changed after T keeps its change, new rows are there.
    assert (
        src.sql("SELECT id, note FROM items WHERE id > 600 OR id = 1 ORDER BY id", dbname=DB)
        == later
    )
    # The rows that came back are those of T, TOASTed bodies included (rows 401-440).
    back = "(SELECT * FROM items WHERE id % 3 = 0 AND id <= 600)"
    assert table_hash(src, back) == scene["at_t"]["deleted"]
    # Every row of T but the one changed since is as it was at T.
    assert (
        table_hash(src, "(SELECT * FROM items WHERE id <= 600 AND id <> 1)")
        == (scene["at_t"]["unchanged"])
    )

    log = json.loads(cli(scene["cfg"], "audit", "--verify").stdout)
    mine = [e["details"] for e in log["entries"] if e["action"] == "restore-table"]
    assert ('"public"."items"', "missing-rows", len(deleted), out["backup_id"]) in [
        (d["table"], d["mode"], d.get("inserted"), d["backup"]) for d in mine
    ]
    assert log["ok"]


def test_as_creates_an_equal_copy_with_toast_indexes_and_foreign_key(
    scene: dict[str, Any],
) -> None:
    src: Cluster = scene["src"]
    r = cli(scene["cfg"], "restore", "table", "--table", "public.items", "--database", DB,
            "--time", scene["t"], "--as", "items_at_t")  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    (copy,) = out["copies"]
    assert copy["rows"] == 600 and copy["source"] == '"public"."items"'
    assert table_hash(src, "items_at_t") == scene["at_t"]["items"]
    assert copy["skipped"] == []
    assert copy["not_kept"] == ["id (sequence default)"]
    indexes = dict(
        src.sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'items_at_t'", dbname=DB
        )
    )
    assert set(indexes) == {"items_at_t_items_pkey", "items_at_t_items_parent",
                            "items_at_t_items_note_live"}  # fmt: skip
    assert "WHERE (note ~~ 'unique%'::text)" in indexes["items_at_t_items_note_live"]
    constraints = dict(
        src.sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'items_at_t'::regclass",
            dbname=DB,
        )
    )
    assert constraints["items_at_t_items_parent_id_fkey"] == (
        "FOREIGN KEY (parent_id) REFERENCES parents(id)"
    )
    assert constraints["items_at_t_items_note_check"] == "CHECK ((note <> ''::text))"
    (toasted,) = src.sql(
        "SELECT count(*) FROM items_at_t WHERE pg_column_size(body) > 8000", dbname=DB
    )[0]
    assert toasted == 40
    assert sandboxes_left(scene["root"]) == []
    # An existing name is never overwritten.
    r = cli(scene["cfg"], "restore", "table", "--table", "items", "--database", DB,
            "--time", scene["t"], "--as", "items_at_t")  # fmt: skip
    assert r.returncode == 58, r.stderr
    assert "already exists" in r.stderr

    # --dump FILE: the same table at T as a pg_dump custom-format file, owner-only, that
    # pg_restore brings into a scratch database equal to the table at T.
    dump = scene["root"] / "items.dump"
    r = cli(scene["cfg"], "restore", "table", "--table", "public.items", "--database", DB,
            "--time", scene["t"], "--dump", str(dump))  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["mode"] == "dump" and out["copies"] == [] and out["missing"] == []
    assert out["dump"] == {"file": str(dump), "bytes": dump.stat().st_size}
    assert dump.stat().st_mode & 0o777 == 0o600 and dump.stat().st_uid == os.geteuid()
    assert sandboxes_left(scene["root"]) == []
    src.sql("CREATE DATABASE scratch")
    try:
        with src.connect("scratch") as conn:  # what the foreign key of items points at
            conn.execute("CREATE TABLE parents (id int PRIMARY KEY, name text NOT NULL)")
            conn.execute("INSERT INTO parents SELECT g, 'p' FROM generate_series(1, 20) g")
        with dump.open("rb") as f:
            restored = src.run_tool("pg_restore", "--dbname=scratch", "--exit-on-error",
                                    check=False, stdin=f, text=False)  # fmt: skip
        assert restored.returncode == 0, restored.stderr
        (row,) = src.sql(HASH.format(table="items", key="id"), dbname="scratch")
        assert (int(row[0]), str(row[1])) == scene["at_t"]["items"]
    finally:
        src.sql("DROP DATABASE scratch WITH (FORCE)")
    # An existing file is never overwritten, refused before any restore.
    r = cli(scene["cfg"], "restore", "table", "--table", "public.items", "--database", DB,
            "--time", scene["t"], "--dump", str(dump))  # fmt: skip
    assert r.returncode == 58, r.stderr
    assert "exists" in r.stderr and r.stderr.count("\n") <= 2


def test_a_dropped_table_comes_back_with_as(scene: dict[str, Any]) -> None:
    src: Cluster = scene["src"]
    assert src.sql("SELECT to_regclass('doomed') IS NULL", dbname=DB)[0][0] is True
    r = cli(scene["cfg"], "restore", "table", "--table", "public.doomed", "--database", DB,
            "--time", scene["t"], "--as", "doomed", json_out=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "copied" in r.stdout and "300 rows" in r.stdout
    assert table_hash(src, "doomed") == scene["at_t"]["doomed"]
    assert src.sql(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'doomed'::regclass", dbname=DB
    ) == [("doomed_doomed_pkey",)]


def test_tables_a_cascade_emptied_come_back_together_parents_first(
    scene: dict[str, Any],
) -> None:
    src: Cluster = scene["src"]
    cfg, t = scene["cfg"], scene["t"]
    # --as names one copy: with two tables it is refused before anything is restored
    r = cli(cfg, "restore", "table", "--table", "orders", "--table", "accounts",
            "--database", DB, "--time", t, "--as", "x")  # fmt: skip
    assert r.returncode == 2 and "--as names one copy" in r.stderr, r.stderr
    # the dry run says the order: accounts (pointed at) before orders
    r = cli(cfg, "restore", "table", "--table", "orders", "--table", "accounts",
            "--database", DB, "--time", t, "--missing-rows", "--dry-run")  # fmt: skip
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)["plan"]
    assert [line.split(" the rows")[0] for line in plan[1:3]] == [
        f'insert into "public"."accounts" in database {DB}',
        f'insert into "public"."orders" in database {DB}',
    ]
    assert plan[3] == "all in one transaction, in this order"
    before = {
        n: src.sql(f"SELECT count(*) FROM {n}", dbname=DB)[0][0] for n in ("accounts", "orders")
    }
    assert before["accounts"] == 30 and before["orders"] < 200  # the cascade took orders too

    # children given first: the orders would fail their foreign key if they went first
    r = cli(cfg, "restore", "table", "--table", "public.orders", "--table", "public.accounts",
            "--database", DB, "--time", t, "--missing-rows")  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["tables"] == ['"public"."accounts"', '"public"."orders"']
    got = {m["table"]: (m["inserted"], m["rows_at_target"]) for m in out["missing"]}
    assert got == {
        '"public"."accounts"': (10, 40),
        '"public"."orders"': (200 - before["orders"], 200),
    }
    assert [m["table"] for m in out["missing"]] == out["tables"]  # in the order they went in
    for n in ("accounts", "orders"):
        assert table_hash(src, n) == scene["at_t"][n]  # both exactly as at T
    assert out["sandbox"]["removed"] is True and sandboxes_left(scene["root"]) == []
    log = json.loads(cli(cfg, "audit").stdout)
    mine = [e["details"] for e in log["entries"] if e["action"] == "restore-table"]
    last = {d["table"]: d for d in mine[-2:]}
    assert last['"public"."accounts"']["with"] == ['"public"."orders"']
    assert last['"public"."orders"']["inserted"] == 200 - before["orders"]

    # without --as or --missing-rows: both copied beside the live tables (default names),
    # the copy of orders keyed to the copy of accounts, not to the live table
    r = cli(cfg, "restore", "table", "--table", "orders", "--table", "accounts",
            "--database", DB, "--time", t)  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    names = {
        n: default_copy_name(TableName("public", n), "time", t).name for n in ("accounts", "orders")
    }
    assert [c["table"] for c in out["copies"]] == [
        f'"public"."{names[n]}"' for n in ("accounts", "orders")
    ]
    assert all(c["skipped"] == [] for c in out["copies"]), out["copies"]
    for n in ("accounts", "orders"):  # the names hold a capital T: quoted
        assert table_hash(src, f'"{names[n]}"') == scene["at_t"][n]
    (fk,) = src.sql(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass",
        (f'"{names["orders"]}"',),
        dbname=DB,
    )[0]
    assert fk == f'FOREIGN KEY (account_id) REFERENCES "{names["accounts"]}"(id) ON DELETE CASCADE'

    # --dump with both: one pg_dump file that pg_restore turns into both tables at T
    dump = scene["root"] / "accounts-orders.dump"
    r = cli(cfg, "restore", "table", "--table", "orders", "--table", "accounts",
            "--database", DB, "--time", t, "--dump", str(dump))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["dump"]["bytes"] == dump.stat().st_size
    src.sql("CREATE DATABASE scratch2")
    try:
        with dump.open("rb") as f:
            restored = src.run_tool("pg_restore", "--dbname=scratch2", "--exit-on-error",
                                    check=False, stdin=f, text=False)  # fmt: skip
        assert restored.returncode == 0, restored.stderr
        for n in ("accounts", "orders"):
            (row,) = src.sql(HASH.format(table=n, key="id"), dbname="scratch2")
            assert (int(row[0]), str(row[1])) == scene["at_t"][n]
    finally:
        src.sql("DROP DATABASE scratch2 WITH (FORCE)")
    assert sandboxes_left(scene["root"]) == []


def test_refusals_and_dry_run(scene: dict[str, Any]) -> None:
    cfg, t = scene["cfg"], scene["t"]
    r = cli(cfg, "restore", "table", "--table", "loose", "--database", DB,
            "--time", t, "--missing-rows")  # fmt: skip
    assert r.returncode == 57, r.stderr
    assert "no primary key" in r.stderr and r.stderr.count("\n") <= 2
    # Neither --as nor --missing-rows: a copy named after the target; --dry-run says so.
    r = cli(cfg, "restore", "table", "--table", "items", "--database", DB,
            "--time", t, "--dry-run", json_out=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    default = default_copy_name(TableName("public", "items"), "time", t).name
    assert "dry run" in r.stdout and "would restore backup" in r.stdout
    assert f'"public"."{default}"' in r.stdout
    assert scene["src"].sql("SELECT to_regclass(%s)", (default,), dbname=DB) == [(None,)]
    assert sandboxes_left(scene["root"]) == []


def test_key_conflict_refused_and_sandbox_removed_on_failure_and_sigterm(
    scene: dict[str, Any],
) -> None:
    src: Cluster = scene["src"]
    cfg, t = scene["cfg"], scene["t"]
    # A deleted row whose unique label a later row took: refused in the sandbox phase, all
    # rolled back, and the sandbox goes all the same.
    r = cli(cfg, "restore", "table", "--table", "tags", "--database", DB,
            "--time", t, "--missing-rows")  # fmt: skip
    assert r.returncode == 59, r.stderr
    assert "conflicts with the live table" in r.stderr and "nothing was inserted" in r.stderr
    assert src.sql("SELECT id, label FROM tags ORDER BY id", dbname=DB) == [(1, "a"), (3, "b")]
    assert sandboxes_left(scene["root"]) == []

    # SIGTERM while the run waits for the live table (a writer's transaction holds it
    # here): it unwinds, removes the sandbox, inserts nothing and exits 130.
    with src.connect(DB, autocommit=False) as holder:
        holder.execute("UPDATE items SET note = note WHERE id = 2")
        p = spawn("--config", cfg, "restore", "table", "--table", "items", "--database", DB,
                  "--time", t, "--missing-rows")  # fmt: skip
        try:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                assert p.poll() is None, p.stderr.read() if p.stderr else ""
                (waiting,) = src.sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND application_name = 'pgdr restore table'"
                )[0]
                if waiting:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError("the table restore never reached the live table")
            assert sandboxes_left(scene["root"]) != []  # the sandbox runs now
            p.send_signal(signal.SIGTERM)
            assert p.wait(120) == 130, p.stderr.read() if p.stderr else ""
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(30)
        holder.rollback()
    assert sandboxes_left(scene["root"]) == []
