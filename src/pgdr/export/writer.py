"""Parquet parts of one table: zstd, row groups sized for scans, parts of bounded size,
optional ``month=YYYY-MM/`` partitions, SHA-256 computed while the bytes are written
(docs/design.md §8j).

A part is written to a private local file, then uploaded to the exports target in one put
(atomic on every backend); the local file is removed. Rows arrive in partition order (the
reader sorts by the partition column), so one part is open at a time.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pgdr.export.encoding import WriterOptions, writer_options
from pgdr.export.manifest import FileEntry
from pgdr.export.target import ExportTarget

#: Hive's name for the partition of NULL keys (Athena, Spark and DuckDB know it).
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
#: A row group is flushed at this many buffered bytes even before its row count is reached.
ROW_GROUP_MAX_BYTES = 64 << 20


@dataclass(frozen=True)
class PartLimits:
    part_bytes: int = 256 << 20
    row_group_rows: int = 122_880
    #: zstd level of the column chunks where it pays (``encoding.level_for``: else level 1);
    #: higher levels trade export time for bytes, §8j
    zstd_level: int = 3


class HashingFile:
    """A write-only local file that hashes what goes through it (pyarrow writes here)."""

    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        self._f = os.fdopen(fd, "wb")
        self.sha = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data: bytes | memoryview) -> int:
        self.sha.update(data)
        self._f.write(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self._f.flush()

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self._f.close()
            self.closed = True


class TableOptions:
    """The encodings and zstd levels of one table's parts, chosen once from the first rows
    any of its writers flushes and shared by its ranges and partitions (choosing reads a
    sample of every column and compresses it twice: ~40 ms of CPU on the reference
    ``recalls``, once per part before)."""

    def __init__(self) -> None:
        self._options: WriterOptions | None = None
        self._lock = threading.Lock()

    def get(self, sample: pa.RecordBatch, level: int) -> WriterOptions:
        with self._lock:
            if self._options is None:
                self._options = writer_options(sample, level)
            return self._options


class PartNumbers:
    """Part numbers per directory, shared by the writers of one table's ranges."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, directory: str) -> int:
        with self._lock:
            n = self._next.get(directory, 0)
            self._next[directory] = n + 1
            return n


class TableWriter:
    """Writes one table's batches as parts under ``<database>/<schema>.<table>/``."""

    def __init__(
        self,
        target: ExportTarget,
        export_id: str,
        directory: str,
        schema: pa.Schema,
        limits: PartLimits,
        work_dir: Path,
        on_part: Callable[[FileEntry], None] = lambda _f: None,
        numbers: PartNumbers | None = None,
        options: TableOptions | None = None,
    ) -> None:
        self.target, self.export_id, self.directory = target, export_id, directory
        self.schema, self.limits, self.work_dir = schema, limits, work_dir
        self.on_part = on_part
        self.numbers = numbers or PartNumbers()
        self.options = options or TableOptions()
        self.files: list[FileEntry] = []
        self._partition: str | None = None
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = self._pending_bytes = 0
        self._writer: pq.ParquetWriter | None = None
        self._file: HashingFile | None = None
        self._local: Path | None = None
        self._rows = 0

    def write(self, batch: pa.RecordBatch, partition: str | None = None) -> None:
        if partition != self._partition:
            self._close_part()
            self._partition = partition
        offset = 0
        while offset < batch.num_rows:  # row groups of at most row_group_rows rows
            piece = batch.slice(offset, self.limits.row_group_rows - self._pending_rows)
            offset += piece.num_rows
            self._pending.append(piece)
            self._pending_rows += piece.num_rows
            self._pending_bytes += piece.nbytes
            if (
                self._pending_rows >= self.limits.row_group_rows
                or self._pending_bytes >= ROW_GROUP_MAX_BYTES
            ):
                self._flush_row_group()
                if self._file is not None and self._file.size >= self.limits.part_bytes:
                    self._close_part()

    def finish(self, empty_part: bool = True) -> list[FileEntry]:
        """Close the last part; a table without rows still gets one (empty) part, so
        readers that glob its directory find its schema (``empty_part``: the first of a
        table's ranges writes it, the others do not)."""
        if empty_part and not self.files and not self._pending and self._writer is None:
            self._pending.append(pa.RecordBatch.from_pylist([], schema=self.schema))
        self._close_part()
        return self.files

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._file is not None:
            self._file.close()
        if self._local is not None:
            self._local.unlink(missing_ok=True)
        self._writer = self._file = self._local = None

    def _relative(self) -> str:
        sub = f"month={self._partition}/" if self._partition is not None else ""
        number = self.numbers.take(self.directory + sub)
        return f"{self.directory}{sub}part-{number:05d}.parquet"

    def _flush_row_group(self) -> None:
        if not self._pending:
            return
        if self._writer is None:
            fd, name = tempfile.mkstemp(prefix="part-", suffix=".parquet", dir=self.work_dir)
            os.close(fd)
            os.unlink(name)
            self._local = Path(name)
            self._file = HashingFile(self._local)
            options = self.options.get(self._pending[0], self.limits.zstd_level)
            self._writer = pq.ParquetWriter(
                self._file,
                self.schema,
                compression="zstd",
                write_statistics=True,
                **options.kwargs(),  # type: ignore[arg-type]
            )
            self._rows = 0
        table = pa.Table.from_batches(self._pending, schema=self.schema)
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self._rows += table.num_rows
        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0

    def _close_part(self) -> None:
        self._flush_row_group()
        if self._writer is None:
            return
        assert self._file is not None and self._local is not None
        self._writer.close()
        self._file.close()
        relative = self._relative()
        with self._local.open("rb") as f:
            self.target.put(self.export_id, relative, f)
        entry = FileEntry(relative, self._rows, self._file.size, self._file.sha.hexdigest())
        self._local.unlink()
        self.files.append(entry)
        self.on_part(entry)
        self._writer = self._file = self._local = None
