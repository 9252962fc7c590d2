"""pgdr.wal.server_key.ensure on a repository in memory: the key file is private, reused,
its slot found again by trying it, re-added when removed; a planted file is refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pgdr.errors import ConfigError
from pgdr.pg.osuser import RunAs
from pgdr.repo.keys import KeyFile, Passphrase
from pgdr.repo.repository import Repository
from pgdr.storage import open_backend
from pgdr.wal import server_key

pytestmark = pytest.mark.component

ME = RunAs(os.geteuid(), os.getegid(), "me", "/nonexistent")


def _repo(name: str) -> Repository:
    return Repository.init(open_backend(f"mem://{name}"), Passphrase("a passphrase", scrypt_n=1024))


def _keyfile_slots(repo: Repository) -> int:
    return sum(1 for _k, s in repo.key_slots() if s is not None and s.kind == "keyfile")


def test_ensure_creates_reuses_and_readds(tmp_path: Path) -> None:
    repo = _repo("server-key-a")
    path = server_key.key_path(tmp_path / "keys", repo.backend.url)
    first = server_key.ensure(repo, ME, path)
    assert first.created and first.added and first.path == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    opened = Repository.open(repo.backend, KeyFile(path))
    assert opened.master == repo.master and opened.unlocked_slot == first.slot_id

    again = server_key.ensure(repo, ME, path)  # idempotent: same file, same slot
    assert (again.created, again.added, again.slot_id) == (False, False, first.slot_id)
    assert _keyfile_slots(repo) == 1

    repo.remove_key(first.slot_id)  # the operator withdrew it: setup gives it a slot again
    back = server_key.ensure(repo, ME, path)
    assert (back.created, back.added) == (False, True) and _keyfile_slots(repo) == 1
    assert server_key.existing(tmp_path / "keys", repo.backend.url) == path


def test_a_key_file_of_another_repository_gets_a_slot_here(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "k.key"
    server_key.ensure(_repo("server-key-b"), ME, path)
    other = _repo("server-key-c")  # same file name, another repository: no slot opens yet
    assert server_key.ensure(other, ME, path).added
    assert Repository.open(other.backend, KeyFile(path)).master == other.master


def test_a_planted_or_loose_key_file_is_refused(tmp_path: Path) -> None:
    repo = _repo("server-key-d")
    path = tmp_path / "keys" / "k.key"
    path.parent.mkdir(mode=0o700)
    path.write_bytes(b"x" * 64)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="mode 0600"):
        server_key.ensure(repo, ME, path)
    assert _keyfile_slots(repo) == 0
