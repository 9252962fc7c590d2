"""How a base backup cuts each file class into blobs (docs/design.md §8c)."""

from __future__ import annotations

import pytest

from pgdr.backup.chunking import DEFAULT, Chunking, is_relation_path

pytestmark = pytest.mark.unit
KiB = 1024


@pytest.mark.parametrize(
    ("rel", "chunk"),
    [
        ("base/5/16384", 128 * KiB),  # a table's main fork
        ("base/5/16384.3", 128 * KiB),  # its fourth 1 GiB segment
        ("base/5/16384_fsm", 128 * KiB),
        ("base/5/16384_vm", 128 * KiB),
        ("base/5/pg_filenode.map", 128 * KiB),  # one short chunk either way
        ("global/1262", 128 * KiB),
        ("global/pg_control", 128 * KiB),
        ("pg_tblspc/16390/PG_15_202209061/5/16391", 128 * KiB),
        ("pg_xact/0000", 1024 * KiB),
        ("pg_multixact/offsets/0000", 1024 * KiB),
        ("postgresql.conf", 1024 * KiB),
        ("PG_VERSION", 1024 * KiB),
        ("pg_logical/replorigin_checkpoint", 1024 * KiB),
        ("basement/16384", 1024 * KiB),  # not a relation directory, despite the prefix
    ],
)
def test_default_chunk_per_file_class(rel: str, chunk: int) -> None:
    assert DEFAULT.chunk_for(rel) == chunk
    assert is_relation_path(rel) == (chunk == 128 * KiB)


def test_a_chunking_is_a_pair_of_sizes() -> None:
    old = Chunking(relation=32 * KiB)  # what pgdr wrote before issue 14
    assert old.chunk_for("base/1/1259") == 32 * KiB
    assert old.chunk_for("pg_xact/0000") == DEFAULT.other
