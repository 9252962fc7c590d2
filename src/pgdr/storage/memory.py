"""mem:// — a process-local backend for tests. Named stores are shared within a process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from pgdr.errors import ObjectExists, ObjectNotFound
from pgdr.storage.base import ObjectInfo, PutOptions

_stores: dict[str, dict[str, tuple[bytes, datetime]]] = {}
_registry_lock = threading.Lock()


def drop_store(name: str) -> None:
    with _registry_lock:
        _stores.pop(name, None)


class MemoryBackend:
    def __init__(self, name: str) -> None:
        self.url = f"mem://{name}"
        with _registry_lock:
            self._data = _stores.setdefault(name, {})
        self._lock = threading.Lock()

    def put(self, key: str, data: bytes | BinaryIO, options: PutOptions | None = None) -> None:
        value = bytes(data) if isinstance(data, bytes | bytearray | memoryview) else data.read()
        with self._lock:
            self._data[key] = (value, datetime.now(UTC))

    def put_new(self, key: str, data: bytes, options: PutOptions | None = None) -> None:
        with self._lock:
            if key in self._data:
                raise ObjectExists(f"{self.url}/{key} already exists; not replaced")
            self._data[key] = (bytes(data), datetime.now(UTC))

    def get(self, key: str, offset: int = 0, length: int | None = None) -> bytes:
        with self._lock:
            item = self._data.get(key)
        if item is None:
            raise ObjectNotFound(f"{self.url}/{key}: no such object")
        end = None if length is None else offset + length
        return item[0][offset:end]

    def stat(self, key: str) -> ObjectInfo | None:
        with self._lock:
            item = self._data.get(key)
        return None if item is None else ObjectInfo(key, len(item[0]), item[1])

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        with self._lock:
            items = sorted((k, v) for k, v in self._data.items() if k.startswith(prefix))
        return iter([ObjectInfo(k, len(v[0]), v[1]) for k, v in items])

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def close(self) -> None:
        pass
