"""Damaged objects named as damaged through the CLI: a flipped byte in a backup manifest
makes `info` and `restore` (also with --backup) exit 34 naming the manifest, not "no
backup"; `repo verify` reports a WAL hole that a kept backup needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgdr.pg.wal_header import fake_segment
from pgdr.repo.keys import Passphrase
from pgdr.repo.repository import Repository
from pgdr.storage import open_backend
from pgdr.wal import archive
from tests.e2e.cli import pgdr

pytestmark = pytest.mark.e2e
PASS = {"PGDR_PASSPHRASE": "correct horse battery"}
BACKUP = "20261124T030000ZF"
MB = 1 << 20


def seg(n: int) -> str:
    return f"0000000100000000000000{n:02X}"


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    """A backup whose WAL runs from segment 1; segments 1, 2 and 4 archived, 3 missing."""
    root = tmp_path / "repo"
    repo = Repository.init(
        open_backend(f"file://{root}"), Passphrase(PASS["PGDR_PASSPHRASE"], 1024)
    )
    for n in (1, 2, 4):
        f = tmp_path / seg(n)
        f.write_bytes(fake_segment(f.name, 7312345678901234567, MB))
        archive.push(repo, f)
    doc = {
        "id": BACKUP,
        "type": "full",
        "start_time": "2026-11-24T03:00:00+00:00",
        "stop_time": "2026-11-24T03:00:05+00:00",
        "start_lsn": "0/100028",
        "stop_lsn": "0/100100",
        "timeline": 1,
        "wal_segment_size": MB,
        "wal": [seg(1)],
    }
    repo.put_manifest("backup", BACKUP, doc)
    return root


def test_verify_reports_a_wal_hole_a_kept_backup_needs(repo_dir: Path) -> None:
    for flags in ([], ["--read-data"]):
        r = pgdr("--repo", f"file://{repo_dir}", "repo", "verify", *flags, env=PASS)
        assert r.returncode == 36, r.stdout + r.stderr
        assert seg(3) in r.stderr and BACKUP in r.stderr, r.stderr


def test_a_damaged_manifest_is_named_by_info_and_restore(repo_dir: Path, tmp_path: Path) -> None:
    manifest = repo_dir / "manifests" / "backup" / BACKUP
    raw = bytearray(manifest.read_bytes())
    raw[40] ^= 0x01
    manifest.write_bytes(bytes(raw))
    url = f"file://{repo_dir}"
    r = pgdr("--repo", url, "info", env=PASS)
    assert r.returncode == 34, r.stdout + r.stderr
    assert f"manifests/backup/{BACKUP}" in r.stderr and "damaged" in r.stdout + r.stderr
    assert "nothing restorable yet" not in r.stdout
    for pinned in ([], ["--backup", BACKUP]):
        r = pgdr("--repo", url, "restore", "--data-dir", tmp_path / "out", *pinned, env=PASS)
        assert r.returncode == 34, r.stdout + r.stderr
        assert f"manifests/backup/{BACKUP}" in r.stderr and "pgdr backup" not in r.stderr
        assert not (tmp_path / "out").exists()


def test_wal_fetch_of_a_damaged_segment_stops_recovery_not_ends_it(
    repo_dir: Path, tmp_path: Path
) -> None:
    obj = repo_dir / "wal" / "00000001" / seg(2)
    raw = bytearray(obj.read_bytes())
    raw[-1] ^= 0x01
    obj.write_bytes(bytes(raw))
    r = pgdr("--repo", f"file://{repo_dir}", "wal-fetch", seg(2), tmp_path / "x", env=PASS)
    # above 125: PostgreSQL aborts recovery instead of taking the file for "not archived"
    assert r.returncode == 162, r.stderr
    assert f"wal/00000001/{seg(2)}" in r.stderr and not (tmp_path / "x").exists()
    r = pgdr("--repo", f"file://{repo_dir}", "wal-fetch", seg(3), tmp_path / "x", env=PASS)
    assert r.returncode == 1 and r.stderr == ""  # truly not archived: PostgreSQL's probe
