"""Replication to a second repository on file:// (and mem://): verified copies in write
order, the replica's own key, config last, resumable, idempotent, refuses foreign targets."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pytest

from pgdr import audit
from pgdr.audit.verify import read_log
from pgdr.catalog.wal import read as read_wal
from pgdr.catalog.wal import wal_key
from pgdr.errors import (
    NotARepository,
    ReplicaMismatch,
    StoragePermissionDenied,
    UsageError,
    WrongKey,
)
from pgdr.pg.wal_header import fake_segment
from pgdr.replicate.follow import ReplicaLink, follow
from pgdr.replicate.plan import category_of, replica_lag
from pgdr.replicate.run import replicate
from pgdr.repo.files import fetch_files, store_files
from pgdr.repo.keys import KeyFile, Passphrase, generate_key_file
from pgdr.repo.repository import Repository
from pgdr.repo.verify import verify
from pgdr.storage import StorageOptions, open_backend
from pgdr.storage.base import ObjectInfo, PutOptions
from pgdr.storage.memory import MemoryBackend
from pgdr.storage.wrappers import FaultPlan, FaultRule
from pgdr.wal import archive
from tests.fixtures.keys import PASS

pytestmark = pytest.mark.component
SEGMENT = "000000010000000000000001"
SYSID = 7312345678901234567


@pytest.fixture
def source(tmp_path: Path) -> Repository:
    """A file:// repository with two file sets (packs, index, manifests), a WAL file, a
    keyring and audit entries."""
    repo = Repository.init(open_backend(f"file://{tmp_path}/primary"), PASS, pack_size=256 << 10)
    data = tmp_path / "data"
    data.mkdir()
    for i in range(4):
        (data / f"f{i}").write_bytes(os.urandom(200_000) + bytes(100_000))
    store_files(repo, [data], "first", 64 << 10)
    (data / "f9").write_bytes(os.urandom(150_000))
    store_files(repo, [data], "second", 64 << 10)
    wal = tmp_path / SEGMENT
    wal.write_bytes(fake_segment(wal.name, SYSID, body=os.urandom(1 << 16)))
    archive.push(repo, wal)
    audit.record(repo, "backup", {"id": "first"})
    return repo


@pytest.fixture
def replica_key(tmp_path: Path) -> KeyFile:
    path = tmp_path / "replica.key"
    generate_key_file(path)
    return KeyFile(path)


def listing(url: str) -> dict[str, int]:
    return {i.key: i.size for i in open_backend(url).list()}


def test_replica_opens_alone_with_its_own_key_and_holds_everything(
    source: Repository, tmp_path: Path, replica_key: KeyFile
) -> None:
    url = f"file://{tmp_path}/replica"
    result = replicate(source, open_backend(url), replica_key, label="dr")
    assert result.first_replication and result.complete and not result.problems
    assert result.copied["data"] >= 2 and result.copied["wal"] == 1 and result.slot_added
    replica = Repository.open(open_backend(url), replica_key)
    assert replica.config == source.config and replica.master == source.master
    assert [s.label for _k, s in replica.key_slots() if s] == ["dr"]  # slots are not copied
    with pytest.raises(WrongKey):
        Repository.open(open_backend(url), PASS)  # the primary's KEK does not open it
    for name in ("first", "second"):
        fetch_files(replica, name, tmp_path / f"out-{name}")
    for f in (tmp_path / "data").iterdir():
        assert (tmp_path / "out-second" / "data" / f.name).read_bytes() == f.read_bytes()
    assert read_wal(replica, SEGMENT) == read_wal(source, SEGMENT)
    assert verify(replica, read_data=True).ok
    log = read_log(replica)
    assert log.ok and [e.action for e in log.entries] == ["backup", "replicate"]
    src = {k: v for k, v in listing(source.backend.url).items() if not k.startswith("keys/")}
    dst = {k: v for k, v in listing(url).items() if not k.startswith("keys/")}
    assert src == dst  # byte-for-byte the same objects (sizes; contents verified above)


def test_second_run_copies_nothing_then_only_what_is_new(
    source: Repository, tmp_path: Path, replica_key: KeyFile
) -> None:
    target = open_backend(f"file://{tmp_path}/replica")
    replicate(source, target, replica_key)
    again = replicate(source, target, replica_key)
    assert sum(again.copied.values()) == 0  # (its own audit entry was copied right away)
    assert again.slot_added is None and not again.first_replication
    (tmp_path / "data" / "new").write_bytes(os.urandom(50_000))
    store_files(source, [tmp_path / "data" / "new"], "third", 64 << 10)
    third = replicate(source, target, replica_key)
    assert third.copied["manifests"] == 1 and third.copied["data"] == 1
    lag = replica_lag(source.backend.list(), target.list(), _now())
    assert lag.objects_behind == 0 and lag.initialized


def _now() -> datetime:
    return datetime.now(UTC)


class Recording(MemoryBackend):
    """Remembers the order of puts."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.puts: list[str] = []

    def put(self, key: str, data: bytes | BinaryIO, options: PutOptions | None = None) -> None:
        self.puts.append(key)
        super().put(key, data, options)


def test_write_order_on_the_replica_and_config_last(
    source: Repository, replica_key: KeyFile
) -> None:
    target = Recording(f"order-{os.getpid()}-{id(source)}")
    replicate(source, target, replica_key)
    puts = [k for k in target.puts if not k.startswith("locks/")]
    assert puts[0].startswith("keys/")  # the replica's own slot, before anything else
    assert puts[-2] == "config" and puts[-1].startswith("audit/")  # then the replicate entry
    order = ["keyring", "data", "index", "wal", "manifests", "audit"]
    ranks = [order.index(category_of(k) or "") for k in puts[1:-2]]
    assert ranks == sorted(ranks) and set(ranks) == set(range(len(order)))


def test_interrupted_replication_is_no_repository_and_resumes(
    source: Repository, tmp_path: Path, replica_key: KeyFile
) -> None:
    url = f"file://{tmp_path}/replica"
    faults = FaultPlan(
        [
            FaultRule(
                frozenset({"put"}), "index/", calls=frozenset({1}), error=StoragePermissionDenied
            )
        ]
    )
    flaky = open_backend(url, StorageOptions(faults=faults))
    first = replicate(source, flaky, replica_key)
    assert not first.complete and [p["object"][:6] for p in first.problems] == ["index/"]
    assert "config" not in listing(url)
    with pytest.raises(NotARepository):
        Repository.open(open_backend(url), replica_key)
    second = replicate(source, open_backend(url), replica_key)
    assert second.complete and not second.problems and second.copied["index"] == 1
    assert second.slot_added is None  # the slot written by the first run still opens it
    assert verify(Repository.open(open_backend(url), replica_key), read_data=True).ok


def test_a_damaged_source_object_is_never_copied(
    source: Repository, tmp_path: Path, replica_key: KeyFile
) -> None:
    pack = next(i.key for i in source.backend.list("data/"))
    path = tmp_path / "primary" / pack
    raw = bytearray(path.read_bytes())
    raw[100] ^= 0xFF
    path.write_bytes(bytes(raw))
    url = f"file://{tmp_path}/replica"
    result = replicate(source, open_backend(url), replica_key)
    assert [p["object"] for p in result.problems] == [pack]
    assert "does not match its name" in result.problems[0]["message"]
    assert pack not in listing(url) and "config" not in listing(url)
    assert not result.complete


def test_corruption_while_reading_is_caught_before_the_replica(
    source: Repository, tmp_path: Path, replica_key: KeyFile
) -> None:
    faults = FaultPlan(
        [FaultRule(frozenset({"get"}), "manifests/", calls=frozenset({1}), corrupt=True)]
    )
    flaky = Repository.open(open_backend(source.backend.url, StorageOptions(faults=faults)), PASS)
    result = replicate(flaky, open_backend(f"file://{tmp_path}/replica"), replica_key)
    assert len(result.problems) == 1 and result.problems[0]["object"].startswith("manifests/")
    assert "authentication failed" in result.problems[0]["message"]


def test_foreign_targets_are_refused_before_anything_is_written(
    source: Repository, tmp_path: Path, replica_key: KeyFile
) -> None:
    other_url = f"file://{tmp_path}/other"
    Repository.init(open_backend(other_url), Passphrase("another one", scrypt_n=1024))
    before = listing(other_url)
    with pytest.raises(ReplicaMismatch, match="another pgdr repository"):
        replicate(source, open_backend(other_url), replica_key)
    assert listing(other_url) == before
    # a half-copied replica of another repository: a key slot but no config
    half = open_backend(f"file://{tmp_path}/half")
    slot_key = next(k for k in before if k.startswith("keys/"))
    half.put(slot_key, open_backend(other_url).get(slot_key))
    with pytest.raises(ReplicaMismatch, match="another repository"):
        replicate(source, half, replica_key)
    own = listing(source.backend.url)
    with pytest.raises(UsageError, match="onto itself"):
        replicate(source, open_backend(source.backend.url), replica_key)
    assert listing(source.backend.url) == own


def test_encrypted_source_needs_a_key_for_the_replica(source: Repository, tmp_path: Path) -> None:
    target = open_backend(f"file://{tmp_path}/replica")
    with pytest.raises(UsageError, match="no key configured"):
        replicate(source, target, None)
    assert "config" not in {i.key for i in target.list()}


def test_wal_follows_into_a_complete_replica_and_a_down_replica_is_skipped(
    source: Repository, tmp_path: Path, replica_key: KeyFile
) -> None:
    replica = open_backend(f"file://{tmp_path}/replica")
    wal = tmp_path / "000000010000000000000002"
    wal.write_bytes(fake_segment(wal.name, SYSID, body=os.urandom(1 << 15)))
    archive.push(source, wal)
    key = wal_key(wal.name)
    problems = follow(source, [ReplicaLink("dr", replica)], [key])
    assert "not a replica yet" in problems["dr"]
    replicate(source, replica, replica_key)
    wal3 = tmp_path / "000000010000000000000003"
    wal3.write_bytes(fake_segment(wal3.name, SYSID, body=os.urandom(1 << 15)))
    archive.push(source, wal3)
    # the failure above marked dr down: this push skips it rather than waiting on it
    problems = follow(source, [ReplicaLink("dr", replica)], [wal_key(wal3.name)])
    assert problems["dr"].startswith("skipped") and replica.stat(wal_key(wal3.name)) is None
    for marker in (Path(os.environ["PGDR_STATE_DIR"]) / "replica-down").iterdir():
        marker.unlink()
    assert follow(source, [ReplicaLink("dr", replica)], [wal_key(wal3.name)]) == {}
    opened = Repository.open(replica, replica_key)
    assert read_wal(opened, wal3.name) == wal3.read_bytes()
    # a replica that cannot be written to
    dead = open_backend(
        f"file://{tmp_path}/replica",
        StorageOptions(
            faults=FaultPlan(
                [
                    FaultRule(
                        frozenset({"get"}), "config", probability=1.0, error=StoragePermissionDenied
                    )
                ]
            )
        ),
    )
    assert "injected fault" in follow(source, [ReplicaLink("dr2", dead)], [key])["dr2"]


def test_wal_ingest_is_summarized_not_recorded_per_file(source: Repository) -> None:
    from pgdr.audit.ingest import note_wal_stored

    before = len(read_log(source).entries)
    for i in range(3):
        assert note_wal_stored(source, [(f"00000001000000000000001{i}", 16)], 3600) is None
    assert len(read_log(source).entries) == before
    key = note_wal_stored(source, [("000000010000000000000020", 16)], 0)
    entry = read_log(source).entries[-1]
    assert entry.key == key and entry.action == "wal-ingest"
    assert entry.details["files"] == 4 and entry.details["first"] == "000000010000000000000010"
    assert entry.details["last"] == "000000010000000000000020"


def test_the_async_uploader_followers_copy_each_batch_and_summarize_it(
    source: Repository, tmp_path: Path, replica_key: KeyFile
) -> None:
    from pgdr.cli.wal_followers import Followers
    from pgdr.wal.spool import Shipped

    replica = open_backend(f"file://{tmp_path}/replica")
    replicate(source, replica, replica_key)
    names = ["000000010000000000000002", "000000010000000000000003"]
    for n in names:
        (tmp_path / n).write_bytes(fake_segment(n, SYSID, body=os.urandom(1 << 14)))
        archive.push(source, tmp_path / n)
    Followers([ReplicaLink("dr", replica)], summary_s=0).after(
        source, [Shipped(n, "stored", 1 << 14) for n in names]
    )
    for n in names:
        assert replica.stat(wal_key(n)) is not None
    entry = read_log(source).entries[-1]
    assert entry.action == "wal-ingest" and entry.details["files"] == 2


class AppendsWhileListed(MemoryBackend):
    """Another host appends an audit entry right after replication listed ``audit/``."""

    hook: Callable[[], object] | None = None

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        items = list(super().list(prefix))
        if prefix == "audit/" and self.hook is not None:
            hook, self.hook = self.hook, None
            hook()
        return iter(items)


def test_the_replicas_audit_chain_stays_whole_when_entries_arrive_during_listing(
    replica_key: KeyFile,
) -> None:
    name = f"racing-{os.getpid()}-{id(replica_key)}"
    source = Repository.init(AppendsWhileListed(name), PASS, pack_size=1 << 20)
    audit.record(source, "backup", {"n": 1})
    other_host = Repository(MemoryBackend(name), source.config, source.master, source.keyring)
    source.backend.hook = lambda: audit.record(other_host, "wal-ingest", {"files": 1})  # type: ignore[attr-defined]
    target = MemoryBackend(f"{name}-replica")
    replicate(source, target, replica_key)
    # the replicate entry names the wal-ingest entry the listing missed: both arrived, in order
    log = read_log(Repository.open(target, replica_key), use_checkpoint=False)
    assert log.ok, log.problems
    assert [e.action for e in log.entries] == ["backup", "wal-ingest", "replicate"]
