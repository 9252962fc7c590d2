"""Garbage collection on the memory backend: mark & sweep, repacking, the deletion-plan
protocol against writers that were running (or started) around the plan, and a stress run
of writers and GC together."""

from __future__ import annotations

import os
import random
import threading
import time

import pytest

from pgdr.repo import format as fmt
from pgdr.repo.gc import GcOptions, collect
from pgdr.repo.locks import LockManager
from pgdr.repo.plans import list_plans
from pgdr.repo.reader import BlobReader
from pgdr.repo.repository import Repository
from pgdr.repo.verify import verify
from pgdr.repo.writer import BlobWriter
from tests.fixtures.blobs import CHUNK, keys, read, store
from tests.fixtures.keys import PASS

pytestmark = pytest.mark.component


def total(repo: Repository, prefix: str = "") -> int:
    return sum(i.size for i in repo.backend.list(prefix))


def assert_sound(repo: Repository, expected: dict[str, bytes]) -> None:
    fresh = Repository.open(repo.backend, PASS)
    rep = verify(fresh, read_data=True)
    assert rep.ok, rep.problems
    for name, data in expected.items():
        assert read(fresh, name) == data, name


def test_unreferenced_packs_go_and_referenced_data_stays(repo: Repository) -> None:
    a, c = os.urandom(3 << 20), os.urandom(2 << 20)
    store(repo, "a", a)
    store(repo, "b", a[: 1 << 20] + c)
    before = total(repo, fmt.DATA_PREFIX)
    repo.delete_manifest("files", "a")
    rep = collect(repo)
    assert rep.complete and rep.packs_deleted >= 2 and rep.bytes_deleted >= 2 << 20
    assert total(repo, fmt.DATA_PREFIX) < before - (2 << 20)
    assert not keys(repo, fmt.PLANS_PREFIX)
    assert_sound(repo, {"b": a[: 1 << 20] + c})
    again = collect(repo)  # nothing left to do
    assert again.packs_deleted == 0 and again.index_files_written == 0


def test_mostly_empty_packs_are_repacked_and_old_readers_follow(repo: Repository) -> None:
    big = os.urandom(4 << 20)  # four 1 MiB packs
    keep = b"".join(big[i : i + CHUNK] for i in range(0, len(big), 1 << 20))  # 1 chunk/pack
    store(repo, "big", big)
    store(repo, "keep", keep)
    stale = Repository.open(repo.backend, PASS)
    stale.index  # noqa: B018 -- readers that loaded the index before GC ran
    stale_reader = Repository.open(repo.backend, PASS)
    stale_reader.index  # noqa: B018
    old_packs = keys(repo, fmt.DATA_PREFIX)
    old_index = keys(repo, fmt.INDEX_PREFIX)
    repo.delete_manifest("files", "big")
    rep = collect(repo, GcOptions(repack_threshold=0.5))
    assert rep.packs_repacked == 4 and rep.blobs_moved == 4 and rep.packs_written == 1
    assert not (old_packs & keys(repo, fmt.DATA_PREFIX))
    assert not (old_index & keys(repo, fmt.INDEX_PREFIX)), "superseded index objects retired"
    assert total(repo, fmt.DATA_PREFIX) < 400_000
    assert read(stale, "keep") == keep  # stale index: the reader reloads and finds the moves
    m = stale_reader.get_manifest("files", "keep")
    with BlobReader(stale_reader) as r:  # coalesced ranged reads take the same way
        assert b"".join(r.iter_read(m.ref(i) for i in range(m.ref_count()))) == keep
    assert_sound(repo, {"keep": keep})


def test_dry_run_changes_nothing(repo: Repository) -> None:
    store(repo, "a", os.urandom(2 << 20))
    repo.delete_manifest("files", "a")
    before = {i.key: i.size for i in repo.backend.list()}
    rep = collect(repo, GcOptions(dry_run=True))
    assert rep.dry_run and rep.packs_deleted == 2
    assert {i.key: i.size for i in repo.backend.list()} == before


def test_plan_waits_for_writers_live_at_plan_time(repo: Repository) -> None:
    store(repo, "a", os.urandom(2 << 20))
    repo.delete_manifest("files", "a")
    packs = keys(repo, fmt.DATA_PREFIX)
    writer = LockManager(repo.backend, pid=os.getpid()).acquire("shared", "backup")
    rep = collect(repo, GcOptions(wait=0.3, poll=0.05))
    assert rep.pending and "shared, purpose backup" in rep.waiting_for[0]
    assert keys(repo, fmt.DATA_PREFIX) == packs, "nothing deleted while the writer runs"
    (plan,) = list_plans(repo.backend)
    assert {fmt.pack_key(p) for p in plan.packs} == packs and plan.waits
    with BlobWriter(repo) as w:  # a writer starting now sees the plan
        assert {fmt.pack_key(p) for p in w._planned} == packs
    writer.release()
    done = collect(repo)
    assert done.complete and done.plans_finished == 1 and done.packs_deleted == 2
    assert not keys(repo, fmt.DATA_PREFIX) and not list_plans(repo.backend)


def test_a_writer_that_deduplicated_against_a_planned_pack_keeps_it(repo: Repository) -> None:
    """The writer's lock was live when GC planned: it loaded the index before the plan,
    deduplicated against the doomed pack, and committed. The sweep spares the pack."""
    data = os.urandom(1 << 20)
    store(repo, "old", data)
    repo.delete_manifest("files", "old")
    lock = LockManager(repo.backend).acquire("shared", "backup")
    w = BlobWriter(repo)  # index loaded now: "old"'s blobs look stored
    assert collect(repo, GcOptions(wait=0)).pending
    ids = w.store_chunks([data[i : i + CHUNK] for i in range(0, len(data), CHUNK)])
    assert w.stats.blobs_new == 0, "deduplicated against the planned pack"
    w.commit_manifest("files", "new", {}, ids.ids)
    w.close()
    lock.release()
    rep = collect(repo)
    assert rep.complete and rep.spared_packs == 1 and rep.packs_deleted == 0
    assert_sound(repo, {"new": data})


def test_a_writer_after_the_plan_stores_again_instead_of_deduplicating(
    repo: Repository,
) -> None:
    """Blobs only an abandoned (indexed, never committed) write holds: a writer starting
    after the plan must not reference them, or the sweep would delete what it needs."""
    data = os.urandom(1 << 20)
    with BlobWriter(repo) as w:  # a crashed backup: packs and index, no manifest
        w.store_chunks([data[i : i + CHUNK] for i in range(0, len(data), CHUNK)])
        w.flush()
    blocker = LockManager(repo.backend, pid=os.getpid()).acquire("shared", "other")
    assert collect(repo, GcOptions(wait=0)).pending
    store(repo, "after-plan", data)  # lock written after the plan: sees it
    blocker.release()
    rep = collect(repo)
    assert rep.complete and rep.packs_deleted == 1 and rep.spared_packs == 0
    assert_sound(repo, {"after-plan": data})


def test_planned_packs_are_not_deduplicated_against_by_later_writers(repo: Repository) -> None:
    """W1 uploads a pack but indexes it only after GC listed the index (so GC plans it as
    unindexed), then dies without a manifest. W3 starts after the plan and is still running
    when the sweep deletes the pack: had it deduplicated against W1's index, its manifest
    would dangle. Writers skip planned packs, so it stored its own copy."""
    data = os.urandom(1 << 20)
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
    w1_lock = LockManager(repo.backend).acquire("shared", "w1")
    w1 = BlobWriter(repo)
    w1.store_chunks([*chunks, os.urandom(CHUNK)])  # the first pack fills and uploads
    deadline = time.monotonic() + 10
    while not keys(repo, fmt.DATA_PREFIX) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert collect(repo, GcOptions(wait=0)).pending  # W1's pack is unindexed: planned
    w1._wait_uploads()
    w1._write_index()  # ... its index lands after GC's listing; then W1 dies
    w1.close()
    w1_lock.release()
    w3_lock = LockManager(repo.backend).acquire("shared", "w3")  # after the plan
    w3 = BlobWriter(Repository.open(repo.backend, PASS))
    ids = w3.store_chunks(chunks)
    assert w3.stats.blobs_new == len(chunks), "stored again, not deduplicated"
    rep = collect(repo, GcOptions(wait=0))  # W3 started after the plan: not waited for
    assert rep.plans_finished == 1 and rep.packs_deleted == 1  # W1's pack is gone
    assert rep.pending, "W3's own unindexed pack is planned, and waits for W3"
    w3.commit_manifest("files", "w3", {}, ids.ids)
    w3.close()
    w3_lock.release()
    assert collect(repo).complete
    assert_sound(repo, {"w3": data})


def test_unencrypted_pack_written_again_after_the_plan_is_spared(backend) -> None:  # type: ignore[no-untyped-def]
    """Unencrypted envelopes are deterministic: a writer that stores exactly the blobs of
    a planned pack again recreates the same pack name. The sweep must not delete it."""
    repo = Repository.init(backend, None, unencrypted=True, pack_size=1 << 20)
    data = os.urandom(1 << 20)
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
    with BlobWriter(repo) as w:  # abandoned write: pack + index, no manifest
        w.store_chunks(chunks)
        w.flush()
    (pack,) = keys(repo, fmt.DATA_PREFIX)
    blocker = LockManager(repo.backend, pid=os.getpid()).acquire("shared", "other")
    assert collect(repo, GcOptions(wait=0)).pending
    lock = LockManager(repo.backend).acquire("shared", "again")
    w = BlobWriter(Repository.open(repo.backend, None, allow_unencrypted=True))
    ids = w.store_chunks(chunks)
    w.flush()
    assert keys(repo, fmt.DATA_PREFIX) == {pack}, "the very same pack name again"
    blocker.release()
    collect(repo, GcOptions(wait=0))
    w.commit_manifest("files", "again", {}, ids.ids)
    w.close()
    lock.release()
    rep = verify(Repository.open(repo.backend, None, allow_unencrypted=True), read_data=True)
    assert rep.ok, rep.problems


def test_writers_and_gc_together_never_lose_a_referenced_blob(repo: Repository) -> None:
    """Writers commit file sets drawn from a shared pool of chunks (heavy deduplication)
    while a collector deletes older sets and collects with aggressive repacking."""
    pool = [os.urandom(CHUNK) for _ in range(48)]
    committed: dict[str, bytes] = {}
    guard = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        rng = random.Random(n)
        i = 0
        try:
            while not stop.is_set():
                data = b"".join(rng.choice(pool) for _ in range(rng.randint(4, 24)))
                name = f"w{n}-{i}"
                store(repo, name, data)
                with guard:
                    committed[name] = data
                i += 1
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    rng = random.Random(99)
    runs = 0
    deadline = time.monotonic() + 4
    try:
        while time.monotonic() < deadline:
            with guard:
                victims = rng.sample(sorted(committed), k=len(committed) // 2)
                for v in victims:
                    del committed[v]
            with LockManager(repo.backend).acquire("delete", "expire", wait=5) as lock:
                for v in victims:
                    repo.delete_manifest("files", v)
                rep = collect(repo, GcOptions(repack_threshold=0.2, wait=5, poll=0.02), lock=lock)
            assert rep.complete
            runs += 1
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    assert runs >= 3
    final = collect(repo, GcOptions(repack_threshold=0.2))
    assert final.complete
    assert_sound(repo, committed)
