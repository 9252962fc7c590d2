"""`pgdr export` against a real cluster (docs/design.md §8j): every mapped type read back with
DuckDB's own Parquet reader and compared row by row with the source; parts, row groups and
month partitions; one snapshot shared by parallel workers while a writer commits; verify
finding damage; an S3 target on moto with a storage class."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pyarrow.parquet as pq
import pytest

from pgdr.config import S3Settings
from pgdr.errors import ExportNotFound
from pgdr.export.manifest import MANIFEST_NAME, SUCCESS_NAME, ExportManifest, Source
from pgdr.export.reader import TableRef, table_ranges
from pgdr.export.run import ExportRequest, SourceInfo, run_export
from pgdr.export.settings import ExportSettings
from pgdr.export.target import ExportTarget, open_target
from pgdr.export.verify import verify_export
from pgdr.export.writer import PartLimits
from pgdr.pg.cluster import Cluster
from pgdr.storage import open_backend
from tests.fixtures.moto_server import REGION, make_bucket
from tests.fixtures.pg import FAST_SETTINGS

pytestmark = pytest.mark.pg

SCHEMA = r"""
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE typed (
  id int PRIMARY KEY,
  i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,
  n12 numeric(12,3), n38 numeric(38,10), nbig numeric(60,2), nfree numeric, nnan numeric(6,2),
  t text, vc varchar(5), ch char(3), b bytea, bo boolean,
  d date, tm time, ts timestamp, tstz timestamptz, iv interval, u uuid,
  j json, jb jsonb, ai int[], ta text[], an numeric[], m mood, am mood[], multi int[],
  tz timetz, ip inet, au uuid[]
);
SET TIME ZONE 'America/St_Johns';
INSERT INTO typed VALUES
 (1, 32767, 2147483647, 9223372036854775807, 1.5, 2.25,
  123456789.123, 9999999999999999999999999999.9999999999, 9.99e57, 0.000000000000000000000001, 'NaN',
  'ünï\ncode', 'abc', 'ab', '\x00ff10', true,
  '2026-02-28', '23:59:59.999999', '2026-01-01 00:00:00.000001', '2026-03-29 01:30:00+02',
  '1 year 2 mons 3 days 04:05:06.7', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"a": [1, 2] , "b":null}', '{"z": 1, "a": {"k": "v"}}', '{1,NULL,3}', '{"x",NULL,"y z"}',
  '{1.5,NULL}', 'happy', '{ok,sad}', '{{1,2},{3,4}}', '12:00:00+05:30', '10.0.0.1',
  '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}'),
 (2, -32768, -2147483648, -9223372036854775808, -0.0, -1e300,
  -0.001, -0.0000000001, -1e-2, -123456789012345678901234567890.123456789, -1234.56,
  '', '', '', '', false,
  '0001-01-01', '00:00:00', '1970-01-01 00:00:00', '1999-12-31 23:59:59.999999-08',
  '-1 days -00:00:00.000001', '00000000-0000-0000-0000-000000000000',
  '[]', '[]', '{}', '{}', '{}', 'sad', '{}', '{7}', '00:00:00-12', '::1', '{}'),
 (3, 0, 0, 0, 0, 0, 0, 0, 0, '-Infinity', 0, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL),
 (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL);
CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz, day date, payload text);
INSERT INTO events (at, day, payload)
  SELECT '2025-11-15 12:00+00'::timestamptz + g * interval '37 minutes',
         CASE WHEN g % 10 = 0 THEN NULL ELSE '2025-11-15'::date + (g / 40) END,
         md5(g::text)
  FROM generate_series(1, 6000) g;
UPDATE events SET at = NULL WHERE id % 97 = 0;
CREATE TABLE empty (x int);
CREATE TABLE pair_a (id int PRIMARY KEY);
CREATE TABLE pair_b (id int PRIMARY KEY);
ANALYZE;
"""

#: Per column: the source expression (psycopg) and the DuckDB expression over the Parquet
#: files whose Python values must be equal, row by row.
COMPARE: list[tuple[str, str]] = [
    ("id", "id"),
    ("i2", "i2"),
    ("i4", "i4"),
    ("i8", "i8"),
    ("f4", "f4"),
    ("f8", "f8"),
    ("n12", "n12"),
    ("n38", "n38"),
    ("nbig::text", "nbig"),
    ("nfree::text", "nfree"),
    ("nnan::text", "nnan"),
    ("t", "t"),
    ("vc", "vc"),
    ("ch", "ch"),
    ("b", "b"),
    ("bo", "bo"),
    ("d", "d"),
    ("tm", "tm"),
    ("ts", "ts"),
    ("tstz", "tstz"),
    (
        "(extract(year from iv) * 12 + extract(month from iv))::int",
        "iv.months",
    ),
    ("extract(day from iv)::int", "iv.days"),
    (
        "((extract(hour from iv) * 3600 + extract(minute from iv) * 60) * 1000000"
        " + extract(microseconds from iv))::bigint",
        "iv.microseconds",
    ),
    ("u", "u"),
    ("j::text", "j"),
    ("jb::text", "jb"),
    ("ai", "ai"),
    ("ta", "ta"),
    ("an::text[]", "an"),
    ("m::text", "m::VARCHAR"),
    ("am::text[]", "am"),
    ("multi::text", "multi"),
    ("tz::text", "tz"),
    ("CASE WHEN ip IS NOT NULL THEN format('%s', ip) END", "ip"),
    ("au", "au"),
]


@pytest.fixture(scope="module")
def src(pg_bindir: Path, pg_base_dir: Path) -> Iterator[Cluster]:
    with Cluster.create(pg_base_dir / "export-src", bindir=pg_bindir, settings=FAST_SETTINGS) as c:
        c.start()
        with c.connect() as conn:
            conn.execute(SCHEMA)
        yield c


@pytest.fixture(scope="module")
def exported(
    src: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ExportTarget, ExportManifest, Path]:
    root = tmp_path_factory.mktemp("exports")
    target = ExportTarget(open_backend(f"file://{root}"), "monthly")
    req = ExportRequest(
        ["postgres"], tables=["typed", "events", "empty"], jobs=2, range_min_blocks=1
    )
    manifest = run_export(target, src.conninfo, SourceInfo(Source("live")), req)
    return target, manifest, root / "monthly" / manifest.export_id


def _duck(sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _norm(v: object) -> object:
    if isinstance(v, Decimal):
        return v.normalize() if v.is_finite() else str(v)
    if isinstance(v, list):
        return [_norm(x) for x in v]
    if isinstance(v, float) and v == 0:
        return 0.0  # -0.0 == 0.0 anyway; keep the repr stable in failure messages
    return v


def test_every_type_reads_back_equal_in_duckdb(
    src: Cluster, exported: tuple[ExportTarget, ExportManifest, Path]
) -> None:
    _target, manifest, root = exported
    source_sql = ", ".join(s for s, _ in COMPARE)
    with src.connect() as conn:
        conn.execute("SET TIME ZONE 'Asia/Kathmandu'")  # +05:45: zones must not matter
        want = conn.execute(f"SELECT {source_sql} FROM typed ORDER BY id").fetchall()
    duck_sql = ", ".join(d for _, d in COMPARE)
    got = _duck(
        f"SELECT {duck_sql} FROM read_parquet('{root}/postgres/public.typed/*.parquet') ORDER BY id"
    )
    assert len(got) == len(want) == 4
    for w, g in zip(want, got, strict=True):
        for (expr, _), wv, gv in zip(COMPARE, w, g, strict=True):
            assert _norm(gv) == _norm(wv), (expr, wv, gv)

    typed = manifest.table("postgres", "public.typed")
    assert typed is not None and typed.rows == 4
    by = {c.name: c for c in typed.columns}
    assert by["n38"].arrow_type == "decimal128(38, 10)" and by["n38"].note is None
    assert "exceeds decimal128" in (by["nbig"].note or "")
    assert "without a precision" in (by["nfree"].note or "")
    assert "NaN or Infinity" in (by["nnan"].note or "") and by["nnan"].arrow_type == "string"
    assert "multidimensional" in (by["multi"].note or "")
    assert by["tstz"].arrow_type == "timestamp[us, tz=UTC]"
    assert by["ts"].arrow_type == "timestamp[us]"
    assert by["m"].arrow_type.startswith("dictionary<values=string")
    assert by["iv"].arrow_type == "struct<months: int32, days: int32, microseconds: int64>"
    assert by["id"].nullable is False and by["i2"].nullable is True
    assert by["tm"].pg_type == "time without time zone" and by["n12"].pg_type == "numeric(12,3)"
    # the enum is a dictionary over the type's labels in their order
    f = root / typed.files[0].path.removeprefix("")
    assert pq.read_schema(f).field("m").type.value_type == "string"
    # an empty table still has a part, so its schema is readable
    empty = manifest.table("postgres", "public.empty")
    assert empty is not None and empty.rows == 0 and len(empty.files) == 1
    assert _duck(f"SELECT count(*) FROM '{root}/postgres/public.empty/*.parquet'") == [(0,)]


def test_manifest_and_success_are_written_last_and_match(
    src: Cluster, exported: tuple[ExportTarget, ExportManifest, Path]
) -> None:
    target, manifest, root = exported
    raw = (root / MANIFEST_NAME).read_bytes()
    assert target.manifest(manifest.export_id) == manifest
    assert target.is_complete(manifest.export_id)
    (sysid,) = src.sql("SELECT system_identifier::text FROM pg_control_system()")[0]
    assert (
        manifest.system_identifier == sysid
        and manifest.pg_version
        and manifest.pg_version >= 130000
    )
    assert manifest.source.kind == "live" and manifest.source.lsn
    # every object is named in the manifest, but for the manifest and _SUCCESS
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    named = {f.path for t in manifest.tables for f in t.files}
    assert on_disk == named | {MANIFEST_NAME, SUCCESS_NAME}
    # _SUCCESS was the last object written
    assert max(on_disk, key=lambda p: (root / p).stat().st_mtime_ns) == SUCCESS_NAME
    assert (root / SUCCESS_NAME).read_text().strip() == __import__("hashlib").sha256(
        raw
    ).hexdigest()
    # owner-only files
    assert all((root / p).stat().st_mode & 0o077 == 0 for p in on_disk)
    events = manifest.table("postgres", "public.events")
    assert events is not None and events.rows == 6000
    assert verify_export(target, manifest.export_id).ok


def test_parts_row_groups_and_month_partitions(src: Cluster, tmp_path: Path) -> None:
    target = ExportTarget(open_backend(f"file://{tmp_path}"))
    req = ExportRequest(
        ["postgres"],
        tables=["public.events"],
        partition_by="at",
        limits=PartLimits(part_bytes=20_000, row_group_rows=1_000),
        range_min_blocks=1,  # two workers read block ranges of the table
    )
    with src.connect() as conn:  # the two workers really split the table
        assert len(table_ranges(conn, TableRef("postgres", "public", "events"), 2, 1)) == 2
    m = run_export(target, src.conninfo, SourceInfo(Source("live")), req)
    (t,) = m.tables
    root = tmp_path / m.export_id
    dirs = sorted({f.path.split("/")[2] for f in t.files})
    assert dirs[0] == "month=2025-11" and dirs[-1] == "month=__HIVE_DEFAULT_PARTITION__"
    assert len(dirs) == 7  # Nov 2025 to Apr 2026, and NULLs
    assert any(f.path.endswith("part-00001.parquet") for f in t.files)  # bounded part size
    assert t.rows == sum(f.rows for f in t.files) == 6000
    got = _duck(
        f'SELECT month, count(*), count("at"), min(id), max(id) FROM read_parquet('
        f"'{root}/postgres/public.events/*/*.parquet', hive_partitioning = true)"
        " GROUP BY month ORDER BY month"
    )
    want = src.sql(
        "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM'),"  # DuckDB reads Hive's NULL as NULL
        " count(*), count(at), min(id), max(id) FROM events GROUP BY 1 ORDER BY 1"
    )
    assert [tuple(r) for r in got] == [tuple(r) for r in want]
    for f in t.files:
        meta = pq.ParquetFile(root / f.path).metadata
        assert meta.num_rows == f.rows
        assert all(meta.row_group(i).num_rows <= 2_000 for i in range(meta.num_row_groups))
        assert meta.row_group(0).column(0).compression == "ZSTD"
    # a date column partitions as well; a text column is refused
    req.partition_by, req.limits = "day", PartLimits()
    m2 = run_export(target, src.conninfo, SourceInfo(Source("live")), req)
    days = {f.path.split("/")[2] for f in m2.tables[0].files}
    assert days == {
        f"month={m}"
        for (m,) in src.sql(
            "SELECT DISTINCT coalesce(to_char(day, 'YYYY-MM'), '__HIVE_DEFAULT_PARTITION__') FROM events"
        )
    }
    from pgdr.errors import UsageError

    req.partition_by = "payload"
    with pytest.raises(UsageError, match=r"payload.*not a date or timestamp"):
        run_export(target, src.conninfo, SourceInfo(Source("live")), req)


def test_live_snapshot_is_shared_while_a_writer_commits(src: Cluster, tmp_path: Path) -> None:
    """A writer commits to both tables in one transaction, over and over; the commits made
    after the snapshot was taken (the export waits for them before any worker reads) are in
    neither table of the export, and every exported id is in both."""
    with src.connect() as conn:
        conn.execute("TRUNCATE pair_a, pair_b")
        conn.execute("INSERT INTO pair_a SELECT g FROM generate_series(1, 20000) g")
        conn.execute("INSERT INTO pair_b SELECT g FROM generate_series(1, 20000) g")
        conn.execute("ANALYZE pair_a, pair_b")
        ranges = table_ranges(conn, TableRef("postgres", "public", "pair_a"), 2, 1)
        assert len(ranges) == 2  # each table is read by two workers in the one snapshot
    stop = threading.Event()
    committed: list[int] = []
    more = threading.Condition()
    failure: list[BaseException] = []

    def writer() -> None:
        try:
            with src.connect(autocommit=False) as conn:
                n = 20000
                while not stop.is_set():
                    n += 1
                    conn.execute("INSERT INTO pair_a VALUES (%s)", (n,))
                    conn.execute("INSERT INTO pair_b VALUES (%s)", (n,))
                    conn.commit()
                    with more:
                        committed.append(n)
                        more.notify_all()
        except BaseException as e:  # reported by the test thread
            failure.append(e)
            with more:
                more.notify_all()

    def after_snapshot(text: str) -> None:
        if "table(s)" not in text:
            return
        with more:
            seen = len(committed)
            assert more.wait_for(lambda: len(committed) >= seen + 20 or failure, timeout=120)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        with more:
            assert more.wait_for(lambda: len(committed) >= 5 or failure, timeout=120)
        target = ExportTarget(open_backend(f"file://{tmp_path}"))
        req = ExportRequest(["postgres"], tables=["pair_*"], jobs=2, range_min_blocks=1)
        m = run_export(target, src.conninfo, SourceInfo(Source("live")), req, say=after_snapshot)
    finally:
        stop.set()
        t.join(60)
    assert not failure, failure
    root = tmp_path / m.export_id / "postgres"
    a = {r[0] for r in _duck(f"SELECT id FROM '{root}/public.pair_a/*.parquet'")}
    b = {r[0] for r in _duck(f"SELECT id FROM '{root}/public.pair_b/*.parquet'")}
    assert a == b
    assert set(range(1, 20001)) <= a
    final = {r[0] for r in src.sql("SELECT id FROM pair_a")}
    assert len(final - a) >= 20  # the commits after the snapshot are in neither table


def _copy(root: Path, tmp: Path, export_id: str) -> tuple[ExportTarget, Path]:
    dst = tmp / "copy"
    shutil.copytree(root, dst / export_id)
    return ExportTarget(open_backend(f"file://{dst}")), dst / export_id


def test_verify_detects_flipped_byte_missing_part_missing_success(
    exported: tuple[ExportTarget, ExportManifest, Path], tmp_path: Path
) -> None:
    _target, m, root = exported
    events = m.table("postgres", "public.events")
    assert events is not None
    part = events.files[0].path

    target, copy = _copy(root, tmp_path / "flip", m.export_id)
    data = bytearray((copy / part).read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / part).write_bytes(bytes(data))
    r = verify_export(target, m.export_id)
    assert r.problems == [f"{part}: SHA-256 differs from the manifest"]

    target, copy = _copy(root, tmp_path / "missing", m.export_id)
    (copy / part).unlink()
    assert verify_export(target, m.export_id).problems == [f"{part}: missing"]

    target, copy = _copy(root, tmp_path / "nosuccess", m.export_id)
    (copy / SUCCESS_NAME).unlink()
    r = verify_export(target, m.export_id)
    assert r.problems == ["_SUCCESS missing: the export is incomplete"]
    assert not target.is_complete(m.export_id)
    assert [(e.export_id, e.complete) for e in target.exports()] == [(m.export_id, False)]

    target, copy = _copy(root, tmp_path / "nomanifest", m.export_id)
    (copy / MANIFEST_NAME).unlink()
    with pytest.raises(ExportNotFound):
        verify_export(target, m.export_id)


def test_s3_target_with_storage_class_and_sse_kms(
    src: Cluster, moto_endpoint: str, kms_key_id: str, tmp_path: Path
) -> None:
    bucket = make_bucket(moto_endpoint)
    settings = ExportSettings(
        url=f"s3://{bucket}/exports",
        prefix="monthly",
        storage_class="STANDARD_IA",
        sse_kms_key_id=kms_key_id,
        s3=S3Settings(endpoint=moto_endpoint, region=REGION, path_style=True),
    )
    target = open_target(settings)
    try:
        req = ExportRequest(["postgres"], tables=["events"])
        m = run_export(target, src.conninfo, SourceInfo(Source("live")), req)
        s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
        (f,) = m.tables[0].files
        head = s3.head_object(Bucket=bucket, Key=f"exports/monthly/{m.export_id}/{f.path}")
        assert head["StorageClass"] == "STANDARD_IA"
        assert head["ServerSideEncryption"] == "aws:kms"
        assert kms_key_id in head["SSEKMSKeyId"]
        success = s3.head_object(Bucket=bucket, Key=f"exports/monthly/{m.export_id}/_SUCCESS")
        assert success["StorageClass"] == "STANDARD_IA"
        assert head["ContentLength"] == f.bytes
        assert [(e.export_id, e.complete) for e in target.exports()] == [(m.export_id, True)]
        assert verify_export(target, m.export_id).ok
        # DuckDB reads the same bytes (downloaded: DuckDB's httpfs is not part of the test)
        local = tmp_path / "part.parquet"
        s3.download_file(bucket, f"exports/monthly/{m.export_id}/{f.path}", str(local))
        assert _duck(f"SELECT count(*) FROM '{local}'") == [(6000,)]
    finally:
        target.close()
