"""Garbage collection: mark & sweep of packs and index objects no manifest needs, safe while
backups and WAL pushes run (docs/design.md §10).

    mark     read every manifest (the roots), then every index object, then list the packs;
             a pack is dead (no live blob), unindexed (no active index entry: an interrupted
             write, or a writer's pack not indexed yet), to repack (at least
             ``repack_threshold`` of it unused, or flagged by ``rewrite``) or kept
    repack   copy the live blobs of packs to repack into new packs
    index    write an index object with the surviving entries of every index object that
             names a doomed pack, plus the moved blobs, superseding those objects (readers
             ignore superseded ones at once)
    plan     write the deletion plan (doomed packs, index objects to retire), THEN list live
             locks: those holders are waited for
    sweep    once every lock live at plan time has ended: read the manifests and index again,
             spare any doomed pack that now holds a referenced blob found nowhere else
             (writing an index entry for it first if needed), delete the rest, delete the
             retired index objects that a surviving one supersedes, delete the plan

A sweep that cannot finish within ``wait`` seconds leaves its plan; the next run finishes it
first. Deletes refused by S3 Object Lock are reported and skipped: the pack is then
unindexed and a later run deletes it once its retention has lapsed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from pgdr.errors import ObjectLocked, ObjectNotFound
from pgdr.repo import format as fmt
from pgdr.repo import leftovers
from pgdr.repo.gc_view import (
    NO_IDS,
    PACK_OVERHEAD,
    Entries,
    id_array,
    live_entries,
    spare,
)
from pgdr.repo.index import Location
from pgdr.repo.locks import Lock, LockManager
from pgdr.repo.plans import Plan, list_plans, record_waits, write_plan
from pgdr.repo.repack import group_by_pack, repack, scan_locations
from pgdr.repo.repository import Repository, active_index_ids
from pgdr.storage.base import ObjectInfo

INDEX_CHUNK = 1 << 20  # entries per index object written by GC


@dataclass(frozen=True)
class GcOptions:
    #: Repack a pack when at least this fraction of it is no longer referenced.
    repack_threshold: float = 0.5
    #: Seconds to wait for writers live at plan time before leaving the plan for a later run.
    wait: float = 0.0
    poll: float = 0.5
    dry_run: bool = False
    #: Packs that must be rewritten whatever their use (rekey: sealed with an old data key).
    rewrite: Callable[[bytes], bool] | None = None
    #: Write a new index object (superseding all) even if no pack is deleted (rekey).
    rewrite_index: bool = False
    purpose: str = "gc"


@dataclass
class GcReport:
    dry_run: bool = False
    packs: int = 0
    pack_bytes: int = 0
    packs_deleted: int = 0
    bytes_deleted: int = 0
    packs_repacked: int = 0
    blobs_moved: int = 0
    packs_written: int = 0
    bytes_written: int = 0
    index_files_written: int = 0
    index_files_retired: int = 0
    spared_packs: int = 0
    rescued_blobs: int = 0
    missing_blobs: int = 0
    plans_finished: int = 0
    #: Deletes refused by Object Lock: skipped now, retried by a later run.
    locked: list[str] = field(default_factory=list)
    #: Plans left for a later run because writers live at plan time are still running.
    pending: list[str] = field(default_factory=list)
    waiting_for: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    #: Leftovers of killed runs removed (a dry run: found): stale locks, temporary files.
    stale_locks_removed: list[str] = field(default_factory=list)
    temp_files_removed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.pending


def collect(
    repo: Repository,
    options: GcOptions | None = None,
    *,
    lock: Lock | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> GcReport:
    """Run garbage collection under ``lock`` (a delete lock) or a delete lock of its own."""
    opts = options or GcOptions()
    t0 = time.monotonic()
    rep = GcReport(dry_run=opts.dry_run)
    own = lock or LockManager(repo.backend).acquire("delete", opts.purpose)
    try:
        left = leftovers.clean(repo.backend, dry_run=opts.dry_run)
        rep.stale_locks_removed, rep.temp_files_removed = left.stale_locks, left.temp_files
        for plan in sorted(list_plans(repo.backend), key=lambda p: p.plan_id):
            if opts.dry_run:
                rep.pending.append(plan.plan_id)
            elif not _sweep(repo, plan, own, opts, rep, sleep):
                return rep
        if rep.pending:
            return rep
        _collect(repo, own, opts, rep, sleep)
    finally:
        if lock is None:
            own.release()
        repo.invalidate_index()
        rep.seconds = time.monotonic() - t0
    return rep


# --- mark, repack, index, plan --------------------------------------------------------------


def _collect(
    repo: Repository, own: Lock, opts: GcOptions, rep: GcReport, sleep: Callable[[float], None]
) -> None:
    refs = referenced_blobs(repo)  # roots first: any manifest seen has its index durable
    objs = repo.read_index_objects()
    present = {_pack_of(i.key): i.size for i in repo.backend.list(fmt.DATA_PREFIX)}
    rep.packs, rep.pack_bytes = len(present), sum(present.values())
    active_ids = active_index_ids(objs)
    active = Entries.of(objs[i] for i in active_ids)
    live = live_entries(active, refs, set(present))
    live_bytes = _bytes_by_pack(active.select(live))
    indexed = active.packs_used()
    dead, to_repack = set(), set()
    for pack, size in present.items():
        used = live_bytes.get(pack, 0)
        if pack not in indexed or used == 0:
            dead.add(pack)
        elif 1 - (used + PACK_OVERHEAD) / size >= opts.repack_threshold or (
            opts.rewrite is not None and opts.rewrite(pack)
        ):
            to_repack.add(pack)
    moves = group_by_pack(active.select(live & active.in_packs(to_repack)).items())
    if opts.dry_run:
        rep.packs_deleted = len(dead)
        rep.bytes_deleted = sum(present[p] for p in dead | to_repack)
        rep.packs_repacked = len(to_repack)
        rep.blobs_moved = sum(len(v) for v in moves.values())
        return
    moved, damaged = repack(repo, moves, rep)  # counts moved blobs, written and damaged packs
    rep.packs_repacked = len(to_repack - damaged)
    doomed = dead | (to_repack - damaged)
    every = Entries.of(objs.values())
    sp = spare(
        refs,
        active,
        every,
        set(present),
        doomed,
        lambda p: scan_locations(repo, p),
        id_array(b for b, _ in moved),
    )
    doomed -= sp.spared
    rep.spared_packs += len(sp.spared)
    rep.rescued_blobs += len(sp.rescue)
    rep.missing_blobs = max(rep.missing_blobs, sp.missing)
    # Rewrite only the index objects that name a doomed pack (all of them for rekey); the
    # new object supersedes them and every leftover superseded one, which would otherwise
    # come back to life once what supersedes it is deleted.
    active_set = set(active_ids)
    touched = sorted(
        i for i in active_ids if opts.rewrite_index or doomed.intersection(objs[i].packs)
    )
    leftovers = [i for i in objs if i not in active_set]
    retire = leftovers
    if touched or moved or sp.rescue:
        named = Entries.of(objs[i] for i in touched)
        survivors = named.select(~named.in_packs(doomed)).items()
        retire = touched + leftovers
        _write_index(repo, survivors + moved + sp.rescue, retire, rep)
    if not doomed and not retire:
        return
    plan = write_plan(repo.backend, opts.purpose, sorted(doomed), retire)
    waits = [h for h in own.mgr.live_holders() if h != _holder(own)]
    plan = record_waits(repo.backend, plan, waits)
    _sweep(repo, plan, own, opts, rep, sleep)


def referenced_blobs(repo: Repository, only: set[str] | None = None) -> np.ndarray:
    """Sorted unique ids of every blob any manifest (of any kind) references; with
    ``only``, just the manifests with those object keys."""
    keys = [(k, m) for k in repo.manifest_kinds() for m in repo.list_manifests(k)]
    if only is not None:
        keys = [(k, m) for k, m in keys if fmt.manifest_key(k, m) in only]

    def refs_of(km: tuple[str, str]) -> bytes:
        try:
            return repo.get_manifest(*km).refs
        except ObjectNotFound:
            return b""  # deleted between list and get (only under our own delete lock)

    with ThreadPoolExecutor(max_workers=8) as pool:
        tables = list(pool.map(refs_of, keys))
    data = b"".join(tables)
    return np.unique(np.frombuffer(data, dtype="S32")) if data else NO_IDS


def _write_index(
    repo: Repository,
    items: list[tuple[bytes, Location]],
    supersedes: list[bytes],
    rep: GcReport,
) -> None:
    for start in range(0, max(len(items), 1), INDEX_CHUNK):
        repo.write_index(items[start : start + INDEX_CHUNK], supersedes if start == 0 else [])
        rep.index_files_written += 1


# --- sweep ----------------------------------------------------------------------------------


def _sweep(
    repo: Repository,
    plan: Plan,
    own: Lock,
    opts: GcOptions,
    rep: GcReport,
    sleep: Callable[[float], None],
) -> bool:
    """Finish a plan; False (plan left in place) while writers live at plan time run on."""
    if not _wait_for_writers(plan, own, opts, rep, sleep):
        return False
    own.check()  # someone ran `repo unlock --all`: another GC may be running; stop
    refs = referenced_blobs(repo)
    objs = repo.read_index_objects()
    listing = list(repo.backend.list(fmt.DATA_PREFIX))
    present = {_pack_of(i.key): i.size for i in listing}
    active_ids = active_index_ids(objs)
    active = Entries.of(objs[i] for i in active_ids)
    doomed = set(plan.packs) & set(present) - _stored_again(listing, plan)
    sp = spare(
        refs,
        active,
        Entries.of(objs.values()),
        set(present),
        doomed,
        lambda p: scan_locations(repo, p),
    )
    rep.spared_packs += len(sp.spared)
    rep.rescued_blobs += len(sp.rescue)
    rep.missing_blobs = max(rep.missing_blobs, sp.missing)
    remove = doomed - sp.spared
    # An index object written after the mark (a writer that then died) may name a pack we
    # remove: replace it by one without those entries before the pack goes.
    stale = [i for i in active_ids if remove.intersection(objs[i].packs)]
    if stale or sp.rescue:
        named = Entries.of(objs[i] for i in stale)
        kept = named.select(~named.in_packs(remove)).items()
        _write_index(repo, kept + sp.rescue, stale, rep)
    for pack in sorted(remove):
        if _delete(repo, fmt.pack_key(pack), rep):
            rep.packs_deleted += 1
            rep.bytes_deleted += present[pack]
    retiring = set(plan.indexes)
    superseded = {s for i, f in objs.items() if i not in retiring for s in f.supersedes}
    for index_id in [*plan.indexes, *stale]:
        if (
            index_id in objs
            and (index_id in superseded or index_id in stale)
            and _delete(repo, fmt.index_key(index_id), rep)
        ):
            rep.index_files_retired += 1
    repo.backend.delete(plan.key)
    rep.plans_finished += 1
    return True


def _stored_again(listing: list[ObjectInfo], plan: Plan) -> set[bytes]:
    """Planned packs stored (again) at or after the plan: identical content written by a
    writer that started after the plan (deterministic packs of unencrypted repositories)."""
    if plan.first_stored is None:
        return set()
    return {
        _pack_of(i.key)
        for i in listing
        if i.modified is not None and i.modified >= plan.first_stored
    }


def _wait_for_writers(
    plan: Plan, own: Lock, opts: GcOptions, rep: GcReport, sleep: Callable[[float], None]
) -> bool:
    me = _holder(own)
    live = own.mgr.live_holders()
    waits = set(plan.waits) if plan.waits is not None else set(live)
    deadline = time.monotonic() + opts.wait
    while True:
        blocking = [live[h] for h in sorted(waits) if h in live and h != me]
        if not blocking:
            return True
        if time.monotonic() >= deadline:
            rep.pending.append(plan.plan_id)
            rep.waiting_for = [b.describe() for b in blocking]
            return False
        sleep(opts.poll)
        live = own.mgr.live_holders()


def _delete(repo: Repository, key: str, rep: GcReport) -> bool:
    try:
        repo.backend.delete(key)
    except ObjectLocked:
        rep.locked.append(key)
        return False
    return True


def _holder(lock: Lock) -> tuple[str, int, float]:
    return (lock.mgr.host, lock.mgr.pid, lock.held_since)


def _pack_of(key: str) -> bytes:
    return bytes.fromhex(key.rsplit("/", 1)[1])


def _bytes_by_pack(e: Entries) -> dict[bytes, int]:
    if not len(e):
        return {}
    sums = np.bincount(e.pack_no, weights=e.record_bytes(), minlength=len(e.pack_ids))
    return {e.pack_ids[i]: int(v) for i, v in enumerate(sums) if v}
