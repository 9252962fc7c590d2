"""`pgdr export verify ID`: re-read every file of an export and check it against the manifest
(docs/design.md §8j): ``_SUCCESS`` present and equal to the manifest's SHA-256, every part
present with its SHA-256 and size, and its Parquet footer's row count and schema (column
names and Arrow types) equal to the manifest's."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from pgdr.errors import ObjectNotFound
from pgdr.export.manifest import (
    SUCCESS_NAME,
    FileEntry,
    TableEntry,
    parse,
    success_matches,
)
from pgdr.export.target import ExportTarget

CHUNK = 16 << 20


@dataclass
class VerifyResult:
    export_id: str
    files: int = 0
    bytes: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def render_text(self, console: object) -> None:
        from rich.console import Console

        assert isinstance(console, Console)
        for p in self.problems:
            console.print(f"DAMAGED  {p}")
        state = "OK" if self.ok else f"{len(self.problems)} problem(s)"
        console.print(
            f"export {self.export_id}: {self.files} file(s), {self.rows} row(s), "
            f"{self.bytes} bytes checked: {state}"
        )


def verify_export(
    target: ExportTarget, export_id: str, work_dir: Path | None = None
) -> VerifyResult:
    raw = target.manifest_bytes(export_id)
    manifest = parse(raw)
    result = VerifyResult(export_id)
    try:
        success = target.get(export_id, SUCCESS_NAME)[:256]
        if not success_matches(raw, success):
            result.problems.append(f"{SUCCESS_NAME} does not match the manifest's SHA-256")
    except ObjectNotFound:
        result.problems.append(f"{SUCCESS_NAME} missing: the export is incomplete")
    for table in manifest.tables:
        for entry in table.files:
            problem = _check_file(target, export_id, table, entry, work_dir)
            if problem:
                result.problems.append(f"{entry.path}: {problem}")
            else:
                result.files += 1
                result.bytes += entry.bytes
                result.rows += entry.rows
    return result


def _check_file(
    target: ExportTarget,
    export_id: str,
    table: TableEntry,
    entry: FileEntry,
    work_dir: Path | None,
) -> str | None:
    info = target.stat(export_id, entry.path)
    if info is None:
        return "missing"
    if info.size != entry.bytes:
        return f"{info.size} bytes, the manifest says {entry.bytes}"
    fd, name = tempfile.mkstemp(prefix="verify-", suffix=".parquet", dir=work_dir)
    try:
        sha = hashlib.sha256()
        with os.fdopen(fd, "wb") as f:
            offset = 0
            while offset < info.size:
                chunk = target.backend.get(target.key(export_id, entry.path), offset, CHUNK)
                if not chunk:
                    break
                sha.update(chunk)
                f.write(chunk)
                offset += len(chunk)
        if sha.hexdigest() != entry.sha256:
            return "SHA-256 differs from the manifest"
        return _check_parquet(Path(name), table, entry)
    finally:
        os.unlink(name)


def _check_parquet(path: Path, table: TableEntry, entry: FileEntry) -> str | None:
    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
        rows = pf.metadata.num_rows
    except Exception as exc:  # a file whose hash matches but pyarrow cannot read
        return f"not a readable Parquet file ({exc})"
    if rows != entry.rows:
        return f"{rows} rows, the manifest says {entry.rows}"
    got = [(f.name, str(f.type)) for f in schema]
    want = [(c.name, c.arrow_type) for c in table.columns]
    if got != want:
        return f"schema {got} differs from the manifest's {want}"
    return None
