"""Restoring: materialize a backup's files into a data directory, write the recovery
configuration, and optionally start the server and wait until it reached the target."""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from pgdr import audit
from pgdr.backup.run import KIND, scan_backups
from pgdr.errors import PostgresError, UsageError, WalGap
from pgdr.humanize import human
from pgdr.localfs import sync_filesystem
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import RunAs, resolve_runas
from pgdr.pg.recovery_watch import clean_shutdown, exit_error, wait_for_target
from pgdr.repo.format import WAL_PREFIX
from pgdr.repo.repository import Repository
from pgdr.restore.delta import DeltaStats, check_delta_target, delta_restore
from pgdr.restore.disk_full import disk_full_cause, empty_directory, storage_full
from pgdr.restore.plan import (
    Target,
    check_wal,
    choose_backup,
    choose_timeline,
    first_wal,
    history_files,
    recovery_settings,
)
from pgdr.restore.production import (
    Lineage,
    production_lineage,
    stored_wal,
    timeline_to_follow,
)
from pgdr.restore.safety import check_manifest
from pgdr.restore.targets import Targets, append, materialize, place_wal, tablespace_dir, write_new
from pgdr.restore.window import check_target, wal_end
from pgdr.safefs import Tree

log = logging.getLogger(__name__)


@dataclass
class RestoreResult:
    backup_id: str
    data_dir: str
    target: str
    files: int
    bytes: int
    phases: dict[str, float] = field(default_factory=dict)
    port: int | None = None
    in_recovery: bool | None = None
    delta: DeltaStats | None = None
    timeline: str | None = None  # recovery_target_timeline as written
    backup_timeline: str | None = None
    #: Production's timeline (pgdr.restore.production) and how the followed one relates.
    production_timeline: int | None = None
    timeline_role: str | None = None
    archive_mode: str = "preserve"  # preserve | off | repository
    archive_command: str | None = None  # written by --archive-mode repository
    shut_down_at_target: bool = False  # --start with --target-action shutdown

    def render_text(self, console: Console) -> None:
        console.print(
            f"restored backup [bold]{self.backup_id}[/] into {self.data_dir} "
            f"(target: {self.target}): {self.files} files, {human(self.bytes)}"
        )
        if self.timeline is not None and self.timeline != self.backup_timeline:
            console.print(
                f"following timeline {self.timeline} (the backup is on timeline "
                f"{self.backup_timeline}); pass --timeline {self.backup_timeline} for the "
                "original history"
            )
        if self.timeline_role is not None and self.timeline_role != "production":
            console.print(
                f"[yellow]timeline {self.timeline} is not production's (timeline "
                f"{self.production_timeline}): {self.timeline_role}[/]"
            )
        if self.archive_mode == "off":
            console.print(
                "[yellow]archiving is off in the restored server (--archive-mode off)[/]: right "
                "for a restore beside production; if this server REPLACES production, its new "
                "timeline is unprotected — restore with --archive-mode repository, or run "
                "`pgdr setup --apply` against it and restart it"
            )
        elif self.archive_mode == "repository":
            console.print(f"the restored server archives with: {self.archive_command}")
        if self.delta is not None:
            d = self.delta
            console.print(
                f"delta: {d.files_changed} of {d.files} files differed, "
                f"{human(d.bytes_written)} of {human(d.bytes)} rewritten, {d.removed} removed"
            )
        console.print(
            "time per phase: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.phases.items())
        )
        if self.port is not None:
            state = "paused in recovery" if self.in_recovery else "promoted and accepting writes"
            console.print(f"server running on port {self.port}: {state}")
        elif self.shut_down_at_target:
            console.print("the server replayed WAL to the target and shut down (target action)")
        else:
            console.print(
                f"next: start it (pg_ctl -D {self.data_dir} start); it replays WAL to the target"
            )
            if self.target.split(" ", 1)[0] in ("time", "lsn", "xid", "name"):
                console.print(
                    "if it stops with 'recovery ended before configured recovery target was "
                    "reached', the target is past the archived WAL: run SELECT pg_switch_wal() "
                    "on production, or choose a target inside the window `pgdr info` prints"
                )


def restore(
    repo: Repository,
    data_dir: Path,
    *,
    target: Target,
    restore_command: str,
    action: str = "promote",
    timeline: str | None = None,
    backup: str | None = None,
    start_port: int | None = None,
    start_timeout: float = 600.0,
    place_all_wal: bool = False,
    tablespace_map: dict[str, str] | None = None,
    delta: bool = False,
    progress: Callable[[int, int], None] | None = None,
    archive: bool = True,
    archive_command: str | None = None,
) -> RestoreResult:
    """Restore into a new or empty ``data_dir`` or, with ``delta``, rewrite only what differs
    in an existing one. Refuses (before touching anything) when the target is unreachable.
    ``archive=False`` switches archiving off in the restored server: a restore made beside a
    running production (to recover rows) must not archive its own timeline into the
    repository, where later restores and drills would follow it. ``archive_command``
    replaces the one that came with the backup (a failover: archive into the repository
    restored from, not into the lost primary's).

    When the restore_command takes handed-over files (:func:`hand_over_command`,
    :func:`default_restore_command`), the first WAL files recovery asks for are placed in
    the data directory before the start; with ``place_all_wal`` (and whenever pgdr starts
    the server itself, ``start_port``) every file the plan found, history files included:
    the server then needs no key and no repository access from its environment, which
    holds no pgdr secret (``pgdr.pg.binaries.server_env``)."""
    phases: dict[str, float] = {}
    t = time.monotonic()
    docs, damaged = scan_backups(repo)
    chosen = choose_backup(docs, target, backup, damaged)
    for bid, why in sorted(damaged.items()):
        log.warning("skipping backup %s: %s", bid, why)
    wal_objects = list(repo.backend.list(WAL_PREFIX))
    stored = stored_wal(wal_objects)
    archived = {t: list(names) for t, names in stored.items()}
    histories = read_histories(repo, archived)
    lineage = production_lineage(docs, stored, histories)
    if timeline in (None, "latest"):  # never a side branch some other restore archived
        timeline = timeline_to_follow(chosen, lineage, histories) or timeline
    timeline = choose_timeline(chosen, histories, timeline)
    if target.kind in ("time", "lsn"):  # refuse a target outside the window before copying
        try:
            path = check_wal(chosen, archived, Target("latest"), timeline, histories)
        except WalGap:
            path = []  # check_wal below names the gap if it is before the target
        times = {o.key.rsplit("/", 1)[-1]: o.modified for o in wal_objects}
        end = wal_end(path, int(chosen["wal_segment_size"]), times)
        check_target(target, docs, end, timeline, datetime.now(UTC))
    run = check_wal(chosen, archived, target, timeline, histories)  # refuse before copying
    # Recovery's first segments (or all) go where restore_command's shell looks for them.
    seed: list[str] = []
    if HANDED_OVER in restore_command:
        everything = place_all_wal or start_port is not None
        seed = [*history_files(timeline, histories), *run] if everything else first_wal(chosen, run)
    manifest = repo.get_manifest(KIND, chosen["id"])
    entries = check_manifest(manifest.doc, manifest.ref_count())  # refuse up front
    if delta:
        check_delta_target(data_dir)
    elif data_dir.exists() and any(data_dir.iterdir()):
        raise UsageError(
            f"{data_dir} is not empty; restore into a new or empty directory, or pass --delta "
            "to rewrite only what differs"
        )
    phases["plan"] = time.monotonic() - t

    t = time.monotonic()
    created = not data_dir.exists()
    spaces: list[Path] = []
    stats: DeltaStats | None = None
    targets: Targets | None = None
    try:
        # 0700 and the server's OS user's before anything is written in it (§11).
        targets = Targets(Tree.open(data_dir, _owner(data_dir, created), create=created))
        if delta:
            stats = delta_restore(
                repo,
                manifest,
                entries,
                targets,
                lambda f: tablespace_dir(f, tablespace_map or {}),
                spaces,
                progress,
            )
            nfiles, nbytes = stats.files, stats.bytes
        else:
            nfiles, nbytes = materialize(
                repo, entries, manifest, targets, tablespace_map or {}, spaces, progress
            )
        if seed:
            seeded = place_wal(repo, targets.main, PREFETCH_DIR, seed)
            log.debug("%d WAL segments placed for recovery", seeded)
        if not delta or seed:  # a delta fsyncs each file it rewrites
            t_sync = time.monotonic()
            for place in {data_dir, *spaces}:
                sync_filesystem(place)  # durable before backup_label is written and the start
            log.debug("syncfs took %.2f s", time.monotonic() - t_sync)
        write_new(targets.main, "backup_label", manifest.doc["backup_label"].encode())
        settings = recovery_settings(target, action, timeline)
        if not archive:
            settings["archive_mode"] = "off"
        elif archive_command is not None:
            settings["archive_mode"] = "on"
            settings["archive_command"] = archive_command
        _write_recovery(targets.main, restore_command, settings)
    except BaseException as e:
        import shutil

        if not delta:  # a delta works on the operator's directory: rerun it to finish
            for place in spaces:
                shutil.rmtree(place, ignore_errors=True)
        if created:
            shutil.rmtree(data_dir, ignore_errors=True)
        full = disk_full_cause(e)
        if full is None:
            raise
        if created:
            fate = "the partial restore was removed"
        elif not delta:  # it was empty (checked above): give the space back
            empty_directory(data_dir)
            fate = "the directory was emptied again (it was empty before)"
        else:
            fate = "the data directory is left as it is: run the delta restore again to finish"
        needed = sum(int(f.get("size", 0)) for f in manifest.doc["files"] if f["kind"] == "file")
        raise storage_full(data_dir, needed, fate) from None
    finally:
        if targets is not None:
            targets.close()
    phases["fetch+write"] = time.monotonic() - t
    result = RestoreResult(
        chosen["id"],
        str(data_dir),
        target.describe(),
        nfiles,
        nbytes,
        phases,
        delta=stats,
        timeline=timeline,
        backup_timeline=str(chosen["timeline"]),
        production_timeline=lineage.timeline,
        timeline_role=_role(lineage, timeline),
        archive_mode="off" if not archive else "repository" if archive_command else "preserve",
        archive_command=archive_command if archive else None,
    )
    details = {"backup": chosen["id"], "target": target.describe(), "data_dir": str(data_dir)}
    audit.record(repo, "restore", {**details, "files": nfiles, "bytes": nbytes, "delta": delta})
    if start_port is not None:
        _start(data_dir, start_port, target, action, start_timeout, result)
    return result


def _role(lineage: Lineage, timeline: str) -> str | None:
    return lineage.describe(int(timeline)) if timeline.isdigit() else None


def read_histories(repo: Repository, archived: dict[int, list[str]]) -> dict[int, list[Any]]:
    """Every timeline history file in the repository, parsed (they are few and small)."""
    from pgdr.pg.timeline import parse_history
    from pgdr.pg.wal import is_history, timeline_of_history
    from pgdr.wal.archive import read

    out = {}
    for names in archived.values():
        for name in names:
            if is_history(name):
                text = read(repo, name).decode("utf-8", "replace")
                with contextlib.suppress(ValueError):
                    out[timeline_of_history(name)] = parse_history(text)
    return out


def _owner(data_dir: Path, created: bool) -> tuple[int, int] | None:
    """Who the restored files belong to, when we are root: an existing (empty) directory's
    owner; for a new one (or one owned by root, which PostgreSQL refuses) the unprivileged
    user PostgreSQL runs as."""
    if os.geteuid() != 0:
        return None
    owner = resolve_runas()
    if not created and data_dir.stat().st_uid != 0:
        owner = _owner_of(data_dir)
    return (owner.uid, owner.gid) if owner.switches else None


def _owner_of(path: Path) -> RunAs:
    import pwd

    st = path.stat()
    try:
        pw = pwd.getpwuid(st.st_uid)
        return RunAs(st.st_uid, st.st_gid, pw.pw_name, pw.pw_dir)
    except KeyError:
        return RunAs(st.st_uid, st.st_gid, str(st.st_uid), "/")


def _write_recovery(tree: Tree, restore_command: str, settings: dict[str, str]) -> None:
    lines = [f"restore_command = '{_q(restore_command)}'"]
    lines += [f"{k} = '{_q(v)}'" for k, v in settings.items()]
    append(tree, "postgresql.auto.conf", "\n# written by pgdr restore\n" + "\n".join(lines) + "\n")
    write_new(tree, "recovery.signal", b"")


def _q(v: str) -> str:
    return v.replace("'", "''")


PREFETCH_DIR = "pgdr_prefetch"  # inside the restored PGDATA; backups skip it
HANDED_OVER = f"{PREFETCH_DIR}/prefetch/%f"  # where restore_command's shell looks first
FIRST_HISTORY = "00000001.history"


def hand_over_command() -> str:
    """restore_command that only takes the files a restore placed (``place_all_wal``) and
    answers "not archived" for anything else: a drill sandbox never reaches the repository
    and needs no key, config or credentials."""
    return f"[ %f = {FIRST_HISTORY} ] && exit 1; test -f {HANDED_OVER} && mv -f {HANDED_OVER} %p"


def default_restore_command(config: Path | None, repo: str | None, prefetch: int = 8) -> str:
    """restore_command for the restored server. With ``prefetch``, each fetch starts a
    background fetch of the next segments into PGDATA/pgdr_prefetch (restore_command runs
    with PGDATA as its working directory), so replay rarely waits for the repository."""
    parts = [sys.executable, "-m", "pgdr"]
    if config is not None:
        parts += ["--config", str(config.resolve())]
    if repo:
        parts += ["--repo", repo]
    parts.append("wal-fetch")
    if prefetch:
        parts += ["--prefetch", str(prefetch), "--spool", PREFETCH_DIR]
    command = " ".join(shlex.quote(p) for p in parts) + " %f %p"
    if prefetch:  # a prefetched segment is handed over by the shell: no Python start at all
        command = f"test -f {HANDED_OVER} && mv -f {HANDED_OVER} %p || {command}"
    # Timeline 1 never has a history file, yet PostgreSQL asks for it when it promotes from
    # timeline 1 (to copy the parent's history): answer "not archived" without Python.
    return f"[ %f = {FIRST_HISTORY} ] && exit 1; {command}"


def default_archive_command(config: Path, repo: str | None) -> str:
    """archive_command that archives into the repository a restore came from (the same
    ``--config``/``--repo`` it was opened with), as `pgdr setup` writes it."""
    import shutil

    exe = shutil.which("pgdr")
    parts = [exe] if exe else [sys.executable, "-m", "pgdr"]
    parts += ["--config", str(config.resolve())]
    if repo:
        parts += ["--repo", repo]
    return " ".join(shlex.quote(p) for p in parts) + " wal-push %p"


def _start(
    data_dir: Path,
    port: int,
    target: Target,
    action: str,
    timeout: float,
    result: RestoreResult,
) -> None:
    """Start the restored server and wait until it is promoted (or paused / shut down at the
    target), watching it: the moment the postmaster exits, fail with its FATAL line."""
    t = time.monotonic()
    cluster = Cluster.attach(data_dir, port=port)
    mark = cluster.log_size()
    may_shut_down = action == "shutdown" and target.kind != "latest"
    state: str | None = None
    try:
        cluster.start(timeout=timeout)  # with the allow-listed environment: no key from us
    except PostgresError:
        if cluster.is_running():
            raise
        log = cluster.log_since(mark)
        if not (may_shut_down and clean_shutdown(log)):
            raise exit_error(log, str(data_dir), target.describe()) from None
        state = "shut down"  # reached the target before pg_ctl saw it accept connections
    result.phases["startup"] = time.monotonic() - t
    t = time.monotonic()
    state = state or wait_for_target(
        cluster,
        target=target.describe(),
        promoted=target.kind == "latest" or action == "promote",
        timeout=timeout,
        log_from=mark,
        may_shut_down=may_shut_down,
    )
    result.phases["wal replay"] = time.monotonic() - t
    if state == "promoted":  # prefetched segments are of no further use
        import shutil

        shutil.rmtree(data_dir / PREFETCH_DIR, ignore_errors=True)
    if state == "shut down":
        result.shut_down_at_target = True
    else:
        result.port = port
        result.in_recovery = state == "paused"
