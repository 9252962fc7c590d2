"""`pgdr demo` — the whole story on embedded defaults, in about a minute on 2 cores.

A throw-away PostgreSQL with the safety app's database, an encrypted file:// repository,
archiving set up by `pgdr setup`, a base backup, ongoing writes, an accidental
``DELETE FROM recalls``, a point-in-time restore to the second before it into a new data
directory — started, and checked row by row —, the same rows brought back into production
in place by ``restore table --missing-rows``, an export of its tables as Parquet, queried
with DuckDB — and finally the weekly restore drill, with
its step timings (the measured RTO) and every check. Everything runs for real; nothing is simulated.
"""

from __future__ import annotations

import shlex
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pgdr.backup.run import take_backup
from pgdr.demo import reference_db
from pgdr.drill.engine import DrillEnv, DrillRequest, run_drill
from pgdr.drill.record import DrillRecord
from pgdr.drill.settings import AssertionSpec, DatabaseChecks, DrillSettings, QuerySpec
from pgdr.humanize import human
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import chown_tree, free_port, make_interpreter_reachable, resolve_runas
from pgdr.repo.keys import KeyFile, generate_key_file
from pgdr.repo.repository import Repository
from pgdr.repo.verify import verify
from pgdr.restore.commands import default_restore_command
from pgdr.restore.plan import Target
from pgdr.restore.run import restore
from pgdr.storage import open_backend
from pgdr.wal.setup import check, setup


def run_demo(workdir: Path | None = None) -> None:
    console = Console(soft_wrap=True)
    keep = workdir is not None
    base = (workdir or Path(tempfile.mkdtemp(prefix="pgdr-demo-", dir="/var/tmp"))).absolute()
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)
    t_start = time.monotonic()
    clusters: list[Cluster] = []
    step = 0

    def say(text: str) -> None:
        nonlocal step
        step += 1
        console.print(f"\n[bold cyan]{step}.[/] {text}")

    try:
        make_interpreter_reachable()
        say("A production-like PostgreSQL 15 with the safety app's database")
        prod = Cluster.create(
            base / "prod", settings={"fsync": "off", "max_wal_size": "2GB", "wal_level": "replica"}
        )
        clusters.append(prod)
        prod.start()
        t = time.monotonic()
        with prod.connect() as conn:
            reference_db.load(conn)
            summary = reference_db.summary(conn)
        rows = summary["rows"]
        console.print(
            f"   loaded in {time.monotonic() - t:.1f} s: "
            + ", ".join(f"{k} {v:,}" for k, v in rows.items())
            + f"; {summary['indexes']} indexes, {summary['foreign_keys']} foreign keys"
        )

        say("An encrypted repository and archiving (pgdr setup --apply, then pgdr check)")
        key = base / "repo.key"
        generate_key_file(key)
        url = f"file://{base}/repo"
        repo = Repository.init(open_backend(url), KeyFile(key))
        cfg = base / "pgdr.toml"
        cfg.write_text(
            f'[repositories.main]\nurl = "{url}"\nkey_file = "{key}"\n\n'
            f'[postgres]\nhost = "{prod.socket_dir}"\nport = {prod.port}\nuser = "postgres"\n'
        )
        chown_tree(base / "repo", resolve_runas())
        chown_tree(key, resolve_runas())
        chown_tree(cfg, resolve_runas())
        command = " ".join(
            shlex.quote(p) for p in [sys.executable, "-m", "pgdr", "--config", str(cfg)]
        )
        res = setup(prod.conninfo(), f"{command} wal-push %p", 60, apply=True)
        if res.restart_needed:
            prod.restart()
        console.print(f"   archive_command = {command} wal-push %p")
        checked = check(prod.conninfo(), repo, timeout=60)
        console.print(
            f"   pgdr check: {'all critical checks pass' if checked.ok else 'FAILED'}; "
            f"a switched WAL segment reached the repository in {checked.archive_seconds or 0:.2f} s"
        )
        if not checked.ok:
            raise SystemExit("demo failed: archiving does not work")

        say("A base backup")
        b = take_backup(repo, prod.conninfo(), label="demo nightly", annotations={"app": "safety"})
        console.print(
            f"   {b.backup_id}: {b.files} files, {human(b.bytes)} read, {human(b.stored_bytes)} stored "
            f"(compressed, encrypted) in {b.seconds:.1f} s; WAL {b.start_lsn} .. {b.stop_lsn}"
        )

        say("Life goes on: new recalls are published")
        with prod.connect() as conn:
            conn.execute(
                "INSERT INTO recalls SELECT id + 1000000, recall_number || '-N', product_name, brand, "
                "category, hazard, description, remedy, severity, country, units_affected, source, "
                "current_date, now(), now(), created_by FROM recalls WHERE id <= 50"
            )
        time.sleep(1.2)
        before = datetime.now(UTC).replace(microsecond=0)
        time.sleep(1.2)

        say("The accident")
        with prod.connect() as conn:
            deleted = reference_db.accidental_delete(conn)
            conn.execute(
                "INSERT INTO recalls SELECT id + 2000000, recall_number || '-X', product_name, brand, "
                "category, hazard, description, remedy, severity, country, units_affected, source, "
                "current_date, now(), now(), created_by FROM recalls WHERE id <= 10"
            )
            (seg,) = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()  # type: ignore[misc]
        console.print(
            f"   [red]DELETE FROM recalls WHERE category = 'cribs'[/] — {deleted:,} rows gone at "
            f"{datetime.now(UTC):%H:%M:%S} UTC (and 10 more writes after it)"
        )
        _wait_archived(repo, str(seg))

        say(
            f"Point-in-time restore to {before:%H:%M:%S} UTC, the second before, into a new directory"
        )
        dest = base / "restored"
        port = free_port()
        result = restore(
            repo,
            dest,
            target=Target("time", before.isoformat()),
            restore_command=default_restore_command(cfg, None),
            start_port=port,
            archive=False,  # beside production: its timeline stays out of the repository
        )
        restored = Cluster.attach(dest, port=port)
        clusters.append(restored)
        table = Table("phase", "seconds")
        for phase, secs in result.phases.items():
            table.add_row(phase, f"{secs:.2f}")
        console.print(table)

        say("Proof")
        check_sql = (
            "SELECT count(*) FILTER (WHERE category = 'cribs'), count(*) FILTER (WHERE id > 1000000 "
            "AND id < 2000000), count(*) FILTER (WHERE id > 2000000), count(*) FROM recalls"
        )
        p = prod.sql(check_sql)[0]
        r = restored.sql(check_sql)[0]
        t2 = Table("recalls", "production now", "restored")
        for label, a, c in zip(
            ("crib recalls", "published before the accident", "written after the accident", "all"),
            p,
            r,
            strict=True,
        ):
            t2.add_row(label, f"{a:,}", f"{c:,}")
        console.print(t2)
        ok = r[0] == deleted and r[1] == 50 and r[2] == 0
        console.print(
            "   [bold green]the deleted rows are back; nothing after the target leaked in[/]"
            if ok
            else "   [bold red]restored data is not what it should be[/]"
        )
        say(
            "The same accident answered in place, without a whole-cluster restore: "
            f"pgdr restore table --table public.recalls --time {before:%H:%M:%S} --missing-rows"
        )
        in_place = _missing_rows(repo, base, prod, before, deleted, console)
        report = verify(repo, read_data=True)
        console.print(
            f"   pgdr repo verify --read-data: {'no problems' if report.ok else 'PROBLEMS'} "
            f"({sum(report.checked.values())} objects)"
        )
        say("A long-term export: the restored tables as Parquet with a manifest, read by DuckDB")
        exported = _export(base, restored, b.backup_id, before, console)
        say("The weekly restore drill: latest backup + WAL into a sandbox, checked, timed, removed")
        drill = _drill(repo, base, cfg, prod)
        drill.render_text(console)
        if keep:
            from pgdr.drill.report import write_report

            write_report(drill, base / "drill.html")
            console.print(f"   report: {base / 'drill.html'}")
        console.print(
            f"\n[bold]Demo finished in {time.monotonic() - t_start:.0f} s.[/] "
            + (f"Everything is in {base}" if keep else "Cleaning up.")
        )
        if not ok or not in_place or not report.ok or not exported or drill.result != "passed":
            raise SystemExit(1)
    finally:
        for c in reversed(clusters):
            if keep:
                c.stop("fast")
            else:
                c.destroy()
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


def _drill(repo: Repository, base: Path, cfg: Path, prod: Cluster) -> DrillRecord:
    """The drill the reference deployment runs every Sunday, with its checks configured."""
    app = DatabaseChecks(
        recency=["recalls.updated_at"],
        min_rows={"recalls": 400_000, "users": 10_000},
        queries=[
            QuerySpec(
                name="severe stroller recalls",
                sql="SELECT count(*) FROM recalls WHERE category = 'strollers' AND severity >= 3",
                runs=5,
                # a small sandbox next to production on a shared machine: catch regressions
                # (a lost index, bloat), not noise
                tolerance_pct=50,
            )
        ],
        assertions=[
            AssertionSpec(
                name="every subscription has its user",
                sql="SELECT count(*) FROM subscriptions s LEFT JOIN users u ON u.id = s.user_id WHERE u.id IS NULL",
                max=0,
            )
        ],
    )
    settings = DrillSettings(
        sandbox_dir=base, state_dir=base / "drill-state", databases={"postgres": app}
    )
    env = DrillEnv(
        production=prod.conninfo,
    )
    return run_drill(repo, settings, DrillRequest(), env)


def _missing_rows(
    repo: Repository, base: Path, prod: Cluster, before: datetime, deleted: int, console: Console
) -> bool:
    """``restore table --missing-rows`` in process: the rows of recalls at ``before`` that
    production no longer has come back, by primary key; the later writes stay."""
    from pgdr.surgical.names import TableName
    from pgdr.surgical.run import SurgicalEnv, TableRestoreRequest, restore_table

    counts = (
        "SELECT count(*) FILTER (WHERE category = 'cribs'), "
        "count(*) FILTER (WHERE id > 2000000), count(*) FROM recalls"
    )
    was = prod.sql(counts)[0]
    req = TableRestoreRequest(
        (TableName("public", "recalls"),), "postgres", Target("time", before.isoformat())
    )
    env = SurgicalEnv(production=prod.conninfo, state_dir=base / "drill-state", sandbox_dir=base)
    result = restore_table(repo, req, env)
    now = prod.sql(counts)[0]
    table = Table("recalls in production", "before", "after")
    for label, a, c in zip(
        ("crib recalls", "written after the accident", "all"), was, now, strict=True
    ):
        table.add_row(label, f"{a:,}", f"{c:,}")
    console.print(table)
    (m,) = result.missing  # --missing-rows of one table
    console.print(
        f"   {m.rows_at_target:,} rows at the target; {m.inserted:,} missing rows inserted by "
        f"primary key in one transaction; sandbox {'removed' if result.sandbox.get('removed') else 'NOT removed'}; "
        + ", ".join(f"{k} {v:.1f} s" for k, v in result.steps.items())
    )
    ok = (
        m.inserted == deleted
        and now[0] == deleted  # every crib recall is back
        and now[1] == was[1]  # the writes after the accident stayed
        and now[2] == was[2] + deleted  # and nothing else came in
    )
    console.print(
        "   [bold green]the deleted rows are back in production; the later writes stayed[/]"
        if ok
        else "   [bold red]the table restore did not bring back exactly the deleted rows[/]"
    )
    return ok


def _export(base: Path, restored: Cluster, backup_id: str, at: datetime, console: Console) -> bool:
    """Export the reference tables from the restored cluster (never production) once, show
    the manifest's summary, verify it, and query the Parquet files with DuckDB."""
    import duckdb

    from pgdr.export.manifest import Source
    from pgdr.export.results import ExportSummary
    from pgdr.export.run import ExportRequest, SourceInfo, run_export
    from pgdr.export.target import ExportTarget
    from pgdr.export.verify import verify_export

    target = ExportTarget(open_backend(f"file://{base}/exports"))
    t = time.monotonic()
    # the restored copy's last replayed LSN: where this export's data stands in the WAL
    (lsn,) = restored.sql("SELECT pg_last_wal_replay_lsn()::text")[0]
    source = SourceInfo(
        Source("backup", backup_id=backup_id, lsn=lsn, target_time=at), snapshot_time=at
    )
    manifest = run_export(target, restored.conninfo, source, ExportRequest(["postgres"]))
    seconds = time.monotonic() - t
    ExportSummary(manifest, target.is_complete(manifest.export_id), target.url).render_text(console)
    checked = verify_export(target, manifest.export_id)
    console.print(
        f"   exported in {seconds:.1f} s; pgdr export verify: "
        + ("every file matches the manifest" if checked.ok else f"PROBLEMS {checked.problems}")
    )
    files = f"{base}/exports/{manifest.export_id}/postgres/public.recalls/*.parquet"
    sql = (
        "SELECT category, count(*) AS recalls, sum(units_affected) AS units "
        f"FROM read_parquet('{files}') GROUP BY category ORDER BY recalls DESC LIMIT 5"
    )
    console.print(f"   duckdb> {sql.replace(files, '.../public.recalls/*.parquet')}")
    table = Table("category", "recalls", "units affected")
    with duckdb.connect() as con:
        rows = con.execute(sql).fetchall()
    for category, n, units in rows:
        table.add_row(str(category), f"{n:,}", f"{int(units or 0):,}")
    console.print(table)
    return checked.ok


def _wait_archived(repo: Repository, segment: str, timeout: float = 60) -> None:
    from pgdr.catalog.wal import wal_key

    deadline = time.monotonic() + timeout
    while repo.backend.stat(wal_key(segment)) is None:
        if time.monotonic() > deadline:
            raise SystemExit(f"demo failed: {segment} was not archived")
        time.sleep(0.1)
