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
from pathlib import Path
from typing import Any

from rich.console import Console

from pgdr import audit
from pgdr.backup.run import KIND, list_backups
from pgdr.errors import PostgresError, UsageError
from pgdr.humanize import human
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import RunAs, chown_tree, resolve_runas
from pgdr.repo.reader import BlobReader, sync_filesystem
from pgdr.repo.repository import Repository
from pgdr.restore.delta import DeltaStats, check_delta_target, delta_restore
from pgdr.restore.plan import (
    Target,
    check_wal,
    choose_backup,
    choose_timeline,
    first_wal,
    history_files,
    recovery_settings,
)
from pgdr.wal.archive import list_wal
from pgdr.wal.prefetch import seed as seed_wal

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
    archive_mode: str = "preserve"

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
        if self.archive_mode == "off":
            console.print("archiving is off in the restored server (--archive-mode off)")
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
        else:
            console.print(
                f"next: start it (pg_ctl -D {self.data_dir} start); it replays WAL to the target"
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
) -> RestoreResult:
    """Restore into a new or empty ``data_dir`` or, with ``delta``, rewrite only what differs
    in an existing one. Refuses (before touching anything) when the target is unreachable.
    ``archive=False`` switches archiving off in the restored server: a restore made beside a
    running production (to recover rows) must not archive its own timeline into the
    repository, where later restores and drills would follow it.

    When the restore_command takes handed-over files (:func:`hand_over_command`,
    :func:`default_restore_command`), the first WAL files recovery asks for are placed in
    the data directory before the start; with ``place_all_wal`` (and whenever pgdr starts
    the server itself, ``start_port``) every file the plan found, history files included:
    the server then needs no key and no repository access from its environment, which
    holds no pgdr secret (``pgdr.pg.binaries.server_env``)."""
    phases: dict[str, float] = {}
    t = time.monotonic()
    docs = list_backups(repo)
    chosen = choose_backup(docs, target, backup)
    archived = list_wal(repo)
    histories = _histories(repo, archived)
    timeline = choose_timeline(chosen, histories, timeline)
    run = check_wal(chosen, archived, target, timeline, histories)  # refuse before copying
    # Recovery's first segments (or all) go where restore_command's shell looks for them.
    seed: list[str] = []
    if HANDED_OVER in restore_command:
        everything = place_all_wal or start_port is not None
        seed = [*history_files(timeline, histories), *run] if everything else first_wal(chosen, run)
    if delta:
        check_delta_target(data_dir)
    elif data_dir.exists() and any(data_dir.iterdir()):
        raise UsageError(
            f"{data_dir} is not empty; restore into a new or empty directory, or pass --delta "
            "to rewrite only what differs"
        )
    manifest = repo.get_manifest(KIND, chosen["id"])
    phases["plan"] = time.monotonic() - t

    t = time.monotonic()
    created = not data_dir.exists()
    # Files belong to the data directory's owner: an existing (empty) directory keeps its
    # owner; a new one (or one owned by root, which PostgreSQL refuses) goes to the
    # unprivileged user PostgreSQL runs as.
    owner: RunAs | None = resolve_runas() if os.geteuid() == 0 else None
    if not created and data_dir.stat().st_uid != 0:
        owner = _owner_of(data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    spaces: list[Path] = []
    stats: DeltaStats | None = None
    try:
        if delta:
            stats = delta_restore(
                repo,
                manifest,
                data_dir,
                lambda f: _tablespace_dir(f, tablespace_map or {}),
                spaces,
                progress,
            )
            nfiles, nbytes = stats.files, stats.bytes
        else:
            nfiles, nbytes = _materialize(
                repo,
                manifest.doc["files"],
                manifest,
                data_dir,
                tablespace_map or {},
                spaces,
                progress,
            )
        if seed:
            seeded = seed_wal(repo, data_dir / PREFETCH_DIR, seed)
            log.debug("%d WAL segments placed for recovery", seeded)
        if not delta or seed:  # a delta fsyncs each file it rewrites
            t_sync = time.monotonic()
            for place in {data_dir, *spaces}:
                sync_filesystem(place)  # durable before backup_label is written and the start
            log.debug("syncfs took %.2f s", time.monotonic() - t_sync)
        (data_dir / "backup_label").write_text(manifest.doc["backup_label"])
        settings = recovery_settings(target, action, timeline)
        if not archive:
            settings["archive_mode"] = "off"
        _write_recovery(data_dir, restore_command, settings)
        os.chmod(data_dir, 0o700)
        if os.geteuid() == 0 and owner is not None:
            for place in (data_dir, *spaces):
                chown_tree(place, owner)
    except BaseException:
        import shutil

        if not delta:  # a delta works on the operator's directory: rerun it to finish
            for place in spaces:
                shutil.rmtree(place, ignore_errors=True)
        if created:
            shutil.rmtree(data_dir, ignore_errors=True)
        raise
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
        archive_mode="preserve" if archive else "off",
    )
    details = {"backup": chosen["id"], "target": target.describe(), "data_dir": str(data_dir)}
    audit.record(repo, "restore", {**details, "files": nfiles, "bytes": nbytes, "delta": delta})
    if start_port is not None:
        _start(data_dir, start_port, target, action, start_timeout, result)
    return result


def _histories(repo: Repository, archived: dict[int, list[str]]) -> dict[int, list[Any]]:
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


def _tablespace_dir(f: dict[str, Any], mapping: dict[str, str]) -> Path:
    """Where pg_tblspc/<oid> points after the restore: mapped by --tablespace-map (old path or
    oid), else the original location."""
    oid = f["path"].rsplit("/", 1)[-1]
    return Path(mapping.get(f["target"]) or mapping.get(oid) or f["target"])


def _make_tablespace_link(
    path: Path, f: dict[str, Any], mapping: dict[str, str], created: list[Path]
) -> None:
    """pg_tblspc/<oid> -> its directory, which must be new or empty."""
    oid = f["path"].rsplit("/", 1)[-1]
    target = _tablespace_dir(f, mapping)
    if target.exists() and any(target.iterdir()):
        raise UsageError(
            f"tablespace {oid} would be restored into {target}, which is not empty; "
            f"map it elsewhere with --tablespace-map {f['target']}=NEW_DIR"
        )
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    created.append(target)
    os.symlink(target, path)


def _materialize(
    repo: Repository,
    files: list[dict[str, Any]],
    manifest: Any,
    dest: Path,
    tablespace_map: dict[str, str],
    created_spaces: list[Path],
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    expected = sum(int(f.get("size", 0)) for f in files if f["kind"] == "file")
    regular: dict[Path, dict[str, Any]] = {}
    for f in files:  # directories and tablespace links first: files are written into them
        path = dest / f["path"]
        if f["kind"] == "dir":
            path.mkdir(mode=0o700, exist_ok=True)
        elif f["kind"] == "link":
            _make_tablespace_link(path, f, tablespace_map, created_spaces)
        elif f["kind"] == "file":
            regular[path] = f
    total = 0

    def finished(path: Path, size: int) -> None:
        nonlocal total
        f = regular[path]
        os.chmod(path, f["mode"] & 0o777)
        os.utime(path, (f["mtime"], f["mtime"]))
        total += size
        if progress:
            progress(total, expected)

    refs = manifest.refs
    with BlobReader(repo) as reader:
        reader.write_files(
            (
                (path, [refs[i * 32 : i * 32 + 32] for i in range(s, s + c)])
                for path, (s, c) in ((p, f["refs"]) for p, f in regular.items())
            ),
            done=finished,
            fsync=False,  # the caller syncs the file systems once
        )
    return len(regular), total


def _owner_of(path: Path) -> RunAs:
    import pwd

    st = path.stat()
    try:
        pw = pwd.getpwuid(st.st_uid)
        return RunAs(st.st_uid, st.st_gid, pw.pw_name, pw.pw_dir)
    except KeyError:
        return RunAs(st.st_uid, st.st_gid, str(st.st_uid), "/")


def _write_recovery(data_dir: Path, restore_command: str, settings: dict[str, str]) -> None:
    lines = [f"restore_command = '{_q(restore_command)}'"]
    lines += [f"{k} = '{_q(v)}'" for k, v in settings.items()]
    with open(data_dir / "postgresql.auto.conf", "a") as f:
        f.write("\n# written by pgdr restore\n" + "\n".join(lines) + "\n")
    (data_dir / "recovery.signal").touch()


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


def _start(
    data_dir: Path,
    port: int,
    target: Target,
    action: str,
    timeout: float,
    result: RestoreResult,
) -> None:
    t = time.monotonic()
    cluster = Cluster.attach(data_dir, port=port)
    cluster.start(timeout=timeout)  # with the allow-listed environment: no key from us
    result.phases["startup"] = time.monotonic() - t
    t = time.monotonic()
    deadline = time.monotonic() + timeout
    want_promoted = target.kind == "latest" or action == "promote"
    while True:
        try:
            (in_recovery,) = cluster.sql("SELECT pg_is_in_recovery()")[0]
        except Exception:
            in_recovery = None
        if in_recovery is False or (in_recovery and not want_promoted and _paused(cluster)):
            break
        if time.monotonic() > deadline:
            raise PostgresError(
                f"restored server did not reach {target.describe()} within {timeout:.0f} s; "
                f"log: {cluster.log_tail(3)}"
            )
        time.sleep(0.05)  # the probe is a cheap query; the wait is part of the RTO
    result.phases["wal replay"] = time.monotonic() - t
    if not in_recovery:  # promoted: prefetched segments are of no further use
        import shutil

        shutil.rmtree(data_dir / PREFETCH_DIR, ignore_errors=True)
    result.port = port
    result.in_recovery = bool(in_recovery)


def _paused(cluster: Cluster) -> bool:
    (state,) = cluster.sql("SELECT pg_get_wal_replay_pause_state()")[0]
    return str(state) == "paused"
