"""Repository round trips, dedup, integrity and index rebuild on the memory backend."""

from __future__ import annotations

import io
import os
import random

import pytest

from pgdr.errors import (
    IntegrityError,
    NotARepository,
    RepositoryExists,
    UnsupportedFormat,
    WrongKey,
)
from pgdr.repo import format as fmt
from pgdr.repo.keys import Passphrase
from pgdr.repo.reader import BlobReader
from pgdr.repo.repository import Repository
from pgdr.repo.verify import rebuild_index, verify
from pgdr.repo.writer import INSPECT_BATCH_BYTES, BlobWriter
from tests.fixtures.keys import PASS

pytestmark = pytest.mark.component
CHUNK = 64 * 1024


def store(repo: Repository, data: bytes, name: str = "f") -> bytes:
    with BlobWriter(repo) as w:
        sd = w.store_stream(io.BytesIO(data), CHUNK)
        w.commit_manifest("files", name, {"size": sd.size}, sd.ids)
    return bytes(sd.ids)


def load(repo: Repository, name: str = "f") -> bytes:
    m = repo.get_manifest("files", name)
    with BlobReader(repo) as r:
        return b"".join(r.iter_read(m.ref(i) for i in range(m.ref_count())))


def stored_bytes(repo: Repository, prefix: str = "") -> int:
    return sum(i.size for i in repo.backend.list(prefix))


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7])
def test_round_trip_is_bit_identical(repo: Repository, size: int) -> None:
    data = random.Random(size).randbytes(size)
    ids = store(repo, data)
    assert len(ids) == 32 * -(-size // CHUNK)
    reopened = Repository.open(repo.backend, PASS)
    assert load(reopened) == data


def test_storing_the_same_data_again_adds_no_pack_bytes(repo: Repository) -> None:
    data = os.urandom(5 * CHUNK) + bytes(4 * CHUNK)
    store(repo, data, "first")
    packs, total = stored_bytes(repo, fmt.DATA_PREFIX), stored_bytes(repo)
    manifest_size = stored_bytes(repo, fmt.MANIFESTS_PREFIX)
    index_files = {i.key for i in repo.backend.list(fmt.INDEX_PREFIX)}
    again = Repository.open(repo.backend, PASS)
    with BlobWriter(again) as w:
        w.store_stream(io.BytesIO(data), CHUNK)
        w.flush()
        assert w.stats.blobs_new == 0 and w.stats.bytes_stored == 0
        w.commit_manifest("files", "second", {}, b"")
    assert stored_bytes(repo, fmt.DATA_PREFIX) == packs
    assert {i.key for i in repo.backend.list(fmt.INDEX_PREFIX)} == index_files  # no new index
    assert stored_bytes(repo) <= total + manifest_size


def test_dedup_within_one_stream(repo: Repository) -> None:
    block = os.urandom(CHUNK)
    with BlobWriter(repo) as w:
        w.store_stream(io.BytesIO(block * 10), CHUNK)
        w.flush()
        assert w.stats.blobs_new == 1 and w.stats.blobs_dedup == 9


def test_identical_data_has_identical_ids_but_ids_are_keyed(backend) -> None:
    a = Repository.init(backend, PASS)
    from pgdr.storage import open_backend

    b = Repository.init(open_backend("mem://other-keyed"), PASS)
    assert a.blob_id(b"x") == a.blob_id(b"x") != b.blob_id(b"x")


def test_damaged_blob_raises_and_never_returns_wrong_bytes(repo: Repository) -> None:
    data = os.urandom(3 * CHUNK)
    ids = store(repo, data)
    pack = next(repo.backend.list(fmt.DATA_PREFIX))
    raw = bytearray(repo.backend.get(pack.key))
    raw[len(raw) // 2] ^= 0x01
    repo.backend.put(pack.key, bytes(raw))
    fresh = Repository.open(repo.backend, PASS)
    results = []
    for i in range(3):
        try:
            results.append(
                fresh.read_blob(ids[i * 32 : (i + 1) * 32]) == data[i * CHUNK : (i + 1) * CHUNK]
            )
        except IntegrityError:
            results.append("integrity")
    assert "integrity" in results and False not in results


@pytest.mark.parametrize("prefix", ["config", "keys/", "keyring/", "data/", "index/", "manifests/"])
def test_verify_names_a_single_flipped_byte_in_every_kind_of_object(
    repo: Repository, prefix: str
) -> None:
    store(repo, os.urandom(20 * CHUNK))
    repo.add_key(Passphrase("second", scrypt_n=1024), "spare")  # a slot we do not unlock with
    keys = [i.key for i in repo.backend.list(prefix)]
    victim = keys[-1]
    raw = bytearray(repo.backend.get(victim))
    raw[random.Random(prefix).randrange(len(raw))] ^= 0x10
    repo.backend.put(victim, bytes(raw))
    try:
        fresh = Repository.open(repo.backend, PASS)
        report = verify(fresh, read_data=True)
    except (IntegrityError, WrongKey) as e:  # damage that prevents opening at all
        assert victim in str(e) or victim.split("/")[0] in str(e)
        return
    assert not report.ok
    assert {p.object for p in report.problems} == {victim}


def test_index_deleted_entirely_is_rebuilt_from_packs(repo: Repository) -> None:
    data = os.urandom(40 * CHUNK)
    store(repo, data)
    for info in list(repo.backend.list(fmt.INDEX_PREFIX)):
        repo.backend.delete(info.key)
    fresh = Repository.open(repo.backend, PASS)
    assert not verify(fresh).ok  # manifest now dangles
    report = rebuild_index(fresh)
    assert report.blobs_indexed == 40 and not report.damaged_packs
    assert verify(Repository.open(repo.backend, PASS), read_data=True).ok
    assert load(Repository.open(repo.backend, PASS)) == data


def test_rebuild_supersedes_existing_index_files(repo: Repository) -> None:
    store(repo, os.urandom(10 * CHUNK))
    before = [i.key for i in repo.backend.list(fmt.INDEX_PREFIX)]
    rebuild_index(repo)
    after = [i.key for i in repo.backend.list(fmt.INDEX_PREFIX)]
    assert len(after) == 1 and not set(before) & set(after)
    assert verify(Repository.open(repo.backend, PASS), read_data=True).ok


def test_open_errors(backend) -> None:
    with pytest.raises(NotARepository):
        Repository.open(backend, PASS)
    Repository.init(backend, PASS)
    with pytest.raises(RepositoryExists):
        Repository.init(backend, PASS)
    with pytest.raises(WrongKey):
        Repository.open(backend, Passphrase("nope", scrypt_n=1024))


def test_newer_format_is_refused_before_asking_for_a_key(backend) -> None:
    import json
    import struct

    Repository.init(backend, PASS)
    raw = backend.get(fmt.CONFIG_KEY)
    (n,) = struct.unpack_from("<I", raw, 28)
    doc = json.loads(raw[32 : 32 + n])
    doc["format_version"] = 99
    body = json.dumps(doc).encode()
    backend.put(fmt.CONFIG_KEY, raw[:28] + struct.pack("<I", len(body)) + body + raw[32 + n :])
    with pytest.raises(UnsupportedFormat, match="99"):
        Repository.open(backend, None)


def test_unencrypted_requires_the_flag_both_ways(backend) -> None:
    from pgdr.errors import KeyMissing, UsageError

    with pytest.raises(KeyMissing):
        Repository.init(backend, None)
    Repository.init(backend, None, unencrypted=True)
    with pytest.raises(UsageError, match="unencrypted"):
        Repository.open(backend, None)
    repo = Repository.open(backend, None, allow_unencrypted=True)
    store(repo, b"hello" * 1000)
    assert load(Repository.open(backend, None, allow_unencrypted=True)) == b"hello" * 1000
    assert verify(repo, read_data=True).ok


def test_key_slots_add_remove_rotate_never_touch_data(repo: Repository) -> None:
    data = os.urandom(4 * CHUNK)
    store(repo, data)
    before = {i.key for i in repo.backend.list() if not i.key.startswith(fmt.KEYS_PREFIX)}
    new = Passphrase("new secret", scrypt_n=1024)
    slot = repo.add_key(new, "rotated")
    old_slot = repo.unlocked_slot
    assert old_slot is not None
    repo.remove_key(old_slot, allow_current=True)
    after = {i.key for i in repo.backend.list() if not i.key.startswith(fmt.KEYS_PREFIX)}
    assert before == after
    with pytest.raises(WrongKey):
        Repository.open(repo.backend, PASS)
    reopened = Repository.open(repo.backend, new)
    assert reopened.unlocked_slot == slot.slot_id
    assert load(reopened) == data


def test_refuses_to_remove_last_key(repo: Repository) -> None:
    from pgdr.errors import UsageError

    assert repo.unlocked_slot is not None
    with pytest.raises(UsageError, match="last"):
        repo.remove_key(repo.unlocked_slot, allow_current=True)


def test_key_file_slot(repo: Repository, tmp_path) -> None:
    from pgdr.repo.keys import KeyFile, generate_key_file

    path = tmp_path / "repo.key"
    generate_key_file(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    repo.add_key(KeyFile(path), "file")
    assert Repository.open(repo.backend, KeyFile(path)).master == repo.master
    other = tmp_path / "other.key"
    generate_key_file(other)
    with pytest.raises(WrongKey):
        Repository.open(repo.backend, KeyFile(other))


def test_file_that_shrinks_while_stored_is_kept_as_a_prefix(repo: Repository, tmp_path) -> None:
    """Blocks of a file are read by the workers, several at once. When the file shrinks
    meanwhile (VACUUM truncating a relation during a backup), the stored stream ends at the
    first short block: a prefix of the original, never a later block shifted into its place;
    blocks read after that are packed but unreferenced, and the repository stays consistent."""
    data = random.Random(7).randbytes(20 << 20)
    src = tmp_path / "shrinking.bin"
    src.write_bytes(data)
    cut = (3 << 20) + 100
    seen: list[int] = []

    def truncate_once(offset: int, block: bytes) -> None:
        if not seen:
            os.truncate(src, cut)
        seen.append(offset)

    with BlobWriter(repo) as w:
        sd = w.store_file(src, CHUNK, inspect=truncate_once)
        w.commit_manifest("files", "f", {"size": sd.size}, sd.ids)
    back = load(Repository.open(repo.backend, PASS))
    assert len(back) == sd.size
    block = INSPECT_BATCH_BYTES  # an inspected file's blocks
    assert cut <= sd.size <= 4 * block and back == data[: sd.size]  # blocks 0-3 in flight
    assert len(seen) == len(data) // block  # every block was still read and inspected
    assert verify(repo, read_data=True).ok


def test_blocks_past_a_shrunk_end_are_read_not_taken_for_holes(tmp_path) -> None:
    """A block planned after the file shrank lies past its end: lseek(SEEK_DATA) says ENXIO
    there, as it does in a trailing hole; it must be read (short), not stored as zeros."""
    from pgdr.repo.writer import _file_blocks

    src = tmp_path / "f"
    src.write_bytes(b"x" * (4 << 20))
    fd = os.open(src, os.O_RDONLY)
    try:
        blocks = _file_blocks(fd, 1 << 20)
        assert next(blocks) == (0, 1 << 20, False)
        os.truncate(src, (1 << 20) + 100)
        assert [hole for _off, _n, hole in blocks] == [False, False, False]
    finally:
        os.close(fd)
    sparse = tmp_path / "s"  # a real trailing hole is still skipped
    with open(sparse, "wb") as f:
        f.write(b"y" * (1 << 20))
        f.truncate(3 << 20)
    fd = os.open(sparse, os.O_RDONLY)
    try:
        assert [hole for _off, _n, hole in _file_blocks(fd, 1 << 20)] == [False, True, True]
    finally:
        os.close(fd)
