"""Benchmark: `pgdr export` against the floor and against what users do today (issue 16).

On the demo's reference tables and on pgbench with random filler, in the same run on the same
server, it prints wall time and bytes of:
- the floor: ``COPY <table> TO STDOUT (FORMAT binary)`` of every table (psycopg, bytes counted,
  nothing kept);
- pgdr's export (``run_export`` from the live server, one snapshot, ``--jobs``), Parquet zstd;
- ``pg_dump -Fc`` of the same tables (to a file);
and the ratios export/floor (time) and export/pg_dump (bytes). Goals (issue 16): time <= 1.5x
the floor; bytes <= 0.7x pg_dump on the demo data and <= 1.0x on random filler.

The floor and the export each run ``--repeat`` times (default 3) and the fastest run counts —
the same rule for both, so a burst of load from other work on a shared machine skews neither
(the first export run also pays the one-time import of the ADBC driver). The load average is
printed with every comparison.

It also prints the reader measurement behind the choice of ADBC (docs/design.md §8j): the
same table read into Arrow by the ADBC PostgreSQL driver, against psycopg's COPY BINARY
parsed into Python rows. Not a test: numbers only.

    .venv/bin/python bench/export.py [--demo-scale 1.0] [--pgbench-scale 50] [--jobs 2]
        [--level 3] [--repeat 3]
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pgdr.demo import reference_db
from pgdr.export.manifest import Source
from pgdr.export.run import ExportRequest, SourceInfo, run_export
from pgdr.export.target import ExportTarget
from pgdr.export.writer import PartLimits
from pgdr.pg.cluster import Cluster
from pgdr.storage import open_backend

MiB = 1 << 20


def cpu_seconds() -> float:
    """CPU time of this process and of its waited-for children (pg_dump)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Wall seconds, client CPU seconds (the server's are not counted) and the result."""
    t, c = time.perf_counter(), cpu_seconds()
    out = fn()
    return time.perf_counter() - t, cpu_seconds() - c, out


def fastest(fn: Callable[[int], object], repeat: int) -> tuple[float, float, object]:
    """The fastest of ``repeat`` runs of ``fn(run number)``."""
    runs = [timed(functools.partial(fn, i)) for i in range(repeat)]
    return min(runs, key=lambda r: r[0])


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def copy_floor(cluster: Cluster, tables: list[str]) -> int:
    total = 0
    with cluster.connect() as conn:
        for t in tables:
            with conn.cursor().copy(f"COPY {t} TO STDOUT (FORMAT binary)") as cp:
                for chunk in cp:
                    total += len(chunk)
    return total


def pg_dump_bytes(cluster: Cluster, tables: list[str], out: Path) -> int:
    args = ["-Fc", "-f", str(out)]
    for t in tables:
        args += ["-t", t]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.parent.chmod(0o777)  # pg_dump runs as the server's OS user
    cluster.run_tool("pg_dump", *args, "postgres")
    return out.stat().st_size


def export_bytes(cluster: Cluster, tables: list[str], root: Path, jobs: int, level: int) -> int:
    target = ExportTarget(open_backend(f"file://{root}"))
    req = ExportRequest(["postgres"], tables=tables, jobs=jobs, limits=PartLimits(zstd_level=level))
    m = run_export(target, cluster.conninfo, SourceInfo(Source("live")), req)
    return m.total_bytes


def compare(
    name: str, cluster: Cluster, tables: list[str], work: Path, jobs: int, level: int, repeat: int
) -> None:
    before = load()
    copy_floor(cluster, tables)  # warm the cache once for all three
    t_copy, c_copy, copy_b = fastest(lambda _i: copy_floor(cluster, tables), repeat)
    t_exp, c_exp, exp_b = fastest(
        lambda i: export_bytes(cluster, tables, work / f"exp-{name}-{i}", jobs, level), repeat
    )
    t_dump, c_dump, dump_b = timed(
        lambda: pg_dump_bytes(cluster, tables, work / f"dump-{name}" / "d")
    )
    assert isinstance(copy_b, int) and isinstance(exp_b, int) and isinstance(dump_b, int)
    print(f"\n== {name}: {', '.join(tables)}")
    print(f"fastest of {repeat} (floor, export); {before} before, {load()} after")
    print(f"{'':28}{'seconds':>10}{'client CPU s':>14}{'MiB':>10}")
    print(f"{'COPY binary (floor)':28}{t_copy:10.2f}{c_copy:14.2f}{copy_b / MiB:10.1f}")
    label = f"pgdr export (jobs {jobs}, zstd {level})"
    print(f"{label:28}{t_exp:10.2f}{c_exp:14.2f}{exp_b / MiB:10.1f}")
    print(f"{'pg_dump -Fc':28}{t_dump:10.2f}{c_dump:14.2f}{dump_b / MiB:10.1f}")
    print(
        f"export / COPY floor time: {t_exp / t_copy:.2f}x   "
        f"export / pg_dump time: {t_exp / t_dump:.2f}x   "
        f"export / pg_dump bytes: {exp_b / dump_b:.3f}x"
    )


def readers(cluster: Cluster, table: str) -> None:
    import adbc_driver_postgresql.dbapi as adbc

    def with_adbc() -> int:
        with adbc.connect(cluster.conninfo()) as conn, conn.cursor() as cur:
            cur.execute(f"SELECT * FROM {table}")
            return int(cur.fetch_arrow_table().num_rows)

    def with_psycopg() -> int:
        n = 0
        with cluster.connect() as conn:
            types = [
                r[0]
                for r in conn.execute(
                    "SELECT format_type(atttypid, NULL) FROM pg_attribute "
                    "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
                    "ORDER BY attnum",
                    (table,),
                ).fetchall()
            ]
            with conn.cursor().copy(f"COPY {table} TO STDOUT (FORMAT binary)") as cp:
                cp.set_types(types)
                for _row in cp.rows():
                    n += 1
        return n

    t_a, _c, rows = timed(with_adbc)
    t_p, _c, _ = timed(with_psycopg)
    print(f"\n== readers on {table} ({rows:,} rows)")
    print(
        f"ADBC -> Arrow table: {t_a:.2f} s; psycopg COPY BINARY -> rows: {t_p:.2f} s "
        f"({t_p / t_a:.1f}x ADBC)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo-scale", type=float, default=1.0)
    ap.add_argument("--pgbench-scale", type=int, default=50, help="0: demo data only")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--level", type=int, default=3, help="zstd level of the export")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the floor and the export")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pgdr-bench-export-", dir="/var/tmp"))
    work.chmod(0o755)
    cluster = Cluster.create(work / "pg", settings={"fsync": "off", "max_wal_size": "4GB"})
    try:
        cluster.start()
        with cluster.connect() as conn:
            reference_db.load(conn, scale=args.demo_scale)
        if args.pgbench_scale:
            cluster.run_tool("pgbench", "-i", "-q", "-s", str(args.pgbench_scale), "postgres")
            cluster.sql(
                "CREATE TABLE accounts_random AS SELECT aid, bid, abalance, "
                "substr(md5(random()::text) || md5(random()::text) || md5(random()::text), 1, 84)"
                "::char(84) AS filler FROM pgbench_accounts"
            )
        cluster.sql("VACUUM ANALYZE")
        demo = ["public.users", "public.recalls", "public.subscriptions", "public.family_members"]
        compare("demo data", cluster, demo, work, args.jobs, args.level, args.repeat)
        if args.pgbench_scale:
            filler = ["public.accounts_random"]
            compare(
                "pgbench, random filler", cluster, filler, work, args.jobs, args.level, args.repeat
            )
        readers(cluster, "public.recalls")
    finally:
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
