"""Physical integrity with PostgreSQL's own tools as independent oracles: pg_amcheck on the
running sandbox (heap and btree, every index entry matched against the heap), then
pg_checksums on the stopped sandbox (every page's checksum)."""

from __future__ import annotations

from pathlib import Path

from pgdr.drill.verdicts import CheckResult, judge_amcheck, judge_checksums
from pgdr.pg.binaries import server_env, tool
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import run_as


def amcheck(cluster: Cluster, jobs: int) -> CheckResult:
    dbs = cluster.sql("SELECT count(*) FROM pg_database WHERE datallowconn")[0][0]
    r = cluster.run_tool(
        "pg_amcheck",
        "--all",
        "--install-missing",
        "--heapallindexed",
        "--jobs",
        str(jobs),
        check=False,
    )
    return judge_amcheck(r.returncode, (r.stdout or "") + (r.stderr or ""), int(dbs))


def checksums_enabled(cluster: Cluster) -> bool:
    return bool(cluster.sql("SELECT current_setting('data_checksums') = 'on'")[0][0])


def checksums(cluster: Cluster, enabled: bool) -> CheckResult:
    """Run on the stopped cluster (pg_checksums refuses a running one)."""
    if not enabled:
        return judge_checksums(False, None, "")
    cmd: list[str | Path] = [
        tool(cluster.bindir, "pg_checksums"),
        "--check",
        "-D",
        str(cluster.data_dir),
    ]
    r = run_as(
        cmd, runas=cluster.runas, env=server_env(), capture_output=True, text=True, timeout=3600
    )
    return judge_checksums(True, r.returncode, r.stdout + r.stderr)
