"""What only file:// has: what root creates keeps the repository's owner; owner-only modes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pgdr.storage import open_backend

pytestmark = pytest.mark.contract


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can create files for another user")
def test_directories_created_by_root_belong_to_the_repository_owner(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    os.chown(root, 65534, 65534)  # e.g. postgres owns the repository; root runs a backup
    open_backend(f"file://{root}").put("audit/x/000001", b"entry")
    for d in (root / "audit", root / "audit" / "x", root / "audit" / "x" / "000001"):
        assert (d.stat().st_uid, d.stat().st_gid) == (65534, 65534), d
    mine = tmp_path / "mine"
    open_backend(f"file://{mine}").put("wal/1/x", b"w")
    assert (mine / "wal").stat().st_uid == 0  # a root-owned repository stays root's


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can create files for another user")
def test_a_directory_made_beside_another_root_thread_still_goes_to_the_owner(
    tmp_path: Path,
) -> None:
    """Two root backups at once: one thread has made ``manifests`` and not yet handed it to
    the owner when the other makes ``manifests/cluster`` in it. The new directory still goes
    to the repository's owner, or the owner's archive_command could never list it."""
    root = tmp_path / "repo"
    root.mkdir()
    os.chown(root, 65534, 65534)
    (root / "manifests").mkdir(mode=0o700)  # the other thread's, still root's
    open_backend(f"file://{root}").put("manifests/cluster/id", b"identity")
    for d in (root / "manifests" / "cluster", root / "manifests" / "cluster" / "id"):
        assert (d.stat().st_uid, d.stat().st_gid) == (65534, 65534), d


def test_objects_and_directories_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o002)  # even a permissive umask
    try:
        backend = open_backend(f"file://{tmp_path}/repo")
        backend.put("keys/slot", b"wrapped key")
        backend.put("data/ab/pack", b"the database")
    finally:
        os.umask(old)
    for p in [tmp_path / "repo", *(tmp_path / "repo").rglob("*")]:
        want = 0o700 if p.is_dir() else 0o600
        assert p.stat().st_mode & 0o777 == want, p
