"""`pgdr export restore`: a table of many types, exported by pgdr's own writer (run_export) from
a real cluster, comes back under --as equal to the source row for row (row hashes); an
existing table is refused (113); a damaged file loads nothing (34); on S3, files in Deep
Archive get a restore request and the command says how long to wait (112), and the same
command run again once they are back completes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgdr.export.manifest import ExportManifest, Source
from pgdr.export.run import ExportRequest, SourceInfo, run_export
from pgdr.export.target import ExportTarget
from pgdr.pg.cluster import Cluster
from pgdr.storage import open_backend
from tests.e2e.cli import pgdr
from tests.fixtures.moto_server import bucket_url, make_bucket, s3_client
from tests.fixtures.pg import FAST_SETTINGS
from tests.fixtures.pgconfig import postgres_section

pytestmark = [pytest.mark.pg, pytest.mark.e2e]

SETUP = r"""
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE everything (
  id bigint PRIMARY KEY,
  i2 smallint, i4 integer, f4 real, f8 double precision,
  n numeric(12,3), nfree numeric,
  txt text, vc varchar(20), b bytea, ok boolean,
  d date, t time, ts timestamp, tstz timestamptz, iv interval,
  u uuid, j json, jb jsonb, arr int[], tarr text[], m mood
);
INSERT INTO everything VALUES
 (1, -32768, 2147483647, 1.5, -1e300, 123456789.123, 'NaN',
  E'tab\there "quotes" \\backslash\nnewline', 'ünïcode', '\x00ff10', true,
  '0001-01-01', '23:59:59.999999', '2026-12-07 13:00:00.123456', '2026-12-07 13:00:00+05:30',
  '1 mon 2 days 03:04:05.000006', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"a": [1, 2]}', '{"z": {"y": null}, "a": "b"}', '{1,NULL,3}', '{"a,b","",NULL,"x\"y"}', 'happy'),
 (2, 0, 0, 0, 0, 0, 12345678901234567890.123456789,
  '', '', '', false, '2026-02-28', '00:00', '1970-01-01 00:00', '1999-12-31 23:59:59-08',
  '-1 year -3 days', '00000000-0000-0000-0000-000000000000', '[]', '[]', '{}', '{}', 'sad'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO everything (id, n, txt, tstz, m, arr)
  SELECT g, g / 7.0, repeat('x', g % 50), '2026-01-01'::timestamptz + g * interval '1 minute',
         (ARRAY['sad','ok','happy'])[1 + g % 3]::mood, ARRAY[g, g + 1]
  FROM generate_series(4, 3000) g;
INSERT INTO everything (id, f4, f8, n, ts, tstz, d, t) VALUES
 (3001, 'NaN', '-Infinity', -999999999.999, '0001-01-01 00:00:00', '0001-01-01 00:00:00+00',
  '9999-12-31', '00:00:00.000001'),
 (3002, 3.4028235e38, 0.30000000000000004, 0.001, '9999-12-31 23:59:59.999999',
  '2026-03-29 01:30:00+01', '2000-02-29', '12:00'),
 (3003, '-0', 1e-310, -0.001, '2026-12-07 13:00:00', '2026-12-07 13:00:00-11', '1970-01-01', '00:00'),
 (3004, 0.1, 'Infinity', NULL, NULL, NULL, NULL, NULL);
"""
ROW_HASH = "SELECT count(*), md5(string_agg(x::text, E'\\n' ORDER BY id)) FROM {} x"


@pytest.fixture(scope="module")
def cluster(pg_bindir: Path, pg_base_dir: Path) -> Iterator[Cluster]:
    with Cluster.create(
        pg_base_dir / "export-restore", bindir=pg_bindir, settings=FAST_SETTINGS
    ) as c:
        c.start()
        c.sql("CREATE DATABASE app")
        c.sql("CREATE DATABASE elsewhere")
        with c.connect("app") as conn:
            conn.execute(SETUP)
        yield c


def _export(cluster: Cluster, url: str) -> ExportManifest:
    target = ExportTarget(open_backend(url), "")
    try:
        return run_export(
            target,
            cluster.conninfo,
            SourceInfo(Source(kind="live")),
            ExportRequest(databases=["app"], tables=["public.everything"]),
        )
    finally:
        target.close()


@pytest.fixture(scope="module")
def exported(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("exports")
    return root, _export(cluster, f"file://{root}").export_id


def _config(path: Path, cluster: Cluster, url: str) -> Path:
    path.write_text(
        f'[exports]\nurl = "{url}"\n' + postgres_section(cluster.socket_dir, cluster.port)
    )
    path.chmod(0o600)
    return path


def _hash(cluster: Cluster, db: str, table: str) -> tuple[int, str]:
    (row,) = cluster.sql(ROW_HASH.format(table), dbname=db)
    return row[0], row[1]


def test_restore_as_equals_the_source(
    cluster: Cluster, exported: tuple[Path, str], tmp_path: Path
) -> None:
    root, export_id = exported
    cfg = _config(tmp_path / "pgdr.toml", cluster, f"file://{root}")
    args = ("--config", cfg, "export", "restore", export_id, "--table", "everything")
    r = pgdr(*args, "--into-db", "app", "--as", "everything_back")
    assert r.returncode == 0, r.stderr
    assert "3004 row(s)" in r.stdout
    # no repository is configured: the load stands, the missing audit entry is said
    assert "warning: export-restore done but not audited" in r.stderr, r.stderr
    source = _hash(cluster, "app", "public.everything")
    assert source[0] == 3004
    assert _hash(cluster, "app", "public.everything_back") == source
    # the column types are the source's, NOT NULL included
    types = (
        "SELECT string_agg(format_type(atttypid, atttypmod) || (CASE WHEN attnotnull THEN '!' ELSE '' END), ',' ORDER BY attnum)"
        " FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
    )
    assert cluster.sql(types, ("everything",), dbname="app") == cluster.sql(
        types, ("everything_back",), dbname="app"
    )

    # the same again: the table exists, nothing is touched
    again = pgdr(*args, "--into-db", "app", "--as", "everything_back")
    assert again.returncode == 113 and "exists already" in again.stderr, again.stderr
    assert _hash(cluster, "app", "public.everything_back") == source

    # into a database without the enum: its column comes back as text, same values
    other = pgdr(*args, "--into-db", "elsewhere", "--as", "archive.everything")
    assert other.returncode == 0, other.stderr
    assert "type mood does not exist" in other.stdout and "created schema archive" in other.stdout
    assert _hash(cluster, "elsewhere", "archive.everything") == source


def test_damaged_file_loads_nothing(
    cluster: Cluster, exported: tuple[Path, str], tmp_path: Path
) -> None:
    root, export_id = exported
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    (part,) = (copy / export_id).rglob("part-*.parquet")
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x01
    part.write_bytes(bytes(data))
    cfg = _config(tmp_path / "pgdr.toml", cluster, f"file://{copy}")
    r = pgdr(
        "--config",
        cfg,
        "export",
        "restore",
        export_id,
        "--table",
        "public.everything",
        "--into-db",
        "app",
        "--as",
        "from_damaged",
    )
    assert r.returncode == 34 and "SHA-256" in r.stderr, r.stderr
    assert cluster.sql("SELECT to_regclass('public.from_damaged')", dbname="app") == [(None,)]


def test_deep_archive_files_are_thawed_then_restored(
    cluster: Cluster, moto_endpoint: str, tmp_path: Path
) -> None:
    bucket = make_bucket(moto_endpoint)
    url = bucket_url(moto_endpoint, bucket, "exports")
    export_id = _export(cluster, url).export_id
    s3 = s3_client(moto_endpoint)
    parts = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=bucket, Prefix="exports/")["Contents"]
        if o["Key"].endswith(".parquet")
    ]
    assert parts
    for key in parts:  # what the lifecycle rule does after 365 days
        s3.copy_object(
            Bucket=bucket,
            Key=key,
            CopySource={"Bucket": bucket, "Key": key},
            StorageClass="DEEP_ARCHIVE",
        )
    cfg = _config(tmp_path / "pgdr.toml", cluster, url)
    args = (
        "--config",
        cfg,
        "export",
        "restore",
        export_id,
        "--table",
        "everything",
        "--into-db",
        "app",
        "--as",
        "from_archive",
    )
    first = pgdr(*args, "--retrieval-tier", "Bulk")
    assert first.returncode == 112, first.stderr
    assert f"restore requested now for {len(parts)}" in first.stderr
    assert "DEEP_ARCHIVE" in first.stderr and "up to 48 hours" in first.stderr
    assert "run the same command again" in first.stderr
    for key in parts:
        assert s3.head_object(Bucket=bucket, Key=key).get("Restore"), key
    assert cluster.sql("SELECT to_regclass('public.from_archive')", dbname="app") == [(None,)]

    # moto brings restored copies back at once: the next run finds them readable
    second = pgdr(*args)
    assert second.returncode == 0, second.stderr
    assert _hash(cluster, "app", "public.from_archive") == _hash(
        cluster, "app", "public.everything"
    )


def test_duckdb_views_over_pgdrs_own_export(cluster: Cluster, exported: tuple[Path, str]) -> None:
    """The DDL against what the writer really writes (dictionary enums, interval structs,
    UUIDs, decimals): DuckDB reads every row, equal to the source on the columns both spell
    alike."""
    import duckdb

    from pgdr.export.ddl import export_ddl

    root, export_id = exported
    target = ExportTarget(open_backend(f"file://{root}"), "")
    try:
        ddl = export_ddl(target, export_id, "duckdb")
    finally:
        target.close()
    con = duckdb.connect()
    con.execute(ddl.sql)
    query = "SELECT id, i4, n, txt, b, ok, d, u::text, m::text FROM {} ORDER BY id"
    got = con.execute(query.format('"public"."everything"')).fetchall()
    with cluster.connect("app") as conn:
        want = conn.execute(query.format("everything")).fetchall()
    assert len(got) == 3004
    assert got == want
