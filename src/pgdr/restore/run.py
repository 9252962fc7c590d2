"""Restoring: plan from the catalog, materialize the backup's files into a data directory,
write the recovery configuration, and optionally start the server and wait until it reached
the target (``pgdr.restore.start``)."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pgdr import audit
from pgdr.catalog.load import BackupCatalog, load_backups
from pgdr.catalog.manifest import BackupManifest, FileEntry
from pgdr.catalog.wal import Timelines, WalCatalog, list_wal_catalog, read_histories
from pgdr.errors import PostgresError, UsageError, WalGap
from pgdr.localfs import sync_filesystem
from pgdr.pg.osuser import RunAs, resolve_runas
from pgdr.repo.repository import Manifest, Repository
from pgdr.restore.commands import ABSENT, HANDED_OVER, PREFETCH_DIR
from pgdr.restore.databases import (
    DatabaseSelection,
    create_zeroed,
    drop_left_out,
    select_databases,
    split_entries,
)
from pgdr.restore.delta import DeltaStats, check_delta_target, delta_restore
from pgdr.restore.disk_full import disk_full_cause, empty_directory, storage_full
from pgdr.restore.plan import (
    Target,
    check_wal,
    choose_backup,
    choose_timeline,
    history_files,
    recovery_settings,
)
from pgdr.restore.production import Lineage, production_lineage, timeline_to_follow
from pgdr.restore.result import RestoreResult
from pgdr.restore.safety import check_manifest
from pgdr.restore.seed import histories_above, known_absent, wal_to_place
from pgdr.restore.start import start_restored
from pgdr.restore.targets import Targets, append, materialize, place_wal, tablespace_dir, write_new
from pgdr.restore.window import check_target, wal_end
from pgdr.safefs import Tree
from pgdr.threads import on_thread

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestoreSource:
    """What a restore plans from, read once: the backups, the WAL listing and the timeline
    histories. A drill reads them to choose and hands them over, so nothing is read twice."""

    backups: BackupCatalog
    wal: WalCatalog
    histories: Timelines

    @classmethod
    def read(cls, repo: Repository) -> RestoreSource:
        backups = load_backups(repo)
        wal = list_wal_catalog(repo)
        return cls(backups, wal, read_histories(repo, wal.archived))

    def lineage(self) -> Lineage:
        return production_lineage(self.backups.manifests, self.wal.stored, self.histories)


@dataclass(frozen=True)
class _Plan:
    chosen: BackupManifest
    stored: Manifest
    entries: list[FileEntry]
    timeline: str
    lineage: Lineage
    seed: list[str]
    absent: list[str]  # names restore_command answers "not archived" (``pgdr.restore.seed``)
    restore_command: str
    zeroed: list[FileEntry]  # left-out databases' files, created as zeros (``databases``)
    selection: DatabaseSelection | None


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
    archive: bool = False,
    archive_command: str | None = None,
    source: RestoreSource | None = None,
    tablespaces_under: Path | None = None,
    databases: Sequence[str] = (),
) -> RestoreResult:
    """Restore into a new or empty ``data_dir`` or, with ``delta``, rewrite only what differs
    in an existing one. Refuses (before touching anything) when the target is unreachable.
    By default (``archive=False``, as the CLI's ``--archive-mode off``) archiving is off in
    the restored server: a restore made beside a running production (to recover rows) must
    not archive its own timeline into the repository, where later restores and drills would
    follow it. ``archive=True`` keeps the backup's own archiving (``preserve``). ``archive_command``
    replaces the one that came with the backup (a failover: archive into the repository
    restored from, not into the lost primary's). ``source``: the catalog a caller (a drill)
    already read. ``tablespaces_under``: every tablespace goes to ``DIR/<oid>`` (a drill keeps
    them in its sandbox: the location a manifest names never chooses where a drill writes).

    When the restore_command takes handed-over files (:func:`hand_over_command`,
    :func:`default_restore_command`), the first WAL files recovery asks for are placed in
    the data directory before the start; with ``place_all_wal`` (and whenever pgdr starts
    the server itself, ``start_port``) every file the plan found, history files included:
    the server then needs no key and no repository access from its environment, which
    holds no pgdr secret (``pgdr.pg.binaries.server_env``).

    ``databases``: keep only these (and the ones PostgreSQL needs); the files of the others
    are not fetched but created as zeros (``pgdr.restore.databases``), and dropped once a
    server pgdr started is promoted."""
    if databases and delta:
        raise UsageError("--database restores into a new directory; it cannot be a --delta")
    phases: dict[str, float] = {}
    t = time.monotonic()
    plan = _plan(
        repo, source or RestoreSource.read(repo), target, timeline, backup, restore_command,
        place_all_wal or start_port is not None, action, databases,
    )  # fmt: skip
    if delta:
        check_delta_target(data_dir)
    elif data_dir.exists() and any(data_dir.iterdir()):
        raise UsageError(
            f"{data_dir} is not empty; restore into a new or empty directory, or pass --delta "
            "to rewrite only what differs"
        )
    phases["plan"] = time.monotonic() - t
    spaces = dict(tablespace_map or {})
    if tablespaces_under is not None:
        for f in plan.entries:
            oid = f.path.rsplit("/", 1)[-1]
            if f.kind == "link" and oid.isdigit():  # pg_tblspc/<oid> (check_manifest)
                spaces[oid] = str(tablespaces_under / oid)

    t = time.monotonic()
    nfiles, nbytes, stats = _write(
        repo, data_dir, plan, target, action, delta, spaces, progress,
        archive, archive_command,
    )  # fmt: skip
    phases["fetch+write"] = time.monotonic() - t
    chosen = plan.chosen
    result = RestoreResult(
        chosen.id,
        str(data_dir),
        target.describe(),
        nfiles,
        nbytes,
        phases,
        delta=stats,
        timeline=plan.timeline,
        backup_timeline=str(chosen.timeline),
        production_timeline=plan.lineage.timeline,
        timeline_role=_role(plan.lineage, plan.timeline),
        archive_mode="off" if not archive else "repository" if archive_command else "preserve",
        archive_command=archive_command if archive else None,
    )
    if plan.selection is not None:
        result.databases = list(plan.selection.kept)
        result.left_out = sorted(plan.selection.left_out.values())
        result.zeroed_files = len(plan.zeroed)
        result.zeroed_bytes = sum(e.size for e in plan.zeroed)
    details: dict[str, object] = {
        "backup": chosen.id,
        "target": target.describe(),
        "data_dir": str(data_dir),
    }
    if plan.selection is not None:
        details["databases"] = list(plan.selection.kept)
    audit.record(repo, "restore", {**details, "files": nfiles, "bytes": nbytes, "delta": delta})
    if start_port is not None:
        start_restored(data_dir, start_port, target, action, start_timeout, result)
        if plan.selection is not None and result.port is not None and not result.in_recovery:
            try:
                result.dropped = drop_left_out(data_dir, start_port, plan.selection)
            except PostgresError as e:  # the restore stands; the result says what to drop
                log.warning("the left-out databases were not dropped: %s", e)
    return result


def choose(
    source: RestoreSource, target: Target, timeline: str | None, backup: str | None
) -> tuple[BackupManifest, str, Lineage]:
    """The backup serving ``target`` and the timeline recovery follows (a restore and its
    preview choose alike)."""
    catalog = source.backups
    chosen = choose_backup(catalog.manifests, target, backup, catalog.damaged)
    for bid, why in sorted(catalog.damaged.items()):
        log.warning("skipping backup %s: %s", bid, why)
    lineage = source.lineage()
    if timeline in (None, "latest"):  # never a side branch some other restore archived
        timeline = timeline_to_follow(chosen, lineage, source.histories) or timeline
    return chosen, choose_timeline(chosen, source.histories, timeline), lineage


def _plan(
    repo: Repository,
    source: RestoreSource,
    target: Target,
    timeline: str | None,
    backup: str | None,
    restore_command: str,
    everything: bool,
    action: str = "promote",
    databases: Sequence[str] = (),
) -> _Plan:
    """Everything decided before a byte is copied; refuses an unreachable target."""
    catalog = source.backups
    chosen, timeline, lineage = choose(source, target, timeline, backup)
    archived, histories = source.wal.archived, source.histories
    if target.kind in ("time", "lsn"):  # refuse a target outside the window before copying
        try:
            path = check_wal(chosen, archived, Target("latest"), timeline, histories)
        except WalGap:
            path = []  # check_wal below names the gap if it is before the target
        end = wal_end(path, chosen.wal_segment_size, source.wal.times())
        check_target(target, catalog.manifests, end, timeline, datetime.now(UTC))
    run = check_wal(chosen, archived, target, timeline, histories)  # refuse before copying
    # What recovery will ask for goes where restore_command's shell looks for it: the WAL up
    # to the target (all of it for a server that cannot reach the repository, else within
    # PLACE_WAL_BYTES), the history files, and what the restore knows is not archived.
    seed: list[str] = []
    absent: list[str] = []
    if HANDED_OVER in restore_command:
        above, _next = histories_above(timeline, archived)
        if not everything:
            run = wal_to_place(chosen, run, target, source.wal.times())
        seed = [*history_files(timeline, histories), *above, *run]
        if ABSENT in restore_command:
            absent = known_absent(timeline, archived, target, action)
    stored = catalog.stored(repo, chosen.id)
    entries = check_manifest(chosen, stored.ref_count())  # refuse up front
    selection = select_databases(chosen, databases) if databases else None
    zeroed: list[FileEntry] = []
    if selection is not None:
        entries, zeroed = split_entries(entries, selection.left_out)
    return _Plan(
        chosen, stored, entries, timeline, lineage, seed, absent, restore_command, zeroed,
        selection,
    )  # fmt: skip


def _write(
    repo: Repository,
    data_dir: Path,
    plan: _Plan,
    target: Target,
    action: str,
    delta: bool,
    tablespace_map: dict[str, str],
    progress: Callable[[int, int], None] | None,
    archive: bool,
    archive_command: str | None,
) -> tuple[int, int, DeltaStats | None]:
    created = not data_dir.exists()
    spaces: list[Path] = []
    stats: DeltaStats | None = None
    targets: Targets | None = None
    wal: Future[int] | None = None
    try:
        # 0700 and the server's OS user's before anything is written in it (§11).
        targets = Targets(Tree.open(data_dir, _owner(data_dir, created), create=created))
        if delta:  # what an earlier recovery left there, before this one's WAL goes in
            targets.main.remove(PREFETCH_DIR)
        # The WAL is fetched while the data files are written (storage waits overlap).
        wal = _place_wal_meanwhile(repo, targets.main, plan)
        if delta:
            stats = delta_restore(
                repo,
                plan.stored,
                plan.entries,
                targets,
                lambda f: tablespace_dir(f, tablespace_map),
                spaces,
                progress,
                keep=frozenset({PREFETCH_DIR}),
            )
            nfiles, nbytes = stats.files, stats.bytes
        else:
            nfiles, nbytes = materialize(
                repo, plan.entries, plan.stored, targets, tablespace_map, spaces, progress
            )
            create_zeroed(targets, plan.zeroed)  # never fetched: not counted in nbytes
        if wal is not None:
            log.debug("%d WAL files placed for recovery", wal.result())
        if not delta or plan.seed:  # a delta fsyncs each file it rewrites
            t_sync = time.monotonic()
            for place in {data_dir, *spaces}:
                sync_filesystem(place)  # durable before backup_label is written and the start
            log.debug("syncfs took %.2f s", time.monotonic() - t_sync)
        label = plan.chosen.backup_label
        assert isinstance(label, str)  # check_manifest refused anything else
        write_new(targets.main, "backup_label", label.encode())
        settings = recovery_settings(target, action, plan.timeline)
        if not archive:
            settings["archive_mode"] = "off"
        elif archive_command is not None:
            settings["archive_mode"] = "on"
            settings["archive_command"] = archive_command
        _write_recovery(targets.main, plan.restore_command, settings)
    except BaseException as e:
        if wal is not None:  # never remove the directory under a thread still writing in it
            wait([wal])
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
        needed = sum(f.size for f in plan.entries if f.kind == "file")
        raise storage_full(data_dir, needed, fate) from None
    finally:
        if targets is not None:
            targets.close()
    return nfiles, nbytes, stats


def _place_wal_meanwhile(repo: Repository, tree: Tree, plan: _Plan) -> Future[int] | None:
    if not plan.seed and not plan.absent:
        return None
    return on_thread("pgdr-wal", place_wal, repo, tree, PREFETCH_DIR, plan.seed, plan.absent)


def _role(lineage: Lineage, timeline: str) -> str | None:
    return lineage.describe(int(timeline)) if timeline.isdigit() else None


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
