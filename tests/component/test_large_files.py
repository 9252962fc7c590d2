"""A >= 2 GiB sparse file round-trips bit-identically through a file:// repository."""

from __future__ import annotations

import os

import blake3
import pytest

from pgdr.repo.reader import BlobReader
from pgdr.repo.repository import Repository
from pgdr.repo.writer import BlobWriter
from pgdr.storage import open_backend
from tests.fixtures.keys import PASS

pytestmark = [pytest.mark.component, pytest.mark.slow]
GiB = 1 << 30
CHUNK = 1 << 20


def digest(path) -> str:
    h = blake3.blake3()
    with open(path, "rb") as f:
        while block := f.read(8 << 20):
            h.update(block)
    return h.hexdigest()


def test_sparse_2gib_file_round_trip(tmp_path) -> None:
    src = tmp_path / "sparse.bin"
    with open(src, "wb") as f:
        f.truncate(2 * GiB + 12345)  # holes everywhere, odd tail
        for off in (0, 7 * CHUNK + 3, GiB - 5, 2 * GiB + 12345 - 4096):
            f.seek(off)
            f.write(os.urandom(4096))
    repo = Repository.init(open_backend(f"file://{tmp_path}/repo"), PASS)
    with BlobWriter(repo) as w:
        sd = w.store_file(src, CHUNK)
        w.commit_manifest("files", "sparse", {"size": sd.size}, sd.ids)
        assert sd.size == src.stat().st_size
        assert w.stats.blobs_new <= 7  # the data chunks plus one zero chunk (and the tail)
    out = tmp_path / "restored.bin"
    fresh = Repository.open(repo.backend, PASS)
    m = fresh.get_manifest("files", "sparse")
    with BlobReader(fresh) as r:
        r.write_file([m.ref(i) for i in range(m.ref_count())], out)
    assert out.stat().st_size == src.stat().st_size
    assert out.stat().st_blocks * 512 < 64 * CHUNK  # restored sparse, not 2 GiB of zeros
    assert digest(out) == digest(src)
