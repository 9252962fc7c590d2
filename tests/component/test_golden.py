"""Old repositories stay readable: a repository written by format 1 is kept in the tree and
must open, verify and restore byte-exact with every later pgdr."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from pgdr.repo.files import fetch_files
from pgdr.repo.keys import Passphrase
from pgdr.repo.repository import Repository
from pgdr.repo.verify import verify
from pgdr.storage import open_backend

pytestmark = pytest.mark.component
GOLDEN = Path(__file__).parents[1] / "golden"


def test_format_1_repository_reads_back(tmp_path: Path) -> None:
    repo_dir = tmp_path / "v1"
    shutil.copytree(GOLDEN / "v1", repo_dir)  # never touch the committed copy
    # Written with the test override PGDR_KDF_N=1024, which the reader needs too: a slot
    # asking for less than the scrypt cost pgdr writes is refused otherwise (§5 bounds).
    key = Passphrase("golden passphrase v1", scrypt_n=1024)
    repo = Repository.open(open_backend(f"file://{repo_dir}"), key)
    assert repo.config.format_version == 1
    assert verify(repo, read_data=True).ok
    fetch_files(repo, "golden", tmp_path / "out")
    expected = dict(line.split()[::-1] for line in (GOLDEN / "v1.sha256").read_text().splitlines())
    got = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (tmp_path / "out" / "golden-set").iterdir()
    }
    assert got == expected
