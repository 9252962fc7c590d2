"""Every byte of each small object type flipped in turn (config, key slot, keyring, a backup
manifest, a WAL object): each flip ends in IntegrityError naming the object, or in the
unchanged correct result — never WrongKey (which sends the operator after another key),
never an unexpected exception (exit 70). The version byte of an envelope may instead read as
a newer format (UnsupportedFormat, 33): a newer pgdr may seal differently, so it cannot be
told from damage."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pgdr.catalog.load import load_backups
from pgdr.catalog.wal import read as read_wal
from pgdr.catalog.wal import wal_key
from pgdr.errors import IntegrityError, UnsupportedFormat
from pgdr.pg.wal_header import fake_segment
from pgdr.repo import format as fmt
from pgdr.repo.repository import Repository
from pgdr.restore.plan import Target, choose_backup
from pgdr.storage.base import Backend
from pgdr.wal import archive
from tests.fixtures.keys import PASS
from tests.fixtures.manifests import manifest_doc

pytestmark = pytest.mark.component
VERSION_BYTE = 4
BACKUP = "20261124T030000ZF"
SEGMENT = "000000010000000000000003"


@pytest.fixture
def stocked(backend: Backend, tmp_path: Path) -> Repository:
    repo = Repository.init(backend, PASS, pack_size=1 << 20)
    seg = tmp_path / SEGMENT
    seg.write_bytes(fake_segment(SEGMENT, 7312345678901234567, body=os.urandom(200)))
    archive.push(repo, seg)
    doc = manifest_doc(id=BACKUP, stop_time="2026-11-24T03:00:00+00:00", wal=[SEGMENT])
    repo.put_manifest("backup", BACKUP, doc, os.urandom(64))
    return repo


def flips(backend: Backend, key: str, attempt: Callable[[], object], names: str) -> dict[str, int]:
    """Flip each byte of ``key`` (all bits, and the lowest bit) and run ``attempt``; returns
    how the flips ended. Fails on anything but the allowed outcomes."""
    good = backend.get(key)
    expected = attempt()
    seen = {"damaged": 0, "unchanged": 0, "newer": 0}
    try:
        for i in range(len(good)):
            for mask in (0xFF, 0x01):
                bad = bytearray(good)
                bad[i] ^= mask
                backend.put(key, bytes(bad))
                try:
                    got = attempt()
                except IntegrityError as e:
                    assert names in e.message, (i, mask, e.message)
                    seen["damaged"] += 1
                    continue
                except UnsupportedFormat:
                    assert i == VERSION_BYTE, (i, mask)
                    seen["newer"] += 1
                    continue
                assert got == expected, (i, mask)
                seen["unchanged"] += 1
    finally:
        backend.put(key, good)
    return seen


def test_every_flip_of_the_config_is_named_damage(stocked: Repository) -> None:
    b = stocked.backend
    seen = flips(b, fmt.CONFIG_KEY, lambda: Repository.open(b, PASS).config, "config")
    assert seen["damaged"] > 0


def test_every_flip_of_a_key_slot_is_named_damage_never_a_wrong_key(stocked: Repository) -> None:
    b = stocked.backend
    (slot,) = [i.key for i in b.list(fmt.KEYS_PREFIX)]
    seen = flips(b, slot, lambda: Repository.open(b, PASS).master, slot)
    assert seen["damaged"] > 0 and seen["unchanged"] == 0


def test_every_flip_of_the_keyring_is_named_damage(stocked: Repository) -> None:
    b = stocked.backend
    (ring,) = [i.key for i in b.list(fmt.KEYRING_PREFIX)]
    seen = flips(b, ring, lambda: Repository.open(b, PASS).keyring, ring)
    assert seen["damaged"] > 0


def test_every_flip_of_a_backup_manifest_is_named_by_info_and_restore(
    stocked: Repository,
) -> None:
    key = fmt.manifest_key("backup", BACKUP)

    def restore_choice() -> object:
        catalog = load_backups(stocked)
        return choose_backup(catalog.manifests, Target("latest"), BACKUP, catalog.damaged).id

    seen = flips(stocked.backend, key, restore_choice, key)
    assert seen["damaged"] > 0

    def info_view() -> object:
        catalog = load_backups(stocked)
        docs, damaged = catalog.manifests, catalog.damaged
        assert all(key in why for why in damaged.values())
        if damaged:
            raise IntegrityError(damaged[BACKUP])
        return [d.id for d in docs]

    flips(stocked.backend, key, info_view, key)


def test_every_flip_of_a_wal_object_is_named_damage(stocked: Repository) -> None:
    key = wal_key(SEGMENT)
    seen = flips(stocked.backend, key, lambda: read_wal(stocked, SEGMENT), key)
    assert seen["damaged"] > 0
