"""A command reads each backup manifest once (docs/design.md "Catalog"): a restore plans and
materializes from one read of every manifest, and a drill hands what it read to choose a
backup on to the restore instead of reading the manifests again. A verify lists the WAL and
reads the timeline histories once; the daemon, collecting again and again, reads each history
file once."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgdr.catalog.manifest import KIND, manifest_key
from pgdr.catalog.wal import wal_key
from pgdr.drill.engine import DrillEnv, DrillRequest, run_drill
from pgdr.drill.settings import DrillSettings
from pgdr.repo.format import ObjectType
from pgdr.repo.repository import Repository
from pgdr.repo.writer import BlobWriter
from pgdr.restore.plan import Target
from pgdr.restore.run import restore
from tests.component.conftest import PASS
from tests.fixtures.counting import CountingBackend
from tests.fixtures.manifests import manifest_doc

pytestmark = pytest.mark.component
SEG = 16 << 20
BACKUPS = ("20261124T030000ZF-000001", "20261125T030000ZI-000002", "20261126T030000ZI-000003")


def seg(n: int) -> str:
    return f"00000001{0:08X}{n:08X}"


@pytest.fixture
def stocked() -> tuple[CountingBackend, Repository]:
    backend = CountingBackend()
    repo = Repository.init(backend, PASS, pack_size=1 << 20)
    for n in range(2, 2 + len(BACKUPS)):
        key = wal_key(seg(n))
        backend.put(key, repo.sealer.seal(ObjectType.WAL, b"\0" * 64, key.encode()))
    for i, bid in enumerate(BACKUPS):
        with BlobWriter(repo) as w:
            stored = w.store_chunks([b"15\n"])
            files = [
                {"path": "base", "kind": "dir", "mode": 0o700, "mtime": 1.0},
                {"path": "PG_VERSION", "kind": "file", "mode": 0o600, "mtime": 1.0, "size": 3,
                 "refs": [0, 1], "chunk": 1 << 20},
            ]  # fmt: skip
            doc = manifest_doc(
                id=bid,
                stop_time=f"2026-11-2{4 + i}T03:00:05+00:00",
                start_lsn=f"0/{(2 + i) * SEG + 40:X}",
                stop_lsn=f"0/{(2 + i) * SEG + 400:X}",
                wal=[seg(2 + i)],
                backup_label="START WAL LOCATION: ...\n",
                files=files,
            )
            w.commit_manifest(KIND, bid, doc, stored.ids)
    backend.gets.clear()
    return backend, repo


def test_a_restore_reads_each_backup_manifest_once(
    stocked: tuple[CountingBackend, Repository], tmp_path: Path
) -> None:
    backend, repo = stocked
    result = restore(
        repo, tmp_path / "data", target=Target("latest"), restore_command="false", archive=True
    )
    assert result.backup_id == BACKUPS[-1]
    assert (tmp_path / "data" / "PG_VERSION").read_bytes() == b"15\n"
    assert backend.reads_under(manifest_key("")) == {manifest_key(b): 1 for b in BACKUPS}


def test_a_drill_reads_each_backup_manifest_once(
    stocked: tuple[CountingBackend, Repository], tmp_path: Path
) -> None:
    backend, repo = stocked
    settings = DrillSettings(state_dir=tmp_path / "state", sandbox_dir=tmp_path / "sandboxes")
    env = DrillEnv()
    rec = run_drill(repo, settings, DrillRequest(backup=BACKUPS[0]), env)
    # the files are no PostgreSQL data directory: the drill gets past the fetch step (which
    # reads the manifests) and fails when the instance starts
    assert rec.backup["id"] == BACKUPS[0]
    assert [s.name for s in rec.steps][:1] == ["fetch"] and rec.result == "failed"
    assert backend.reads_under(manifest_key("")) == {manifest_key(b): 1 for b in BACKUPS}


def test_an_authentic_but_unusable_manifest_is_named_not_skipped(
    stocked: tuple[CountingBackend, Repository],
) -> None:
    from pgdr.catalog.load import load_backups
    from pgdr.restore.coverage import wal_holes

    _backend, repo = stocked
    repo.put_manifest(KIND, "X", {"id": "X", "stop_time": "2026-11-27T03:00:00+00:00"})
    catalog = load_backups(repo)
    assert [m.id for m in catalog.manifests] == list(BACKUPS)
    assert catalog.damaged == catalog.unusable
    assert set(catalog.damaged) == {"X"} and manifest_key("X") in catalog.damaged["X"]
    assert [h.object for h in wal_holes(repo, catalog)] == [manifest_key("X")]


def test_a_malformed_catalog_snapshot_makes_the_manifest_unusable(
    stocked: tuple[CountingBackend, Repository],
) -> None:
    from pgdr.catalog.load import load_backups

    _backend, repo = stocked
    repo.put_manifest(KIND, "Y", manifest_doc(id="Y", catalog={"tables": [{"name": "t"}]}))
    catalog = load_backups(repo)
    assert [m.id for m in catalog.manifests] == list(BACKUPS)
    assert "catalog snapshot: no 'schema'" in catalog.unusable["Y"]


def _put_history(backend: CountingBackend, repo: Repository) -> str:
    """Timeline 2, leaving timeline 1 after the backups' WAL; returns its key."""
    key = wal_key("00000002.history")
    text = f"1\t0/{5 * SEG:X}\tno recovery target specified\n".encode()
    backend.put(key, repo.sealer.seal(ObjectType.WAL, text, key.encode()))
    backend.gets.clear()
    return key


def test_a_verify_lists_the_wal_and_reads_each_history_once(
    stocked: tuple[CountingBackend, Repository],
) -> None:
    from datetime import UTC, datetime

    from pgdr.daemon.jobs import REGISTRY, JobContext

    backend, repo = stocked
    key = _put_history(backend, repo)
    ctx = JobContext("verify", datetime.now(UTC), lambda: repo, "conninfo")
    result = REGISTRY["verify"].run(ctx)
    assert result["ok"] and result["checked"]["backup"] == len(BACKUPS)
    assert backend.lists["wal/"] == 1
    assert backend.reads_under(key) == {key: 1}
    # the backups' WAL coverage is judged from the manifests verify read: once each
    assert backend.reads_under(manifest_key("")) == {manifest_key(b): 1 for b in BACKUPS}


def test_a_verify_judges_coverage_from_the_manifests_it_read(
    stocked: tuple[CountingBackend, Repository],
) -> None:
    """`pgdr repo verify`'s path: an unusable manifest and a backup whose WAL is gone are
    both reported, each manifest read once."""
    from pgdr.catalog.load import CatalogBuilder
    from pgdr.repo.verify import verify
    from pgdr.restore.coverage import check_coverage

    backend, repo = stocked
    repo.put_manifest(KIND, "X", {"id": "X", "stop_time": "2026-11-27T03:00:00+00:00"})
    backend.delete(wal_key(seg(3)))  # the second backup's own WAL
    backend.gets.clear()
    backups = CatalogBuilder(refs_budget=0)
    rep = verify(repo, seen=backups.seen)
    catalog = backups.done()
    assert [m.id for m in catalog.manifests] == list(BACKUPS) and not catalog._stored
    check_coverage(repo, catalog, rep)
    flagged = {p.object for p in rep.problems}
    assert manifest_key("X") in flagged and manifest_key(BACKUPS[1]) in flagged
    assert backend.reads_under(manifest_key("")) == {manifest_key(b): 1 for b in (*BACKUPS, "X")}


def test_the_daemon_reads_each_history_file_once_across_collections(
    stocked: tuple[CountingBackend, Repository],
) -> None:
    from pgdr.daemon.collect_repo import RepoCollector
    from pgdr.daemon.handle import RepoHandle
    from pgdr.daemon.history import JobHistory

    backend, repo = stocked
    key = _put_history(backend, repo)
    collector = RepoCollector(RepoHandle(lambda: repo), JobHistory(None), "mem://x")
    first = collector.collect()
    assert collector.collect() == first and first.production_timeline == 2
    assert backend.reads_under(key) == {key: 1}
    backend.delete(key)  # gone (expired): forgotten, not followed any more
    assert collector.collect().production_timeline == 1
