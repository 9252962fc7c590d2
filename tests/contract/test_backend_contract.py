"""One contract every backend passes: memory, local disk, and S3 over real HTTP (moto)."""

from __future__ import annotations

import io
import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest

from pgdr.errors import ObjectExists, ObjectNotFound
from pgdr.storage import StorageOptions, open_backend
from pgdr.storage.base import Backend

pytestmark = pytest.mark.contract
_n = itertools.count()
SMALL_MULTIPART = StorageOptions(multipart_threshold=5 << 20, multipart_chunksize=5 << 20)


@pytest.fixture(params=["mem", "file", "s3"])
def backend(request, tmp_path) -> Backend:
    if request.param == "mem":
        url = f"mem://contract-{next(_n)}"
    elif request.param == "file":
        url = f"file://{tmp_path}/store"
    else:
        url = request.getfixturevalue("s3_url")
    b = open_backend(url, SMALL_MULTIPART)
    yield b
    b.close()


def test_round_trip_sizes(backend: Backend) -> None:
    for key, data in [("a/empty", b""), ("a/one", b"x"), ("a/all", bytes(range(256)) * 3)]:
        backend.put(key, data)
        assert backend.get(key) == data
        info = backend.stat(key)
        assert info is not None and info.size == len(data) and info.key == key


def test_ranged_get(backend: Backend) -> None:
    data = bytes(range(256)) * 40
    backend.put("r", data)
    assert backend.get("r", 10) == data[10:]
    assert backend.get("r", 10, 100) == data[10:110]
    assert backend.get("r", len(data) - 5, 100) == data[-5:]
    assert backend.get("r", 3, 0) == b""


def test_missing(backend: Backend) -> None:
    assert backend.stat("nope") is None
    with pytest.raises(ObjectNotFound):
        backend.get("nope")
    backend.delete("nope")  # not an error


def test_list_is_sorted_and_filtered_by_prefix(backend: Backend) -> None:
    keys = ["data/bb/2", "data/aa/1", "index/x", "data/aa/0", "config", "data/ab"]
    for k in keys:
        backend.put(k, k.encode())
    assert [o.key for o in backend.list()] == sorted(keys)
    assert [o.key for o in backend.list("data/")] == [
        "data/aa/0",
        "data/aa/1",
        "data/ab",
        "data/bb/2",
    ]
    assert [o.key for o in backend.list("data/a")] == ["data/aa/0", "data/aa/1", "data/ab"]
    assert [o.key for o in backend.list("zzz")] == []
    assert {o.key: o.size for o in backend.list("index/")} == {"index/x": 7}


def test_overwrite_and_delete(backend: Backend) -> None:
    backend.put("k", b"one")
    backend.put("k", b"two!")
    assert backend.get("k") == b"two!"
    backend.delete("k")
    assert backend.stat("k") is None
    assert [o.key for o in backend.list()] == []


def test_put_from_file_object_and_multipart(backend: Backend) -> None:
    big = bytes(range(251)) * (21 * 1024 * 1024 // 251)  # ~21 MiB: several 5 MiB parts on S3
    backend.put("big", io.BytesIO(big))
    assert backend.stat("big").size == len(big)  # type: ignore[union-attr]
    assert backend.get("big") == big
    assert backend.get("big", 7 << 20, 10) == big[7 << 20 : (7 << 20) + 10]
    backend.put("big-bytes", big)
    assert backend.get("big-bytes", len(big) - 3) == big[-3:]


def test_list_paginates(backend: Backend) -> None:
    keys = [f"many/{i:05d}" for i in range(1100)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: backend.put(k, b"."), keys))
    assert [o.key for o in backend.list("many/")] == keys


def test_put_new_never_replaces(backend: Backend) -> None:
    backend.put_new("manifests/backup/x", b"first")
    with pytest.raises(ObjectExists):
        backend.put_new("manifests/backup/x", b"second")
    assert backend.get("manifests/backup/x") == b"first"
    backend.put("plain", b"one")
    with pytest.raises(ObjectExists):
        backend.put_new("plain", b"two")
    assert backend.get("plain") == b"one"
    assert [o.key for o in backend.list()] == ["manifests/backup/x", "plain"]  # no temp left


def test_put_new_racing_writers_one_wins(backend: Backend) -> None:
    def attempt(i: int) -> bool:
        try:
            backend.put_new("race", f"writer {i}".encode())
            return True
        except ObjectExists:
            return False

    with ThreadPoolExecutor(8) as pool:
        won = [i for i, ok in enumerate(pool.map(attempt, range(8))) if ok]
    assert len(won) == 1
    assert backend.get("race") == f"writer {won[0]}".encode()
