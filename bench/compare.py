"""Benchmark: pgdr vs pgBackRest vs pg_basebackup on the same cluster, in the same run.

Measures full backup (wall and CPU seconds), incremental after a pgbench run, stored bytes,
restore until the server accepts connections, and how fast a backlog of WAL segments drains
through archive_command (ms per segment; pgdr sync and async, pgBackRest sync and async).
Prints pgdr/peer ratios. Not a test: numbers only, whatever they show.

    .venv/bin/python bench/compare.py [--scale 50] [--text] [--pgbench-seconds 60] [--segments 24]
    .venv/bin/python bench/compare.py --only wal --scale 1 [--segments 24] [--repeat 2]
        (synchronous wal-push only: in-process, through the resident pusher, pgBackRest)

Needs the Debian packages postgresql and pgbackrest (`apt-get install pgbackrest`).
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import chown_tree, free_port, resolve_runas
from pgdr.repo.keys import KeyFile, generate_key_file
from pgdr.repo.repository import Repository
from pgdr.storage import open_backend
from pgdr.wal.spool import async_archive_command

MiB = 1 << 20


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def timed(
    cmd: list[str],
    *,
    as_postgres: bool = False,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[float, float]:
    """Wall and CPU seconds (user+sys of the command and its children)."""
    runas = resolve_runas()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    kwargs: dict = {}
    if as_postgres and runas.switches:
        kwargs = {"user": runas.uid, "group": runas.gid, "extra_groups": []}
    r = subprocess.run(
        cmd, env={**os.environ, **(env or {})}, cwd=cwd, capture_output=True, text=True, **kwargs
    )
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"{shlex.join(cmd)} failed: {r.stderr.strip()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if os.environ.get("BENCH_SHOW"):
        print(f"# {shlex.join(cmd)[:120]}\n{r.stdout[-2000:]}{r.stderr[-1000:]}", flush=True)
    return wall, cpu


class Bench:
    def __init__(self, work: Path, scale: int, text: bool) -> None:
        self.work = work
        self.pgdr = [sys.executable, "-m", "pgdr"]
        self.src = Cluster.create(
            work / "src",
            settings={
                "max_wal_size": "4GB",
                "checkpoint_timeout": "30min",
                "wal_level": "replica",
                "archive_mode": "on",
                "archive_command": "true",
                "archive_timeout": 0,
            },
        )
        self.src.start()
        self.src.run_tool("pgbench", "-i", "-q", "-s", str(scale), "postgres")
        if text:
            self.src.sql(
                "UPDATE pgbench_accounts SET filler = substr(md5(random()::text) || ' ' || "
                "md5(random()::text) || ' ' || md5(random()::text), 1, 84)"
            )
            self.src.sql("VACUUM FULL pgbench_accounts")
        self.src.sql("CHECKPOINT")
        runas = resolve_runas()
        # pgdr repository + config
        key = work / "pgdr.key"
        generate_key_file(key)
        self.pgdr_repo = work / "pgdr-repo"
        Repository.init(open_backend(f"file://{self.pgdr_repo}"), KeyFile(key))
        self.cfg = work / "pgdr.toml"
        self.cfg.write_text(
            f'[repositories.main]\nurl = "file://{self.pgdr_repo}"\nkey_file = "{key}"\n'
            f'[postgres]\nhost = "{self.src.socket_dir}"\nport = {self.src.port}\n'
        )
        # pgBackRest
        self.br_repo = work / "pgbr-repo"
        self.br_conf = work / "pgbackrest.conf"
        for d in ("pgbr-repo", "pgbr-log", "pgbr-lock", "pgbr-spool", "pgdr-spool"):
            (work / d).mkdir()
        self.br_conf.write_text(
            f"[global]\nrepo1-path={self.br_repo}\ncompress-type=zst\nprocess-max=2\nstart-fast=y\n"
            f"log-level-console=warn\nlog-path={work}/pgbr-log\nlock-path={work}/pgbr-lock\n"
            f"spool-path={work}/pgbr-spool\narchive-check=y\n\n[bench]\npg1-path={self.src.data_dir}\n"
            f"pg1-port={self.src.port}\npg1-socket-path={self.src.socket_dir}\n"
        )
        chown_tree(work, runas)
        self.pgbr = ["pgbackrest", f"--config={self.br_conf}", "--stanza=bench"]
        timed([*self.pgbr, "stanza-create"], as_postgres=True)
        both = (
            f"{shlex.join([*self.pgdr, '--config', str(self.cfg)])} wal-push %p && "
            f"{shlex.join(self.pgbr)} archive-push %p"
        )
        self.set_archive_command(both)

    def set_archive_command(self, cmd: str, settle: float = 0.5) -> None:
        self.src.sql(f"ALTER SYSTEM SET archive_command = '{cmd.replace(chr(39), chr(39) * 2)}'")
        self.src.sql("SELECT pg_reload_conf()")
        time.sleep(settle)

    def pgbench(self, seconds: int) -> None:
        self.src.run_tool("pgbench", "-n", "-c", "2", "-T", str(seconds), "postgres")

    def backups(self, incr_seconds: int) -> dict[str, tuple[float, ...]]:
        out: dict[str, tuple[float, ...]] = {}
        w, c = timed([*self.pgdr, "--config", str(self.cfg), "backup", "--type", "full"])
        out["pgdr full"] = (w, c, du(self.pgdr_repo / "data"))
        br_before = du(self.br_repo)
        w, c = timed([*self.pgbr, "--type=full", "backup"], as_postgres=True)
        out["pgBackRest full"] = (w, c, du(self.br_repo) - br_before)
        base = self.work / "basebackup"
        w, c = timed(
            [
                str(self.src.bindir / "pg_basebackup"),
                "-D",
                str(base),
                "-Ft",
                "-X",
                "fetch",
                "--compress=server-zstd:1",
                "-h",
                str(self.src.socket_dir),
                "-p",
                str(self.src.port),
                "-U",
                "postgres",
            ],
            as_postgres=True,
        )
        out["pg_basebackup server-zstd:1"] = (w, c, du(base))
        self.pgbench(incr_seconds)
        before = du(self.pgdr_repo / "data")
        w, c = timed([*self.pgdr, "--config", str(self.cfg), "backup", "--type", "incr"])
        out["pgdr incr"] = (w, c, du(self.pgdr_repo / "data") - before)
        br_before = du(self.br_repo / "backup")
        w, c = timed([*self.pgbr, "--type=incr", "backup"], as_postgres=True)
        out["pgBackRest incr"] = (w, c, du(self.br_repo / "backup") - br_before)
        return out

    def restores(self) -> dict[str, float]:
        out = {}
        name = self.src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]
        time.sleep(3)
        del name
        dest = self.work / "r-pgdr"
        port = free_port()
        t = time.monotonic()
        timed(
            [
                *self.pgdr,
                "--config",
                str(self.cfg),
                "restore",
                "--data-dir",
                str(dest),
                "--start",
                "--port",
                str(port),
            ]
        )
        out["pgdr"] = time.monotonic() - t
        Cluster.attach(dest, port=port).destroy()
        dest = self.work / "r-pgbr"
        dest.mkdir()
        chown_tree(dest, resolve_runas())
        t = time.monotonic()
        timed([*self.pgbr, f"--pg1-path={dest}", "restore"], as_postgres=True)
        c = Cluster.attach(dest, port=free_port())
        c.start()
        c.wait_ready()
        while c.sql("SELECT pg_is_in_recovery()")[0][0]:
            time.sleep(0.1)
        out["pgBackRest"] = time.monotonic() - t
        c.destroy()
        return out

    def keep_up(self, seconds: int, command: str) -> tuple[int, int, float]:
        """Archive with ``command`` while pgbench runs at full speed: (max and final number of
        segments waiting in pg_wal/archive_status, WAL MB written per second). Each run starts
        right after a checkpoint, so each faces the same full-page-image-heavy WAL rate."""
        self.set_archive_command(command)
        self.src.sql("CHECKPOINT")
        status = self.src.data_dir / "pg_wal" / "archive_status"
        start_lsn = self.src.sql("SELECT pg_current_wal_lsn()")[0][0]
        runas = resolve_runas()
        prefix = ["runuser", "-u", runas.name, "--"] if runas.switches else []
        bench = subprocess.Popen(
            [
                *prefix,
                str(self.src.bindir / "pgbench"), "-n", "-c", "2", "-T", str(seconds),
                "-h", str(self.src.socket_dir), "-p", str(self.src.port), "postgres",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        peak = 0
        while bench.poll() is None:
            peak = max(peak, sum(1 for p in status.iterdir() if p.name.endswith(".ready")))
            time.sleep(0.2)
        final = sum(1 for p in status.iterdir() if p.name.endswith(".ready"))
        query = f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{start_lsn}') / 1e6"
        (mb,) = self.src.sql(query)[0]
        return peak, final, float(mb) / seconds

    def drain(self, segments: int, command: str) -> float:
        """ms per segment to archive a backlog of ``segments`` WAL files."""
        self.set_archive_command("false")
        names = []
        for _ in range(segments):
            self.src.sql(
                "INSERT INTO pgbench_history SELECT 1, 1, 1, 1, now() FROM generate_series(1, 20000)"
            )
            names.append(self.src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0])
        t = time.monotonic()
        self.set_archive_command(command)
        while (
            self.src.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")[0][0]
            < names[-1]
        ):
            time.sleep(0.02)
        return (time.monotonic() - t - 0.5) * 1000 / segments


def sync_drains(b: Bench, work: Path, segments: int, repeat: int) -> None:
    """Synchronous archive_command, ms per segment: pgdr in-process, pgdr through the
    resident pusher (``wal-push --spool DIR``, what `setup --apply` writes for a passphrase
    repository: the bench's key file opens it the way the server key does), pgBackRest."""
    pgdr_cmd = shlex.join([*b.pgdr, "--config", str(b.cfg)])
    pusher = work / "pgdr-pusher"
    pusher.mkdir()
    chown_tree(pusher, resolve_runas())
    commands = {
        "pgdr sync (in-process)": f"{pgdr_cmd} wal-push %p",
        "pgdr sync (pusher)": f"{pgdr_cmd} wal-push --spool {shlex.quote(str(pusher))} %p",
        "pgBackRest sync": f"{shlex.join(b.pgbr)} archive-push %p",
    }
    runs: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(repeat):  # interleaved, so machine load hits every command alike
        for label, cmd in commands.items():
            runs[label].append(b.drain(segments, cmd))
    print(f"\n| WAL backlog of {segments} segments, sync | ms per segment (each run) |\n|---|---|")
    for label, values in runs.items():
        print(f"| {label} | {' / '.join(f'{v:.0f}' for v in values)} |")
    print("\n| ratio vs pgBackRest sync (same run) | each run | goal |\n|---|---|---|")
    for label in ("pgdr sync (in-process)", "pgdr sync (pusher)"):
        ratios = [v / p for v, p in zip(runs[label], runs["pgBackRest sync"], strict=True)]
        print(f"| {label} | {' / '.join(f'{r:.2f}' for r in ratios)} | <= 1.0 |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scale", type=int, default=50)
    ap.add_argument("--text", action="store_true", help="random text in pgbench_accounts.filler")
    ap.add_argument("--pgbench-seconds", type=int, default=60)
    ap.add_argument("--segments", type=int, default=24)
    ap.add_argument("--only", choices=["wal"], help="measure only synchronous wal-push")
    ap.add_argument("--repeat", type=int, default=2, help="drains per command (--only wal)")
    args = ap.parse_args()
    if not shutil.which("pgbackrest"):
        raise SystemExit("pgBackRest is not installed: apt-get install pgbackrest")
    work = Path(tempfile.mkdtemp(prefix="pgdr-compare-", dir="/var/tmp"))
    work.chmod(0o755)
    b = Bench(work, args.scale, args.text)
    if args.only == "wal":
        try:
            sync_drains(b, work, args.segments, args.repeat)
        finally:
            b.src.destroy()
            shutil.rmtree(work, ignore_errors=True)
        return
    try:
        size = du(b.src.data_dir)
        print(
            f"data: pgbench scale {args.scale}{' with random-text filler' if args.text else ''}, "
            f"PGDATA {size / MiB:.0f} MiB, 2 cores"
        )
        res = b.backups(args.pgbench_seconds)
        print("\n| backup | wall s | CPU s | stored MiB |\n|---|---|---|---|")
        for k, (w, c, s) in res.items():
            print(f"| {k} | {w:.2f} | {c:.2f} | {s / MiB:.1f} |")
        rest = b.restores()
        print("\n| restore until accepting connections | seconds |\n|---|---|")
        for k, v in rest.items():
            print(f"| {k} | {v:.2f} |")
        pgdr_cmd = shlex.join([*b.pgdr, "--config", str(b.cfg)])
        spool = work / "pgdr-spool"
        drains = {
            "pgdr sync": b.drain(args.segments, f"{pgdr_cmd} wal-push %p"),
            "pgdr async": b.drain(args.segments, async_archive_command(pgdr_cmd, spool)),
            "pgBackRest sync": b.drain(args.segments, f"{shlex.join(b.pgbr)} archive-push %p"),
            "pgBackRest async": b.drain(
                args.segments, f"{shlex.join(b.pgbr)} --archive-async archive-push %p"
            ),
        }
        print(f"\n| WAL backlog of {args.segments} segments | ms per segment |\n|---|---|")
        for k, v in drains.items():
            print(f"| {k} | {v:.0f} |")
        print(
            f"\n| archiving during pgbench -c 2 -T {args.pgbench_seconds} | peak .ready | "
            "final .ready | WAL MB/s |\n|---|---|---|---|"
        )
        for label, cmd in (
            ("pgdr async", async_archive_command(pgdr_cmd, spool)),
            ("pgdr sync", f"{pgdr_cmd} wal-push %p"),
            ("pgBackRest async", f"{shlex.join(b.pgbr)} --archive-async archive-push %p"),
        ):
            peak, final, rate = b.keep_up(args.pgbench_seconds, cmd)
            print(f"| {label} | {peak} | {final} | {rate:.1f} |")
        r = res
        print("\n| ratio (pgdr / peer) | value | goal |\n|---|---|---|")
        print(
            f"| full backup wall vs pgBackRest | {r['pgdr full'][0] / r['pgBackRest full'][0]:.2f} | <= 0.5 |"
        )
        print(
            f"| full backup wall vs pg_basebackup zstd | "
            f"{r['pgdr full'][0] / r['pg_basebackup server-zstd:1'][0]:.2f} | <= 1.0 |"
        )
        print(
            f"| full stored bytes vs pgBackRest | {r['pgdr full'][2] / r['pgBackRest full'][2]:.2f} | <= 1.05 |"
        )
        print(
            f"| incr stored bytes vs pgBackRest | {r['pgdr incr'][2] / max(r['pgBackRest incr'][2], 1):.2f} | <= 0.5 |"
        )
        print(
            f"| restore to ready vs pgBackRest | {rest['pgdr'] / rest['pgBackRest']:.2f} | <= 0.5 |"
        )
        print(
            f"| async drain ms/segment vs pgBackRest async | "
            f"{drains['pgdr async'] / drains['pgBackRest async']:.2f} | <= 1.0 |"
        )
    finally:
        b.src.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
