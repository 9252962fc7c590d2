"""Benchmark: `pgdr export restore` (one table loaded back from its Parquet export) against the
floor, a binary COPY of the same table out of PostgreSQL and into a new table, on a
recalls-like table of the reference deployment (460k rows by default). Not a test: prints
wall seconds and the ratio.

    PYTHONPATH=. .venv/bin/python bench/export_restore.py [--rows 460000]
"""

from __future__ import annotations

import argparse
import io
import shutil
import tempfile
import time
from pathlib import Path

from pgdr.export.load import RestoreRequest, restore_table
from pgdr.export.manifest import Source
from pgdr.export.run import ExportRequest, SourceInfo, run_export
from pgdr.export.settings import ExportSettings
from pgdr.export.target import ExportTarget
from pgdr.pg.binaries import find_bindir
from pgdr.pg.cluster import Cluster
from pgdr.storage import open_backend

FAST = {"fsync": False, "synchronous_commit": False, "shared_buffers": "64MB"}
TABLE = """
CREATE TABLE recalls (id bigint PRIMARY KEY, title text, hazard text, product text,
  recalled_at timestamptz, units integer, price numeric(10,2), tags text[]);
INSERT INTO recalls SELECT g, 'Recall of product ' || g, md5(g::text), 'Crib model ' || (g % 1000),
  now() - g * interval '1 minute', g % 5000, (g % 10000) / 100.0, ARRAY['a', 'b']
  FROM generate_series(1, %s) g;
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=460_000)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="pgdr-bench-restore-"))
    base.chmod(0o755)
    try:
        with Cluster.create(base / "pg", bindir=find_bindir(None), settings=FAST) as c:
            c.start()
            with c.connect() as conn:
                conn.execute(TABLE.replace("%s", str(args.rows)))
            root = base / "exports"
            root.mkdir()
            target = ExportTarget(open_backend(f"file://{root}"), "")
            m = run_export(
                target,
                c.conninfo,
                SourceInfo(Source(kind="live")),
                ExportRequest(databases=["postgres"], tables=["public.recalls"]),
            )
            t0 = time.monotonic()
            restore_table(
                target,
                ExportSettings(url=f"file://{root}"),
                RestoreRequest(m.export_id, "recalls", c.conninfo(), "postgres", as_name="back"),
            )
            restore_s = time.monotonic() - t0
            with c.connect() as conn:
                t0 = time.monotonic()
                conn.execute("CREATE TABLE floor AS SELECT * FROM recalls WITH NO DATA")
                buf = io.BytesIO()
                with conn.cursor().copy("COPY recalls TO STDOUT (FORMAT binary)") as out:
                    for chunk in out:
                        buf.write(chunk)
                with conn.cursor().copy("COPY floor FROM STDIN (FORMAT binary)") as into:
                    into.write(buf.getvalue())
                floor_s = time.monotonic() - t0
        print(
            f"{args.rows} rows: export restore {restore_s:.1f}s, binary COPY out+in "
            f"{floor_s:.1f}s, ratio {restore_s / floor_s:.2f}x"
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
