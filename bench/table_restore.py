"""Benchmark (issue 18): `pgdr restore table` against the peers' way — a whole-cluster
restore, started until promoted, then `pg_dump -t` of the table into a scratch database —
for pgbench's largest table (pgbench_accounts) and a small one (pgbench_branches), on the
same cluster and repository in the same run. Both sides include removing what they restored. Prints seconds and the ratios peer / pgdr
(above 1: pgdr is faster). Not a test: numbers only, whatever they show; on a shared machine
only ratios measured in the same run mean anything.

The sandbox of `restore table` fetches only the table's database (other databases are left
as sparse zeros, as `restore --database` does); pgbench has one database, so here the ratio
shows only what streaming one table with COPY, in one step, costs against dump + restore.

    .venv/bin/python bench/table_restore.py [--scale 20] [--pgbench-seconds 10]

Runs as root (the clusters as the postgres OS user), like the tests; needs PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import chown_tree, free_port, make_interpreter_reachable, resolve_runas

DB = "bench"
TABLES = ("pgbench_accounts", "pgbench_branches")


def pgdr(cfg: Path, *args: str) -> tuple[float, str]:
    """Wall seconds of one pgdr command (as an operator runs it: a new process), stdout."""
    t = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-m", "pgdr", "--config", str(cfg), *args],
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - t
    if r.returncode != 0:
        raise SystemExit(f"pgdr {shlex.join(args)} failed: {r.stderr.strip()[-500:]}")
    return wall, r.stdout


def setup(work: Path, scale: int) -> tuple[Cluster, Path]:
    make_interpreter_reachable()
    root = work / "repo-root"
    root.mkdir()
    root.chmod(0o755)
    # As the README sets pgdr up: a passphrase from a file, at the default KDF cost.
    secret = root / "pgdr.passphrase"
    secret.write_text("bench table restore passphrase\n")
    secret.chmod(0o600)
    url = f"file://{root}/repo"
    cfg = root / "pgdr.toml"
    chown_tree(root, resolve_runas())
    push = f"{shlex.quote(sys.executable)} -m pgdr --config {shlex.quote(str(cfg))} wal-push %p"
    src = Cluster.create(
        work / "source",
        settings={
            "archive_mode": "on",
            "archive_command": push,
            "archive_timeout": 0,
            "wal_level": "replica",
            "fsync": False,
            "synchronous_commit": False,
            "shared_buffers": "128MB",
        },
    )
    src.start()
    cfg.write_text(
        f'[repositories.main]\nurl = "{url}"\npassphrase = "file:{secret}"\n'
        f'\n[postgres]\nhost = "{src.socket_dir}"\nport = {src.port}\nuser = "postgres"\n'
        f'\n[drill]\nstate_dir = "{work / "state"}"\nsandbox_dir = "{work / "sandboxes"}"\n'
    )
    pgdr(cfg, "repo", "init")
    chown_tree(root, resolve_runas())
    src.sql(f"CREATE DATABASE {DB}")
    src.run_tool("pgbench", "-i", "-q", "-s", str(scale), DB)
    src.sql("VACUUM (FREEZE, ANALYZE)", dbname=DB)
    src.sql("CHECKPOINT")
    return src, cfg


def switch_and_wait(src: Cluster, timeout: float = 600) -> None:
    src.sql("SELECT txid_current()")
    (name,) = src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (last,) = src.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")[0]
        if last >= name:
            return
        time.sleep(0.2)
    raise SystemExit(f"{name} was not archived within {timeout} s")


def peers_way(src: Cluster, cfg: Path, work: Path, when: str) -> tuple[float, dict[str, float]]:
    """Whole-cluster restore, started by `pg_ctl` until promoted, plus removing it (seconds),
    and per table: pg_dump -t of it from the restored cluster, pg_restore into a scratch
    database on production (seconds)."""
    dest, port = work / "whole", free_port()
    restore_s, _ = pgdr(cfg, "restore", "--data-dir", str(dest), "--time", when)
    whole = Cluster.attach(dest, port=port)
    whole.owned.append(dest)
    t = time.monotonic()
    whole.start(timeout=600)  # pg_ctl -w start, as the operator would
    while whole.sql("SELECT pg_is_in_recovery()")[0][0]:
        time.sleep(0.02)
    restore_s += time.monotonic() - t
    dumps: dict[str, float] = {}
    dump_dir = work / "dumps"  # written by pg_dump as the server's OS user
    dump_dir.mkdir()
    chown_tree(dump_dir, resolve_runas())
    try:
        for i, table in enumerate(TABLES):
            scratch = f"peer_scratch_{i}"
            src.sql(f"CREATE DATABASE {scratch}")
            dump = dump_dir / f"{table}.dump"
            t = time.monotonic()
            whole.run_tool("pg_dump", "-Fc", "-t", f"public.{table}", "-f", str(dump), DB)
            src.run_tool("pg_restore", "--no-owner", "-d", scratch, str(dump))
            dumps[table] = time.monotonic() - t
            dump.unlink()
    finally:
        t = time.monotonic()
        whole.destroy()  # the operator removes the restored copy too (pgdr's run includes it)
        restore_s += time.monotonic() - t
    return restore_s, dumps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=int, default=20, help="pgbench scale (default 20)")
    ap.add_argument("--pgbench-seconds", type=int, default=10)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="pgdr-bench-table-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        src, cfg = setup(work, opts.scale)
        try:
            pgdr(cfg, "backup", "--type", "full")
            src.run_tool("pgbench", "-n", "-c", "2", "-T", str(opts.pgbench_seconds), DB)
            (when,) = src.sql("SELECT clock_timestamp()")[0]
            switch_and_wait(src)
            at = when.isoformat()
            ours: dict[str, float] = {}
            for table in TABLES:
                secs, out = pgdr(cfg, "--json", "restore", "table", "--table", f"public.{table}",
                                 "--database", DB, "--time", at, "--as", f"{table}_back")  # fmt: skip
                doc = json.loads(out)
                ours[table] = secs
                print(f"pgdr restore table {table}: {secs:.1f} s ({doc['copies'][0]['rows']} rows; "
                      f"steps {doc['steps']})", flush=True)  # fmt: skip
            restore_s, dumps = peers_way(src, cfg, work, at)
            print(f"whole-cluster restore until promoted, and its removal: {restore_s:.1f} s")
            print(f"\n{'table':<20} {'pgdr s':>8} {'peers s':>8} {'peers/pgdr':>11}")
            for table in TABLES:
                peer = restore_s + dumps[table]
                print(f"{table:<20} {ours[table]:8.1f} {peer:8.1f} {peer / ours[table]:10.2f}×")
        finally:
            src.destroy()


if __name__ == "__main__":
    main()
