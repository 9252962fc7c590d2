"""What only file:// has: directories root creates keep the repository's owner."""

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
    for d in (root / "audit", root / "audit" / "x"):
        assert (d.stat().st_uid, d.stat().st_gid) == (65534, 65534), d
    mine = tmp_path / "mine"
    open_backend(f"file://{mine}").put("wal/1/x", b"w")
    assert (mine / "wal").stat().st_uid == 0  # a root-owned repository stays root's
