"""The audit log in a repository: appends from concurrent hosts, and tampering with any
single entry — edit, removal, reordering, with or without the key — named by verify."""

from __future__ import annotations

import getpass
import json
import os
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from pgdr import audit
from pgdr.audit.entry import canonical, seal_entry
from pgdr.audit.log import append, list_keys
from pgdr.audit.verify import read_log
from pgdr.repo.format import ObjectType
from pgdr.repo.repository import Repository
from pgdr.storage.base import ObjectInfo
from pgdr.storage.memory import MemoryBackend
from tests.fixtures.keys import PASS

pytestmark = pytest.mark.component
N = 5


def test_record_says_who_where_when_what(repo: Repository) -> None:
    key = audit.record(repo, "backup", {"id": "20261124T030000ZF", "bytes": 123})
    assert key is not None and key.startswith("audit/000000000001-")
    report = read_log(repo)
    assert report.ok and len(report.entries) == 1
    e = report.entries[0]
    assert (e.action, e.details) == ("backup", {"id": "20261124T030000ZF", "bytes": 123})
    assert (e.user, e.uid, e.host, e.pid) == (
        getpass.getuser(),
        os.getuid(),
        socket.gethostname(),
        os.getpid(),
    )
    assert e.time.endswith("+00:00") and e.prev == ()
    second = audit.record(repo, "restore", {})
    assert read_log(repo).entries[1].prev == (key,) and second is not None


def test_record_never_fails_the_operation_unless_strict(repo: Repository) -> None:
    class Broken:
        url = "mem://broken"

        def __getattr__(self, name: str) -> Callable[..., object]:
            def fail(*_a: object, **_k: object) -> object:
                from pgdr.errors import StorageUnreachable

                raise StorageUnreachable("repository unreachable")

            return fail

    broken = Repository(Broken(), repo.config, repo.master, repo.keyring)  # type: ignore[arg-type]
    assert audit.record(broken, "backup", {}) is None
    from pgdr.errors import StorageUnreachable

    with pytest.raises(StorageUnreachable):
        audit.record(broken, "backup", {}, strict=True)


class ListBarrier(MemoryBackend):
    """Both appenders list ``audit/`` before either writes: the race of two hosts."""

    def __init__(self, name: str, barrier: threading.Barrier) -> None:
        super().__init__(name)
        self.barrier = barrier

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        items = list(super().list(prefix))
        if prefix == "audit/":
            self.barrier.wait(timeout=10)
        return iter(items)


def test_two_hosts_appending_at_once_fork_and_the_next_append_merges(
    repo: Repository, backend: MemoryBackend
) -> None:
    audit.record(repo, "repo-init", {})
    barrier = threading.Barrier(2)
    racers = [
        Repository(
            ListBarrier(backend.url[len("mem://") :], barrier),
            repo.config,
            repo.master,
            repo.keyring,
        )
        for _ in range(2)
    ]
    threads = [
        threading.Thread(target=append, args=(r, "backup", {"host": i}))
        for i, r in enumerate(racers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = list_keys(repo)
    assert [k[:18] for k in keys] == ["audit/000000000001", *["audit/000000000002"] * 2]
    assert read_log(repo).ok  # a fork is not tampering
    merged = append(repo, "restore", {})
    assert merged.seq == 3 and set(merged.prev) == set(keys[1:])
    assert read_log(repo).ok


# --- tampering: every position x every kind, each must name the entry -----------------------


def _flip(repo: Repository, key: str) -> None:
    data = bytearray(repo.backend.get(key))
    data[len(data) // 2] ^= 0x01
    repo.backend.put(key, bytes(data))


def _edit_with_key(repo: Repository, key: str) -> None:
    plain = repo.sealer.open(repo.backend.get(key), key.encode(), key, ObjectType.AUDIT)
    doc = json.loads(plain)
    doc["details"] = {"id": "forged"}
    repo.backend.put(key, repo.sealer.seal(ObjectType.AUDIT, canonical(doc), key.encode()))


def _remove(repo: Repository, key: str) -> None:
    repo.backend.delete(key)


def _swap_with_neighbour(repo: Repository, key: str) -> None:
    keys = list_keys(repo)
    i = keys.index(key)
    other = keys[i + 1] if i + 1 < len(keys) else keys[i - 1]
    a, b = repo.backend.get(key), repo.backend.get(other)
    repo.backend.put(key, b)
    repo.backend.put(other, a)


def _move_to_end_with_key(repo: Repository, key: str) -> None:
    """Reorder with the key: re-seal the entry, correctly named, as the newest one."""
    plain = repo.sealer.open(repo.backend.get(key), key.encode(), key, ObjectType.AUDIT)
    doc = json.loads(plain)
    keys = list_keys(repo)
    doc["seq"], doc["prev"] = len(keys) + 1, [keys[-1]]
    new_key, sealed = seal_entry(repo, doc)
    repo.backend.put(new_key, sealed)
    repo.backend.delete(key)


def _rename_seq(repo: Repository, key: str) -> None:
    """Reorder without the key: move the object to another sequence number."""
    seq = int(key[6:18])
    moved = f"audit/{seq + 100:012d}{key[18:]}"
    repo.backend.put(moved, repo.backend.get(key))
    repo.backend.delete(key)


TAMPER = {
    "flip-a-byte": _flip,
    "edit-with-key": _edit_with_key,
    "remove": _remove,
    "swap-with-neighbour": _swap_with_neighbour,
    "move-to-end-with-key": _move_to_end_with_key,
    "rename-to-other-seq": _rename_seq,
}


@pytest.mark.parametrize("position", range(1, N + 1))
@pytest.mark.parametrize("tamper", list(TAMPER), ids=list(TAMPER))
def test_tampering_with_any_single_entry_is_detected_naming_it(
    repo: Repository, tamper: str, position: int
) -> None:
    for i in range(N):
        audit.record(repo, "backup", {"n": i})
    keys = list_keys(repo)
    assert len(keys) == N and read_log(repo).ok  # the checkpoint now names entry N
    victim = keys[position - 1]
    TAMPER[tamper](repo, victim)
    report = read_log(repo)
    assert not report.ok
    assert victim in {p.entry for p in report.problems}, report.problems


def test_a_host_that_never_saw_the_newest_entry_cannot_detect_its_removal(
    backend: MemoryBackend,
) -> None:
    """The documented limit (design §8g): without a checkpoint, dropping the newest entry
    leaves a valid chain. The host's checkpoint is what bounds it."""
    repo = Repository.init(backend, PASS, pack_size=1 << 20)
    for i in range(3):
        audit.record(repo, "backup", {"n": i})
    newest = list_keys(repo)[-1]
    repo.backend.delete(newest)
    assert read_log(repo, use_checkpoint=False).ok
    assert [p.entry for p in read_log(repo).problems] == [newest]


def test_verify_raises_the_checkpoint_and_damaged_entries_do_not_block_appends(
    repo: Repository,
) -> None:
    for i in range(3):
        audit.record(repo, "backup", {"n": i})
    keys = list_keys(repo)
    _flip(repo, keys[2])
    key = audit.record(repo, "restore", {})  # still appends, naming the damaged tip
    assert key is not None
    report = read_log(repo)
    assert [p.entry for p in report.problems] == [keys[2]]
    # The damaged entry's own predecessor is unknown, so it is named too (harmless).
    assert report.entries[-1].prev == (keys[1], keys[2])
