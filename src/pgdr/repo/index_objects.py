"""Index objects (``index/<blake3 of the object>``) and the index readers and writers see:
every index object that no other present index object supersedes (docs/design.md §7)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import blake3

from pgdr.errors import IntegrityError, ObjectNotFound
from pgdr.repo import format as fmt
from pgdr.repo.envelope import Sealer
from pgdr.repo.format import ObjectType
from pgdr.storage.base import Backend

if TYPE_CHECKING:  # NumPy loads only when the index does: WAL pushes never need it
    from pgdr.repo.index import BlobIndex, IndexFile, Location

INDEX_CONTEXT = b"pgdr-index"


def active_index_ids(objs: dict[bytes, IndexFile]) -> list[bytes]:
    """Index objects that no present index object supersedes, sorted."""
    superseded = {sid for f in objs.values() for sid in f.supersedes}
    return sorted(i for i in objs if i not in superseded)


class IndexObjects:
    """Index loading and writing; mixed into Repository (which provides ``backend``,
    ``sealer``, and the cached ``_index`` with its ``_reload_lock``)."""

    backend: Backend
    sealer: Sealer
    _index: BlobIndex | None
    _reload_lock: threading.Lock

    @property
    def index(self) -> BlobIndex:
        if self._index is None:
            self._index = self.load_index()
        return self._index

    def invalidate_index(self) -> None:
        self._index = None

    def read_index_file(self, key: str) -> IndexFile:
        from pgdr.repo.index import IndexFile

        data = self.backend.get(key)
        name = key[len(fmt.INDEX_PREFIX) :]
        if blake3.blake3(data).hexdigest() != name:
            raise IntegrityError(f"{key}: content does not match its name (damaged)")
        plain = self.sealer.open(data, INDEX_CONTEXT, key, ObjectType.INDEX)
        return IndexFile.decode(plain, key)

    def read_index_objects(self) -> dict[bytes, IndexFile]:
        """Every index object by id, superseded ones included. An object that vanishes
        between list and get was retired by garbage collection after its replacement was
        written: list again."""
        for attempt in range(5):
            keys = [i.key for i in self.backend.list(fmt.INDEX_PREFIX)]
            try:
                with ThreadPoolExecutor(max_workers=8) as pool:
                    files = list(pool.map(self.read_index_file, keys))
            except ObjectNotFound:
                if attempt == 4:
                    raise
                continue
            return {
                bytes.fromhex(k[len(fmt.INDEX_PREFIX) :]): f
                for k, f in zip(keys, files, strict=True)
            }
        raise AssertionError("unreachable")

    def load_index(self) -> BlobIndex:
        """The index as readers and writers see it: every index object that no other
        present index object supersedes (docs/design.md §7)."""
        objs = self.read_index_objects()
        from pgdr.repo.index import BlobIndex

        idx = BlobIndex()
        for index_id in active_index_ids(objs):
            idx.load(index_id, objs[index_id])
        return idx

    def write_index(
        self, items: list[tuple[bytes, Location]], supersedes: list[bytes] | None = None
    ) -> bytes:
        """Write one index object; the packs it names MUST already be durable."""
        from pgdr.repo.index import IndexFile

        f = IndexFile.build(items, supersedes or [])
        data = self.sealer.seal(ObjectType.INDEX, f.encode(), INDEX_CONTEXT)
        index_id = blake3.blake3(data).digest()
        self.backend.put(fmt.index_key(index_id), data)
        return index_id

    def iter_index_keys(self) -> Iterator[str]:
        return (i.key for i in self.backend.list(fmt.INDEX_PREFIX))
