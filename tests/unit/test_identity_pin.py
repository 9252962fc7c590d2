"""The identity pin: first use pins, a change is refused, and unusable local state never
fails the open (wal-push must keep archiving)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from pgdr.errors import RepositoryIdentityChanged
from pgdr.repo.identity import Identity, check_identity, pin_path, read_pin, write_pin

pytestmark = pytest.mark.unit
URL = "s3://bucket/pgdr?region=eu-west-1"
FIRST = Identity(URL, "a" * 32, "f" * 32)


def test_first_use_pins_then_a_change_is_refused(tmp_path: Path) -> None:
    check_identity(FIRST, tmp_path)
    pinned = read_pin(URL, tmp_path)
    assert pinned is not None and pinned.identity == FIRST
    assert stat.S_IMODE(pinned.path.stat().st_mode) == 0o600
    check_identity(FIRST, tmp_path)  # the same repository: fine

    with pytest.raises(RepositoryIdentityChanged, match=r"master key fingerprint f+ -> 0+"):
        check_identity(Identity(URL, FIRST.repo_id, "0" * 32), tmp_path)
    with pytest.raises(RepositoryIdentityChanged, match=r"repository id a+ -> b+.*repo trust"):
        check_identity(Identity(URL, "b" * 32, FIRST.master), tmp_path)
    check_identity(Identity(URL + "&x=1", "b" * 32, "0" * 32), tmp_path)  # another URL

    write_pin(Identity(URL, "b" * 32, FIRST.master), tmp_path)  # what `repo trust` does
    check_identity(Identity(URL, "b" * 32, FIRST.master), tmp_path)


def test_unusable_local_state_is_a_warning_not_a_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = pin_path(URL, tmp_path)
    path.parent.mkdir(parents=True)
    blocker = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    blocker.mkdir()  # the pin cannot be written (as root, modes would not stop us)
    with caplog.at_level(logging.WARNING):
        check_identity(FIRST, tmp_path)
    assert "not pinned" in caplog.text and not path.exists()
    blocker.rmdir()

    path.write_text("{not json")
    with caplog.at_level(logging.WARNING):
        check_identity(Identity(URL, "b" * 32, "0" * 32), tmp_path)  # damaged pin
    assert "not checked" in caplog.text
