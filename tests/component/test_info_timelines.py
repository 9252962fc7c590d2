"""`pgdr info` (and through it `pgdr status` and the daemon's window metrics) on a repository
where a side restore archived a timeline of its own: production's timeline is marked, the
side branch is named as one, and the recoverable window ends at production's newest WAL —
not at the side branch's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pgdr.catalog.wal import wal_key
from pgdr.repo.format import ObjectType
from pgdr.repo.repository import Repository
from pgdr.repo.writer import BlobWriter
from pgdr.restore.info import repository_info
from pgdr.storage.base import ObjectInfo

pytestmark = pytest.mark.component
T0 = datetime(2026, 11, 24, 3, tzinfo=UTC)


def put(repo: Repository, name: str, data: bytes, minute: float) -> ObjectInfo:
    key = wal_key(name)
    sealed = repo.sealer.seal(ObjectType.WAL, data, key.encode())
    repo.backend.put(key, sealed)
    return ObjectInfo(key, len(sealed), T0 + timedelta(minutes=minute))


def test_window_ends_on_productions_timeline(repo: Repository) -> None:
    doc = {
        "id": "20261124T030000ZF",
        "type": "full",
        "label": "",
        "start_time": "2026-11-24T03:00:00+00:00",
        "stop_time": "2026-11-24T03:00:05+00:00",
        "start_lsn": "0/2000028",
        "stop_lsn": "0/3000100",
        "timeline": 1,
        "wal_segment_size": 16 << 20,
        "wal": ["000000010000000000000002", "000000010000000000000003"],
        "pg_version_num": 150000,
        "system_identifier": "7311111111111111111",
        "stats": {"bytes": 1, "new_bytes": 1, "stored_bytes": 1, "files": 1},
    }
    with BlobWriter(repo) as w:
        w.commit_manifest("backup", doc["id"], doc, w.store_chunks([b"x"]).ids)
    page = b"\0" * 8192
    listing = [put(repo, f"00000001000000000000000{s}", page, s) for s in range(2, 7)]
    # A side restore branched at segment 5 (minute 3.5) and kept archiving until minute 9;
    # production stored segment 6 at minute 6: it lived on.
    history = b"1\t0/5000100\tbefore 2026-11-24 03:03:00+00\n"
    listing += [
        put(repo, "00000002.history", history, 3.5),
        put(repo, "000000020000000000000005", page, 4),
        put(repo, "000000020000000000000006", page, 9),
    ]
    info = repository_info(repo, wal_objects=sorted(listing, key=lambda o: o.key))
    assert info.production_timeline == 1
    roles = {w.timeline: w.role for w in info.wal}
    assert roles[1] == "production" and roles[2] == "side branch off timeline 1 at 0/5000100"
    assert info.window_start == doc["stop_time"]
    assert info.window_end == (T0 + timedelta(minutes=6)).isoformat()  # not minute 9
