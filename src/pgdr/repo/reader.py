"""Reading blobs back: parallel, ordered, every blob authenticated and its id re-checked."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from pgdr.repo.repository import Repository


class BlobReader:
    def __init__(self, repo: Repository, *, workers: int | None = None) -> None:
        self.repo = repo
        self._workers = workers or max(4, (os.cpu_count() or 2) * 2)
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="pgdr-read")

    def read(self, blob_id: bytes) -> bytes:
        return self.repo.read_blob(blob_id)

    def iter_read(self, ids: Iterable[bytes]) -> Iterator[bytes]:
        """Blobs in the order given, fetched ``workers`` ahead."""
        window: deque[Future[bytes]] = deque()
        for bid in ids:
            window.append(self._pool.submit(self.repo.read_blob, bid))
            if len(window) >= self._workers * 2:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()

    def write_file(self, ids: Iterable[bytes], path: str | Path, *, sparse: bool = True) -> int:
        """Write blobs to a file; returns its size. Zero blobs become holes when ``sparse``.
        The file is fsynced before returning."""
        n = 0
        with open(path, "wb") as f:
            for data in self.iter_read(ids):
                if sparse and _is_zero(data):
                    f.seek(len(data), os.SEEK_CUR)
                else:
                    f.write(data)
                n += len(data)
            f.truncate(n)
            f.flush()
            os.fsync(f.fileno())
        return n

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_zero(data: bytes) -> bool:
    return (
        len(data) > 0 and data[0] == 0 and data[-1] == 0 and not np.frombuffer(data, np.uint8).any()
    )
