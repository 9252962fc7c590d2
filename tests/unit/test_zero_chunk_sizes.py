"""Restore never fetches an all-zero chunk of a size backups cut: the reader knows the zero
blob id of every chunk size the backup's chunking uses (a 128 KiB zero chunk was fetched,
decrypted and decompressed after relation chunks grew from 32 KiB)."""

from __future__ import annotations

from pgdr.backup.chunking import DEFAULT
from pgdr.repo.reader import ZERO_SIZES


def test_every_chunk_size_backups_cut_has_a_known_zero_blob() -> None:
    assert {DEFAULT.relation, DEFAULT.other} <= set(ZERO_SIZES)
    assert 32 * 1024 in ZERO_SIZES  # backups cut before 128 KiB relation chunks
