"""`pgdr info` and `pgdr repo verify` call a repository restorable only when a restore would
succeed: a backup whose start WAL segment is missing is not restorable (restore would exit
38), so info shows no recoverable window and verify fails naming the segment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgdr.catalog.wal import wal_key
from pgdr.repo.format import ObjectType
from pgdr.repo.keys import KeyFile, generate_key_file
from pgdr.repo.repository import Repository
from pgdr.repo.writer import BlobWriter
from pgdr.storage import open_backend
from tests.e2e.cli import pgdr

pytestmark = pytest.mark.e2e
START, SECOND, AFTER = (f"00000001000000000000000{n}" for n in (2, 3, 4))


def put_wal(repo: Repository, name: str) -> None:
    key = wal_key(name)
    repo.backend.put(key, repo.sealer.seal(ObjectType.WAL, b"\0" * 8192, key.encode()))


def test_backup_without_its_start_segment_is_not_restorable(tmp_path: Path) -> None:
    key = tmp_path / "repo.key"
    generate_key_file(key)
    url = f"file://{tmp_path}/repo"
    repo = Repository.init(open_backend(url), KeyFile(key))
    doc = {
        "id": "20261124T030000ZF",
        "type": "full",
        "label": "nightly",
        "start_time": "2026-11-24T03:00:00+00:00",
        "stop_time": "2026-11-24T03:00:05+00:00",
        "start_lsn": "0/2000028",
        "stop_lsn": "0/3000100",
        "timeline": 1,
        "wal_segment_size": 16 << 20,
        "wal": [START, SECOND],
        "pg_version_num": 150000,
        "system_identifier": "7311111111111111111",
        "stats": {"bytes": 10, "new_bytes": 10, "stored_bytes": 10, "files": 1},
    }
    with BlobWriter(repo) as w:
        w.commit_manifest("backup", doc["id"], doc, w.store_chunks([b"x" * 100]).ids)
    put_wal(repo, SECOND)
    put_wal(repo, AFTER)
    env = {"PGDR_KEY_FILE": str(key)}

    info = json.loads(pgdr("--repo", url, "--json", "info", env=env).stdout)
    (b,) = info["backups"]
    assert b["restorable"] is False and START in b["problem"]
    assert info["window_start"] is None and START in info["not_restorable"]
    text = pgdr("--repo", url, "info", env=env).stdout
    assert "recoverable window" not in text and "nothing restorable" in text and START in text
    r = pgdr("--repo", url, "repo", "verify", env=env)
    assert r.returncode == 36 and START in r.stderr and "Traceback" not in r.stderr, r.stderr

    put_wal(repo, START)  # now a restore would succeed, and both say so
    info = json.loads(pgdr("--repo", url, "--json", "info", env=env).stdout)
    assert info["backups"][0]["restorable"] is True and info["window_start"] == doc["stop_time"]
    assert info["production_timeline"] == 1
    r = pgdr("--repo", url, "repo", "verify", env=env)
    assert r.returncode == 0, r.stderr
