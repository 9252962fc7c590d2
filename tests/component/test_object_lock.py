"""S3 Object Lock on the moto server (real HTTP): every object pgdr writes carries the lock
headers (except locks and deletion plans, which must stay deletable); expire and GC meet
refused deletes by reporting and skipping them, and finish the job in a later run once the
lock has lapsed; objects still needed have their locks extended, garbage does not.

Locks last a few seconds here (``object_lock_days`` may be fractional). The backups are
manifests of kind ``backup`` written directly with the fields retention reads (id, type,
stop time, start LSN, timeline): real PostgreSQL backups are exercised by the pg tier."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from pgdr.cli.output import to_jsonable
from pgdr.errors import ObjectLocked
from pgdr.pg.wal_header import fake_segment
from pgdr.repo import format as fmt
from pgdr.repo.locks import LockManager
from pgdr.repo.plans import write_plan
from pgdr.repo.repository import Repository
from pgdr.repo.verify import verify
from pgdr.repo.writer import BlobWriter
from pgdr.retention.expire import expire
from pgdr.retention.policy import Policy
from pgdr.storage import StorageOptions, open_backend
from pgdr.wal.archive import push
from tests.fixtures.blobs import CHUNK, keys
from tests.fixtures.keys import PASS
from tests.fixtures.manifests import manifest_doc
from tests.fixtures.moto_server import s3_client

pytestmark = pytest.mark.component
LOCK_SECONDS = 4.0
NOW = datetime.now(UTC)


def locked_repo(url: str) -> Repository:
    opts = StorageOptions(object_lock_mode="GOVERNANCE", object_lock_days=LOCK_SECONDS / 86400)
    return Repository.init(open_backend(url, opts), PASS, pack_size=1 << 20)


def backup(repo: Repository, bid: str, stop: datetime, seg: int, data: bytes) -> None:
    doc = manifest_doc(
        id=bid,
        type="full" if bid.endswith("F") else "incr",
        stop_time=stop.isoformat(),
        start_lsn=f"0/{seg * 0x1000000:X}",
        timeline=1,
        wal_segment_size=16 << 20,
    )
    with LockManager(repo.backend).acquire("shared", "backup"), BlobWriter(repo) as w:
        ids = w.store_chunks([data[i : i + CHUNK] for i in range(0, len(data), CHUNK)])
        w.commit_manifest("backup", bid, doc, ids.ids)


def head(repo: Repository, key: str) -> dict:  # type: ignore[type-arg]
    return repo.backend.head(key)  # type: ignore[attr-defined,no-any-return]


def test_objects_carry_lock_headers_but_locks_and_plans_do_not(s3_locked_url: str) -> None:
    repo = locked_repo(s3_locked_url)
    t0 = datetime.now(UTC)
    backup(repo, "20261120T030000ZF", NOW - timedelta(days=4), 1, os.urandom(1 << 20))
    stored = keys(repo)
    for prefix in ("config", "keys/", "keyring/", "data/", "index/", "manifests/"):
        assert any(k.startswith(prefix) for k in stored), prefix
    for key in stored:
        h = head(repo, key)
        assert h["ObjectLockMode"] == "GOVERNANCE", key
        until = h["ObjectLockRetainUntilDate"]
        assert t0 < until + timedelta(seconds=1) and until < t0 + timedelta(seconds=30), key
    with LockManager(repo.backend).acquire("shared", "backup") as lock:
        assert "ObjectLockMode" not in head(repo, fmt.LOCKS_PREFIX + lock.id)
    plan = write_plan(repo.backend, "gc", [], [])
    assert "ObjectLockMode" not in head(repo, plan.key)
    repo.backend.delete(plan.key)  # a transient object deletes fine


def test_refused_deletes_are_reported_skipped_and_done_once_the_lock_lapses(
    s3_locked_url: str, tmp_path: Path
) -> None:
    repo = locked_repo(s3_locked_url)
    old, anchor, new = os.urandom(1 << 20), os.urandom(1 << 20), os.urandom(1 << 20)
    backup(repo, "20261120T030000ZF", NOW - timedelta(days=4), 2, old)
    backup(repo, "20261121T030000ZF", NOW - timedelta(days=3), 5, anchor)
    backup(repo, "20261124T030000ZI", NOW - timedelta(hours=1), 9, new)
    for seg in (1, 2, 5, 9):
        f = tmp_path / f"0000000100000000000000{seg:02X}"
        f.write_bytes(fake_segment(f.name, 7312345678901234567, body=os.urandom(2048)))
        push(repo, f)
    written = datetime.now(UTC)  # every original lock ends by written + LOCK_SECONDS
    time.sleep(1.5)
    policy = Policy(timedelta(days=2))
    first = expire(repo, policy, now=NOW)  # every object is still locked
    # Nothing was removed, and the result says so (text, JSON and the audit entry alike).
    assert first.removed_backups == [] and first.wal_removed_files == 0
    assert first.refused_backups == ["20261120T030000ZF"] and first.wal_refused_files == 2
    text = rendered(first)
    assert "removed 0 backup(s) and 0 WAL file(s)" in text, text
    assert "refused by Object Lock" in text and "1 backup(s) and 2 WAL file(s)" in text, text
    doc = to_jsonable(first)
    assert doc["removed_backups"] == [] and doc["refused_backups"] == ["20261120T030000ZF"]
    assert doc["wal_refused"][0]["first"] == "000000010000000000000001"
    entry = first.audit_entry()
    assert entry["backups_removed"] == [] and entry["wal_removed"] == []
    assert entry["backups_refused"] == ["20261120T030000ZF"] and entry["wal_refused"]
    assert "manifests/backup/20261120T030000ZF" in first.locked
    assert "wal/00000001/000000010000000000000001" in first.locked
    assert "manifests/backup/20261120T030000ZF" in keys(repo), "refused: still there"
    assert first.gc is not None and first.gc.packs_deleted == 0  # still referenced
    assert first.retention is not None and first.retention.extended > 0
    kept_pack = pack_of(repo, "20261121T030000ZF")
    extended_until = head(repo, kept_pack)["ObjectLockRetainUntilDate"]
    assert extended_until > written + timedelta(seconds=LOCK_SECONDS + 1)

    time.sleep(max(0.0, (written - datetime.now(UTC)).total_seconds() + LOCK_SECONDS + 0.7))
    assert datetime.now(UTC) < extended_until, "needed objects are still locked..."
    before = sum(i.size for i in repo.backend.list())
    second = expire(repo, policy, now=NOW)  # ... while the garbage's lock has lapsed
    assert second.locked == [] and second.removed_backups == ["20261120T030000ZF"]
    assert second.gc is not None and second.gc.packs_deleted == 1
    # The index objects GC now supersedes were needed (so re-locked) by the first run: their
    # deletion is refused and reported; readers ignore them; a later run deletes them.
    assert second.gc.locked and all(k.startswith(fmt.INDEX_PREFIX) for k in second.gc.locked)
    assert "manifests/backup/20261120T030000ZF" not in keys(repo)
    assert second.bytes_after < before - (1 << 20)
    with pytest.raises(ObjectLocked):
        repo.backend.delete(kept_pack)
    fresh = Repository.open(repo.backend, PASS)
    assert verify(fresh, read_data=True).ok
    for bid, data in (("20261121T030000ZF", anchor), ("20261124T030000ZI", new)):
        m = fresh.get_manifest("backup", bid)
        assert b"".join(fresh.read_blob(m.ref(i)) for i in range(m.ref_count())) == data


def rendered(result: object) -> str:
    console = Console(record=True, width=200)
    result.render_text(console)  # type: ignore[attr-defined]
    return console.export_text()


def pack_of(repo: Repository, bid: str) -> str:
    m = Repository.open(repo.backend, PASS).get_manifest("backup", bid)
    loc = Repository.open(repo.backend, PASS).index.get(m.ref(0))
    assert loc is not None
    return fmt.pack_key(loc.pack_id)


def test_verify_reports_a_manifest_hidden_by_a_delete_marker(
    s3_locked_url: str, moto_endpoint: str
) -> None:
    """A delete without a version id (someone's `aws s3 rm`) puts a delete marker on a backup
    manifest in an Object Lock bucket: the backup vanishes from every listing although the
    storage retains it. verify reports it as damage, naming the manifest."""
    repo = locked_repo(s3_locked_url)
    backup(repo, "20261124T030000ZF", NOW - timedelta(hours=1), 2, os.urandom(1 << 16))
    assert verify(repo).ok
    bucket = s3_locked_url.split("/")[2]
    s3_client(moto_endpoint).delete_object(
        Bucket=bucket, Key="repo/manifests/backup/20261124T030000ZF"
    )
    assert "manifests/backup/20261124T030000ZF" not in keys(repo)  # gone from listings
    rep = verify(Repository.open(repo.backend, PASS))
    assert not rep.ok
    (problem,) = rep.problems
    assert problem.object == "manifests/backup/20261124T030000ZF"
    assert "delete marker" in problem.message and "backup" in problem.message
