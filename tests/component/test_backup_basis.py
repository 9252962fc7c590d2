"""The type a backup asked as incremental is taken as, read from a repository: full until a
full of this cluster reaches the server's timeline (pgdr.backup.basis)."""

from __future__ import annotations

import pytest

from pgdr.backup.basis import backup_type
from pgdr.pg.wal import history_name
from pgdr.repo.format import ObjectType
from pgdr.repo.repository import Repository
from pgdr.repo.writer import BlobWriter
from pgdr.wal.archive import wal_key
from tests.fixtures.manifests import manifest_doc

pytestmark = pytest.mark.component
SYS = "7311111111111111111"


def _store(repo: Repository, bid: str, **fields: object) -> None:
    doc = manifest_doc(id=bid, type="full" if "ZF" in bid else "incr", system_identifier=SYS)
    doc.update(fields)
    with BlobWriter(repo) as w:
        w.commit_manifest("backup", bid, doc, w.store_chunks([bid.encode()]).ids)


def _history(repo: Repository, tli: int, text: str) -> None:
    key = wal_key(history_name(tli))
    repo.backend.put(key, repo.sealer.seal(ObjectType.WAL, text.encode(), key.encode()))


def test_incremental_becomes_full_until_a_full_reaches_the_timeline(repo: Repository) -> None:
    assert backup_type(repo, "incr", SYS, 1) == "full"  # empty repository
    assert backup_type(repo, "full", SYS, 1) == "full"
    _store(repo, "20261124T030000ZI-000001")  # an incremental alone is no basis
    assert backup_type(repo, "incr", SYS, 1) == "full"
    _store(repo, "20261124T040000ZF-000002", start_lsn="0/2000028")
    assert backup_type(repo, "incr", SYS, 1) == "incr"
    # promoted to timeline 2 at 0/5000000: its history file is not archived yet
    assert backup_type(repo, "incr", SYS, 2) == "full"
    _history(repo, 2, "1\t0/5000000\tno recovery target specified\n")
    assert backup_type(repo, "incr", SYS, 2) == "incr"  # the full on timeline 1 leads here
    # a timeline that left timeline 1 before the full started: the full is not on its path
    _history(repo, 3, "1\t0/1000000\tbefore the full\n")
    assert backup_type(repo, "incr", SYS, 3) == "full"
    _store(repo, "20261125T030000ZF-000003", timeline=3, start_lsn="0/6000028")
    assert backup_type(repo, "incr", SYS, 3) == "incr"
    assert backup_type(repo, "incr", "another cluster", 3) == "full"
