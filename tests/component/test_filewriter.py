"""The restore's file pipeline (``pgdr.repo.filewriter``): many files written from one
stream of blobs by parallel threads are byte-identical to their sources, in order, sparse
where the source had zero chunks; consecutive chunks go out in a few large writes; a
damaged blob in the middle of a file fails the whole write with every descriptor closed."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pytest

from pgdr.errors import IntegrityError
from pgdr.repo import format as fmt
from pgdr.repo.filewriter import write_chunks
from pgdr.repo.reader import BlobReader
from pgdr.repo.repository import Repository
from pgdr.repo.writer import BlobWriter
from pgdr.storage import open_backend
from tests.fixtures.keys import PASS

pytestmark = pytest.mark.component
CHUNK = 32 * 1024  # relation files' chunk: its all-zero blob is a known hole


def sources() -> dict[str, bytes]:
    rng = random.Random(14)
    z = bytes(CHUNK)
    files = {
        "empty": b"",
        "one": rng.randbytes(1),
        "short": rng.randbytes(CHUNK - 1),
        "exact": rng.randbytes(3 * CHUNK),
        "odd": rng.randbytes(3 * CHUNK + 7),
        "holes": rng.randbytes(CHUNK) + z * 3 + rng.randbytes(CHUNK + 5),
        "zero_lead": z * 2 + rng.randbytes(100),
        "zero_tail": rng.randbytes(2 * CHUNK) + z * 6,
        "all_zero": z * 5 + bytes(10),
        "empty2": b"",
    }
    for i in range(150):  # many small files share one ranged read (cut in several jobs)
        files[f"small{i}"] = rng.randbytes(50 + i)
    files["last"] = rng.randbytes(2 * CHUNK + 1)
    return files


def store_all(repo: Repository, files: dict[str, bytes]) -> dict[str, list[bytes]]:
    out = {}
    with BlobWriter(repo) as w:
        refs = bytearray()
        for name, data in files.items():
            sd = w.store_stream(io.BytesIO(data), CHUNK)
            out[name] = [bytes(sd.ids[i : i + 32]) for i in range(0, len(sd.ids), 32)]
            refs += sd.ids
        w.commit_manifest("files", "set", {}, bytes(refs))  # indexed, durable
    return out


def reopened(repo: Repository) -> Repository:
    return Repository.open(repo.backend, PASS)


@pytest.fixture
def big_packs(tmp_path: Path) -> Repository:
    return Repository.init(open_backend(f"file://{tmp_path}/repo"), PASS, pack_size=8 << 20)


def test_files_are_identical_in_order_and_sparse(big_packs: Repository, tmp_path: Path) -> None:
    files = sources()
    ids = store_all(big_packs, files)
    out = tmp_path / "out"
    out.mkdir()
    finished: list[tuple[str, int]] = []
    with BlobReader(reopened(big_packs), workers=4) as r:
        sizes = r.write_files(
            [(out / name, ids[name]) for name in files],
            done=lambda p, n: finished.append((p.name, n)),
            fsync=False,
        )
    assert sizes == [len(d) for d in files.values()]
    assert finished == [(name, len(d)) for name, d in files.items()]
    for name, data in files.items():
        assert (out / name).read_bytes() == data, name
    for name in ("holes", "zero_tail", "all_zero"):  # zero chunks were never written
        st = (out / name).stat()
        assert st.st_blocks * 512 <= st.st_size - 2 * CHUNK, name


def syscalls_writing() -> int:
    with open("/proc/self/io") as f:
        return int(next(ln for ln in f if ln.startswith("syscw:")).split()[1])


def test_consecutive_chunks_are_written_with_few_large_writes(
    big_packs: Repository, tmp_path: Path
) -> None:
    data = random.Random(3).randbytes(128 * CHUNK)  # 4 MiB: 128 chunks in one pack
    ids = store_all(big_packs, {"f": data})["f"]
    with BlobReader(reopened(big_packs)) as r:
        before = syscalls_writing()
        r.write_files([(tmp_path / "f", ids)], fsync=False)
        writes = syscalls_writing() - before
    assert (tmp_path / "f").read_bytes() == data
    assert writes <= 20, f"{writes} write calls for 128 chunks"  # runs of 256 KiB: 16


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_damaged_blob_mid_file_fails_and_closes_everything(
    big_packs: Repository, tmp_path: Path
) -> None:
    rng = random.Random(5)
    files = {f"f{i}": rng.randbytes(6 * CHUNK + i) for i in range(6)}
    ids = store_all(big_packs, files)
    loc = reopened(big_packs).index.get(ids["f3"][3])  # the middle of a file in the middle
    assert loc is not None
    pack = tmp_path / "repo" / fmt.pack_key(loc.pack_id)
    raw = bytearray(pack.read_bytes())
    raw[loc.offset + loc.length // 2] ^= 0x40
    pack.write_bytes(bytes(raw))
    fresh = reopened(big_packs)
    out = tmp_path / "out"
    out.mkdir()
    finished: list[str] = []
    before = open_descriptors()
    with BlobReader(fresh, workers=4) as r, pytest.raises(IntegrityError, match="authentication"):
        r.write_files(
            [(out / n, ids[n]) for n in files], done=lambda p, _n: finished.append(p.name)
        )
    assert open_descriptors() == before
    assert "f3" not in finished and "f4" not in finished


def test_chunks_rewritten_in_place_zeros_included(big_packs: Repository, tmp_path: Path) -> None:
    """A delta restore's rewrite: chosen chunks land at their offsets (a zero chunk is
    written as zeros over the old data, not skipped), the file is cut to its size and
    settled through its descriptor before it is closed."""
    rng = random.Random(9)
    new = rng.randbytes(CHUNK) + bytes(CHUNK) + rng.randbytes(CHUNK) + rng.randbytes(10)
    ids = store_all(big_packs, {"new": new})["new"]
    target = tmp_path / "f"
    target.write_bytes(rng.randbytes(6 * CHUNK))  # longer, every chunk different
    old = target.read_bytes()
    settled: list[tuple[str, int]] = []
    with BlobReader(reopened(big_packs)) as r:
        written = write_chunks(
            r,
            [(target, [(CHUNK, ids[1]), (3 * CHUNK, ids[3])], len(new))],
            lambda p: os.open(p, os.O_RDWR),
            settle=lambda p, fd: settled.append((p.name, os.fstat(fd).st_size)),
        )
    assert written == [CHUNK + 10]
    assert settled == [("f", len(new))]
    assert (
        target.read_bytes()
        == old[:CHUNK] + bytes(CHUNK) + old[2 * CHUNK : 3 * CHUNK] + new[3 * CHUNK :]
    )
