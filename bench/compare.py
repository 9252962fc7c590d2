"""Benchmark: pgdr vs pgBackRest vs pg_basebackup on the same cluster, in the same run, set up
the way an operator sets pgdr up (README): a repository protected by a passphrase key slot
(`pgdr repo init`, passphrase from `passphrase = "file:..."`, the default scrypt cost) and
archiving written by `pgdr setup --apply`; every pgdr command runs as the postgres OS user.

Per data set (default: pgbench scale 50 blank filler, scale 50 random-text filler, scale 200
random-text filler) it measures
- full backup wall and CPU seconds, stored bytes (pgdr, pgBackRest process-max=2 zst,
  pg_basebackup --compress=server-zstd:1), then an incremental after pgbench;
- restore from the restore command until the server, started by `pg_ctl -D DIR -w start` as
  the postgres OS user from the restored directory, is promoted: files phase and
  start->promoted phase apart (pgdr restore without --start; pgBackRest restore), the median
  of --restore-rounds interleaved rounds, beside the disk's floor (writing and fsyncing as many
  bytes); every timed backup and restore starts after an untimed `sync`, so no tool flushes
  what an earlier step left dirty;
- ms per segment to drain a backlog through archive_command: the command `pgdr setup --apply`
  wrote (sync) and with `--async-spool` (async), vs pgBackRest archive-push sync and async;
  and whether archiving keeps up with pgbench.
Both tools archive every segment (each restore needs all of it): setup's command and
pgBackRest's archive-push chained with `&&`, the tool whose backup is timed first. Neither
restored server archives. Untimed between the two restore phases: giving the restored copy a
free port and its own socket directory (pgdr.pg.cluster.Cluster.attach), as an operator would.
With `--only restore` the backups are still taken, untimed. The data is in steady state before
anything is timed (VACUUM (FREEZE, ANALYZE), CHECKPOINT: no tool pays for setting hint bits),
and each timed backup starts with no segment waiting for archive_command.
It ends with a table of issue 14's bars, each marked met or not. Not a test: numbers only,
whatever they show; on a shared machine only ratios measured in the same run mean anything.

    .venv/bin/python bench/compare.py [--data 50 --data 50:text --data 200:text]
        [--only backup|restore|wal] [--pgbench-seconds 60] [--segments 24]
        [--restore-rounds 3]

Needs the Debian packages postgresql and pgbackrest (`apt-get install pgbackrest`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from compare_report import Bar, bars, fmt_ratio, ratio, summary, table
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import chown_tree, free_port, resolve_runas

MiB = 1 << 20
PARTS = ("backup", "restore", "wal")
PASSPHRASE = "correct horse battery staple, benchmark edition"


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run(cmd: list[str], *, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run ``cmd`` as the postgres OS user: (wall s, CPU s of it and its children, stdout).
    pgdr's phase timings (``pgdr: INFO: backup ...: catalog 0.41 s, ...``) are printed."""
    runas = resolve_runas()
    kwargs: dict = {}
    if runas.switches:
        kwargs = {"user": runas.uid, "group": runas.gid, "extra_groups": []}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    r = subprocess.run(
        cmd, env={**os.environ, **(env or {})}, capture_output=True, text=True, **kwargs
    )
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"{shlex.join(cmd)} failed: {(r.stderr or r.stdout).strip()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    for line in r.stderr.splitlines():
        if " pgdr: INFO: backup " in f" {line}":
            print(f"  {line.split('pgdr: INFO: ', 1)[1]}", flush=True)
    if os.environ.get("BENCH_SHOW"):
        print(f"# {shlex.join(cmd)[:160]}\n{r.stdout[-2000:]}{r.stderr[-1000:]}", flush=True)
    return wall, cpu, r.stdout


def _median_pair(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(f for f, _ in runs), statistics.median(s for _, s in runs)


def disk_floor(work: Path, size: int) -> float:
    """Seconds to write ``size`` bytes of incompressible data in 1 MiB writes and fsync them:
    what any restore of that many bytes costs at least on this disk (from a clean cache)."""
    block = os.urandom(MiB)
    path = work / "disk-floor"
    os.sync()
    t = time.monotonic()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(max(1, size // MiB)):
            os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)
    wall = time.monotonic() - t
    path.unlink()
    return wall


def disk_needed(scale: int) -> int:
    """Bytes a data set needs at its peak: PGDATA (~16 MiB per scale unit), a restored copy,
    both repositories and the pg_basebackup tar (each at most PGDATA), WAL: 5x PGDATA."""
    return 5 * scale * 16 * MiB


class Bench:
    def __init__(self, work: Path, scale: int, text: bool) -> None:
        self.work = work
        self.src = Cluster.create(
            work / "src",
            settings={
                "max_wal_size": "4GB",
                "checkpoint_timeout": "30min",
                "wal_level": "replica",
                "archive_mode": "on",
                "archive_command": "true",  # until `pgdr setup --apply` writes its own
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
        # Steady state, as a production table is: hint bits set and pages frozen before any
        # tool reads them (the first reader after a checkpoint WAL-logs every page it sets
        # hint bits on: with data checksums ~1 GB of WAL that whichever tool came first
        # would wait to archive; measured: pgdr full 137 s, 7 s of CPU, at scale 50 random).
        self.src.sql("VACUUM (FREEZE, ANALYZE)")
        self.src.sql("CHECKPOINT")
        for d in ("pgbr-repo", "pgbr-log", "pgbr-lock", "pgbr-spool", "pgdr-spool", "state"):
            (work / d).mkdir()
        # pgdr as in the README: a passphrase from a file, default KDF cost, setup --apply
        secret = work / "pgdr.passphrase"
        secret.write_text(PASSPHRASE + "\n")
        secret.chmod(0o600)
        self.pgdr_repo = work / "pgdr-repo"
        self.cfg = work / "pgdr.toml"
        self.cfg.write_text(
            f'[repositories.main]\nurl = "file://{self.pgdr_repo}"\n'
            f'passphrase = "file:{secret}"\n\n'
            f'[postgres]\nhost = "{self.src.socket_dir}"\nport = {self.src.port}\n'
            f'data_dir = "{self.src.data_dir}"\n'
        )
        self.cfg.chmod(0o644)
        self.br_repo = work / "pgbr-repo"
        br_conf = work / "pgbackrest.conf"
        br_conf.write_text(
            f"[global]\nrepo1-path={self.br_repo}\ncompress-type=zst\nprocess-max=2\nstart-fast=y\n"
            f"log-level-console=warn\nlog-path={work}/pgbr-log\nlock-path={work}/pgbr-lock\n"
            f"spool-path={work}/pgbr-spool\narchive-check=y\n\n[bench]\npg1-path={self.src.data_dir}\n"
            f"pg1-port={self.src.port}\npg1-socket-path={self.src.socket_dir}\n"
        )
        chown_tree(work, resolve_runas())
        self.pgbr = ["pgbackrest", f"--config={br_conf}", "--stanza=bench"]
        run([*self.pgbr, "stanza-create"])
        self.pgdr("repo", "init")
        slots = json.loads(self.pgdr("--json", "key", "list")[2])["slots"]
        print("pgdr key slots:", "; ".join(f"{s['kind']} {s.get('kdf', '')}" for s in slots))
        # What `pgdr setup --apply` writes is what is timed: async first, sync last (kept).
        self.pgdr("setup", "--apply", "--async-spool", str(work / "pgdr-spool"))
        self.pgdr_async = self.archive_command()
        self.pgdr("setup", "--apply")
        self.pgdr_sync = self.archive_command()
        if self.src.sql("SELECT count(*) FROM pg_settings WHERE pending_restart")[0][0]:
            self.src.restart()
        print(f"archive_command written by pgdr setup --apply: {self.pgdr_sync}")
        self.br_sync = f"{shlex.join(self.pgbr)} archive-push %p"
        self.br_async = f"{shlex.join(self.pgbr)} --archive-async archive-push %p"
        self.archive_first("pgdr")

    def archive_first(self, tool: str) -> None:
        """Both tools archive every segment (each restore needs all of it); the tool whose
        backup is timed archives first, so its wait for the stop segment is its own; no
        backlog is left in front of it."""
        first, then = (self.pgdr_sync, self.br_sync)[:: 1 if tool == "pgdr" else -1]
        self.set_archive_command(f"{first} && {then}")
        self.archive_idle()

    def pgdr(self, *args: str) -> tuple[float, float, str]:
        """The pgdr CLI as the postgres OS user (as the systemd unit runs it)."""
        cmd = [sys.executable, "-m", "pgdr", "--config", str(self.cfg), *args]
        path = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"
        return run(cmd, env={"PGDR_STATE_DIR": str(self.work / "state"), "PATH": path})

    def archive_command(self) -> str:
        return str(self.src.sql("SHOW archive_command")[0][0])

    def set_archive_command(self, cmd: str, settle: float = 0.5) -> None:
        self.src.sql(f"ALTER SYSTEM SET archive_command = '{cmd.replace(chr(39), chr(39) * 2)}'")
        self.src.sql("SELECT pg_reload_conf()")
        time.sleep(settle)

    def pgbench(self, seconds: int) -> None:
        self.src.run_tool("pgbench", "-n", "-c", "2", "-T", str(seconds), "postgres")

    def archive_idle(self, timeout: float = 1800) -> None:
        """Wait until no segment waits for archive_command: each timed backup starts
        without another tool's (or pgbench's) backlog in front of its own WAL."""
        status = self.src.data_dir / "pg_wal" / "archive_status"
        deadline = time.monotonic() + timeout
        while any(p.name.endswith(".ready") for p in status.iterdir()):
            if time.monotonic() > deadline:
                raise SystemExit(f"archiving did not catch up within {timeout:.0f} s")
            time.sleep(0.1)

    def switch_and_wait(self, timeout: float = 120) -> None:
        """Switch WAL and wait until the segment is archived (both tools archive it)."""
        (name,) = self.src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0]
        deadline = time.monotonic() + timeout
        query = "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver"
        while self.src.sql(query)[0][0] < name and time.monotonic() < deadline:
            time.sleep(0.05)

    def backups(self, incr_seconds: int) -> dict[str, tuple[float, float, int]]:
        out: dict[str, tuple[float, float, int]] = {}
        os.sync()  # no tool pays for what an earlier step left dirty
        w, c, _ = self.pgdr("-v", "backup", "--type", "full")
        out["pgdr full"] = (w, c, du(self.pgdr_repo / "data"))
        br_before = du(self.br_repo)
        self.archive_first("pgBackRest")
        os.sync()
        w, c, _ = run([*self.pgbr, "--type=full", "backup"])
        out["pgBackRest full"] = (w, c, du(self.br_repo) - br_before)
        self.archive_idle()
        base = self.work / "basebackup"
        os.sync()
        w, c, _ = run(
            [
                str(self.src.bindir / "pg_basebackup"), "-D", str(base), "-Ft", "-X", "fetch",
                "--compress=server-zstd:1", "-h", str(self.src.socket_dir),
                "-p", str(self.src.port), "-U", "postgres",
            ]
        )  # fmt: skip
        out["pg_basebackup server-zstd:1"] = (w, c, du(base))
        shutil.rmtree(base)
        self.pgbench(incr_seconds)
        self.archive_first("pgdr")
        before = du(self.pgdr_repo / "data")
        os.sync()
        w, c, _ = self.pgdr("-v", "backup", "--type", "incr")
        out["pgdr incr"] = (w, c, du(self.pgdr_repo / "data") - before)
        br_before = du(self.br_repo / "backup")
        self.archive_first("pgBackRest")
        os.sync()
        w, c, _ = run([*self.pgbr, "--type=incr", "backup"])
        out["pgBackRest incr"] = (w, c, du(self.br_repo / "backup") - br_before)
        self.archive_first("pgdr")
        return out

    def restores(self, rounds: int) -> dict[str, tuple[float, float]]:
        """(files s, start->promoted s) for each tool, the median of ``rounds`` interleaved
        rounds; neither restored server archives. Each timed restore starts with no dirty
        page in the page cache (an untimed sync): a restore makes its files durable, and
        flushing what earlier steps (the data load, the other tool) left dirty is not its
        work. Also the disk's floor: writing and fsyncing as many bytes as pgdr restored."""
        self.switch_and_wait()
        runs: dict[str, list[tuple[float, float]]] = {"pgdr": [], "pgBackRest": []}
        size = 0
        for _ in range(rounds):
            dest = self.work / "r-pgdr"
            os.sync()
            files, _, _ = self.pgdr("restore", "--data-dir", str(dest))
            size = du(dest)
            runs["pgdr"].append((files, self.start_until_promoted(dest)))
            shutil.rmtree(dest, ignore_errors=True)
            dest = self.work / "r-pgbr"
            dest.mkdir()
            chown_tree(dest, resolve_runas())
            os.sync()
            files, _, _ = run([*self.pgbr, f"--pg1-path={dest}", "--archive-mode=off", "restore"])
            runs["pgBackRest"].append((files, self.start_until_promoted(dest)))
            shutil.rmtree(dest, ignore_errors=True)
        out = {k: _median_pair(v) for k, v in runs.items()}
        out["disk floor (write+fsync of those bytes)"] = (disk_floor(self.work, size), 0.0)
        return out

    @staticmethod
    def start_until_promoted(dest: Path) -> float:
        """`pg_ctl -D dest -w start` as the postgres OS user, then until pg_is_in_recovery()
        is false. Untimed before it: the port and socket directory of the restored copy."""
        c = Cluster.attach(dest, port=free_port())
        try:
            t = time.monotonic()
            c.start(timeout=600)
            while c.sql("SELECT pg_is_in_recovery()")[0][0]:
                time.sleep(0.02)
            return time.monotonic() - t
        finally:
            c.destroy()

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


def run_dataset(
    scale: int, text: bool, parts: set[str], args: argparse.Namespace
) -> tuple[str, list[Bar]]:
    name = f"scale {scale} {'random' if text else 'blank'} filler"
    need = disk_needed(scale)
    free = shutil.disk_usage("/var/tmp").free
    print(
        f"\n## {name}\n\nfree disk in /var/tmp: {free / MiB:.0f} MiB, needed ~{need / MiB:.0f} MiB"
    )
    if free < need:
        raise SystemExit(f"{name}: not enough free disk in /var/tmp")
    work = Path(tempfile.mkdtemp(prefix="pgdr-compare-", dir="/var/tmp"))
    work.chmod(0o755)
    m: dict[str, float | None] = {}
    b = Bench(work, scale, text)
    try:
        print(f"PGDATA {du(b.src.data_dir) / MiB:.0f} MiB, {os.cpu_count()} cores")
        if parts & {"backup", "restore"}:
            res = b.backups(args.pgbench_seconds)
            if "backup" in parts:
                rows = [(k, w, c, f"{s / MiB:.1f}") for k, (w, c, s) in res.items()]
                print("\n" + table(("backup", "wall s", "CPU s", "stored MiB"), rows))
                m["backup wall pgdr"] = res["pgdr full"][0]
                m["backup wall pgbr"] = res["pgBackRest full"][0]
                m["backup wall basebackup"] = res["pg_basebackup server-zstd:1"][0]
                m["backup bytes pgdr"] = res["pgdr full"][2]
                m["backup bytes pgbr"] = res["pgBackRest full"][2]
                cpu = ratio(res["pgdr full"][1], res["pgBackRest full"][1])
                incr = ratio(res["pgdr incr"][2], res["pgBackRest incr"][2])
                print(
                    f"\nfull backup CPU vs pgBackRest {fmt_ratio(cpu)}; incr bytes {fmt_ratio(incr)}"
                )
        if "restore" in parts:
            rest = b.restores(args.restore_rounds)
            rows2 = [(k, f, s, f + s) for k, (f, s) in rest.items()]
            (pf, ps), (bf, bs) = rest["pgdr"], rest["pgBackRest"]
            floor = rest["disk floor (write+fsync of those bytes)"][0]
            rows2.append(
                ("ratio", fmt_ratio(pf / bf), fmt_ratio(ps / bs), fmt_ratio((pf + ps) / (bf + bs)))
            )
            print(
                "\n"
                + table(
                    ("restore until promoted", "files s", "start->promoted s", "total s"), rows2
                )
            )
            print(
                f"\nfiles vs the disk floor: pgdr {fmt_ratio(ratio(pf, floor))}, "
                f"pgBackRest {fmt_ratio(ratio(bf, floor))}; the floor is "
                f"{fmt_ratio(ratio(floor, bf))} of pgBackRest's files"
            )
            m |= {"restore files pgdr": pf, "restore start pgdr": ps}
            m |= {"restore files pgbr": bf, "restore start pgbr": bs}
        if "wal" in parts:
            commands = {
                "pgdr sync (setup's command)": b.pgdr_sync,
                "pgdr async (setup --async-spool)": b.pgdr_async,
                "pgBackRest sync": b.br_sync,
                "pgBackRest async": b.br_async,
            }
            runs: dict[str, list[float]] = {k: [] for k in commands}
            for _ in range(args.repeat):  # interleaved: machine load hits every command alike
                for label, cmd in commands.items():
                    runs[label].append(b.drain(args.segments, cmd))
            drains = {k: statistics.median(v) for k, v in runs.items()}
            print("\n" + table((f"WAL backlog of {args.segments} segments", "ms per segment (median)", "each run"),
                               [(k, f"{drains[k]:.0f}", " / ".join(f"{x:.0f}" for x in v))
                                for k, v in runs.items()]))  # fmt: skip
            m["wal pgdr"] = drains["pgdr sync (setup's command)"]
            m["wal pgbr"] = drains["pgBackRest sync"]
            a = ratio(drains["pgdr async (setup --async-spool)"], drains["pgBackRest async"])
            print(f"\nasync drain vs pgBackRest async: {fmt_ratio(a)}")
            keep = [
                (label, *b.keep_up(args.pgbench_seconds, cmd))
                for label, cmd in (
                    ("pgdr async", b.pgdr_async),
                    ("pgdr sync", b.pgdr_sync),
                    ("pgBackRest async", b.br_async),
                )
            ]
            head = (f"archiving during pgbench -c 2 -T {args.pgbench_seconds}", "peak .ready",
                    "final .ready", "WAL MB/s")  # fmt: skip
            print("\n" + table(head, keep))
    finally:
        b.src.destroy()
        shutil.rmtree(work, ignore_errors=True)
    return name, bars(name, text, m)


def parse_data(spec: str) -> tuple[int, bool]:
    scale, _, kind = spec.partition(":")
    if kind not in ("", "text", "blank") or not scale.isdigit():
        raise argparse.ArgumentTypeError(f"{spec!r}: expected SCALE or SCALE:text")
    return int(scale), kind == "text"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=parse_data, action="append",
                    help="SCALE (blank filler) or SCALE:text (random filler); repeatable")  # fmt: skip
    ap.add_argument("--only", choices=PARTS, action="append", help="run only this part")
    ap.add_argument("--pgbench-seconds", type=int, default=60)
    ap.add_argument("--segments", type=int, default=24)
    ap.add_argument(
        "--restore-rounds",
        type=int,
        default=3,
        help="restores per tool, interleaved; the median is compared",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="drains per WAL command, interleaved; the median is compared",
    )
    args = ap.parse_args()
    if not shutil.which("pgbackrest"):
        raise SystemExit("pgBackRest is not installed: apt-get install pgbackrest")
    os.environ.pop("PGDR_KDF_N", None)  # the default scrypt cost, as an operator gets it
    os.environ.pop("PGDR_PASSPHRASE", None)
    data = args.data or [(50, False), (50, True), (200, True)]
    parts = set(args.only or PARTS)
    total = sum(disk_needed(s) for s, _ in data[:1]) if data else 0
    print(f"free disk in /var/tmp: {shutil.disk_usage('/var/tmp').free / MiB:.0f} MiB "
          f"(the first data set needs ~{total / MiB:.0f} MiB; each is removed before the next)")  # fmt: skip
    all_bars: list[Bar] = []
    for scale, text in data:
        _name, got = run_dataset(scale, text, parts, args)
        all_bars += got
    print("\n## Summary (issue 14's bars)\n\n" + summary(all_bars))


if __name__ == "__main__":
    main()
