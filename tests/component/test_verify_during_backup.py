"""A verify that runs while a backup finishes (the daemon schedules them independently)
reports no damage: the backup's index object and WAL came after verify read the index and
listed the WAL, then its manifest appeared in verify's listing of manifests. CI saw the
daemon's verify_failed alert fire, resolve and fire again from this race."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from pgdr.catalog.load import load_backups
from pgdr.catalog.manifest import KIND
from pgdr.catalog.wal import wal_key
from pgdr.repo.format import ObjectType
from pgdr.repo.repository import Repository
from pgdr.repo.verify import verify
from pgdr.repo.writer import BlobWriter
from pgdr.restore.coverage import check_coverage
from pgdr.storage.base import ObjectInfo
from pgdr.storage.memory import MemoryBackend
from tests.component.conftest import PASS
from tests.fixtures.manifests import manifest_doc

pytestmark = pytest.mark.component
SEG = 16 << 20
_names = itertools.count()


class ListHookBackend(MemoryBackend):
    """Runs ``hook`` once, the first time a listing under ``manifests`` is asked for."""

    def __init__(self) -> None:
        super().__init__(f"list-hook-{next(_names)}")
        self.hook: Callable[[], None] | None = None

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        if self.hook is not None and prefix.startswith("manifests"):
            hook, self.hook = self.hook, None
            hook()
        return super().list(prefix)


def seg(n: int) -> str:
    return f"00000001{0:08X}{n:08X}"


def backup(repo: Repository, n: int, content: bytes) -> str:
    """A backup whose one file is ``content`` and whose WAL is segment ``n``, archived first
    (as a real backup waits for its WAL before it writes its manifest)."""
    key = wal_key(seg(n))
    repo.backend.put(key, repo.sealer.seal(ObjectType.WAL, b"\0" * 64, key.encode()))
    bid = f"2026112{n}T030000ZF-00000{n}"
    with BlobWriter(repo) as w:
        stored = w.store_chunks([content])
        files = [
            {"path": "PG_VERSION", "kind": "file", "mode": 0o600, "mtime": 1.0,
             "size": len(content), "refs": [0, 1], "chunk": 1 << 20},
        ]  # fmt: skip
        doc = manifest_doc(
            id=bid,
            stop_time=f"2026-11-2{n}T03:00:05+00:00",
            start_lsn=f"0/{n * SEG + 40:X}",
            stop_lsn=f"0/{n * SEG + 400:X}",
            wal=[seg(n)],
            backup_label="START WAL LOCATION: ...\n",
            files=files,
        )
        w.commit_manifest(KIND, bid, doc, stored.ids)
    return bid


def test_a_backup_finishing_during_a_verify_is_not_damage() -> None:
    backend = ListHookBackend()
    repo = Repository.init(backend, PASS, pack_size=1 << 20)
    backup(repo, 2, b"15\n")
    late: list[str] = []
    backend.hook = lambda: late.append(backup(repo, 3, b"a chunk no earlier backup has\n"))
    rep = verify(repo)
    check_coverage(repo, load_backups(repo), rep)
    assert late, "the backup did not finish during the verify"
    assert rep.ok, rep.problems
    assert rep.checked["manifest"] == 2 and rep.checked["backup"] == 2


def test_a_real_hole_is_still_named() -> None:
    backend = ListHookBackend()
    repo = Repository.init(backend, PASS, pack_size=1 << 20)
    backup(repo, 2, b"15\n")
    backend.delete(wal_key(seg(2)))
    rep = verify(repo)
    check_coverage(repo, load_backups(repo), rep)
    assert not rep.ok and any(seg(2) in p.message for p in rep.problems), rep.problems
