"""Benchmark: the backup's storage levers on real PostgreSQL table pages (issue 14 item 4).

For relation-file chunk sizes and zstd levels, on pgbench_accounts with blank filler and with
random-text filler, it prints on the same bytes in the same run:
- stored bytes: zstd per chunk + pgdr's per-blob overhead (envelope header and GCM tag 44
  bytes, pack record head 36 bytes), divided by what pgBackRest stores (the whole file, zstd
  level 3, one frame per file: pgBackRest's default for compress-type=zst);
- one-core seal speed (keyed BLAKE3 + zstd + AES-256-GCM per chunk, as BlobWriter's workers
  do), MB/s of raw data;
- pgdr's real store (BlobWriter, both cores, a passphrase repository) wall seconds for the
  chosen configurations.
Not a test: numbers only.

    .venv/bin/python bench/chunking.py [--scale 30] [--chunks 32,64,128,256] [--levels 1,3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import blake3
import zstandard
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pgdr.repo.keys import KeyFile, generate_key_file
from pgdr.repo.repository import Repository
from pgdr.repo.writer import BlobWriter
from pgdr.storage import open_backend
from repo_store import make_data

MiB = 1 << 20
PER_BLOB = 28 + 16 + 36  # envelope header + GCM tag + pack record head


def whole_file_zstd3(files: list[Path]) -> int:
    c = zstandard.ZstdCompressor(level=3)
    return sum(len(c.compress(f.read_bytes())) for f in files)


def seal_cost(files: list[Path], chunk: int, level: int) -> tuple[int, float]:
    """(stored bytes, one-core seconds) to seal every chunk of ``files``."""
    key, nonce = os.urandom(32), os.urandom(12)
    aead, cctx = AESGCM(key), zstandard.ZstdCompressor(level=level)
    stored, secs = 0, 0.0
    for f in files:
        data = f.read_bytes()
        t = time.process_time()
        for i in range(0, len(data), chunk):
            piece = data[i : i + chunk]
            blake3.blake3(piece, key=key).digest()
            packed = cctx.compress(piece)
            body = packed if len(packed) < len(piece) else piece
            stored += len(aead.encrypt(nonce, body, None)) + PER_BLOB - 16
        secs += time.process_time() - t
    return stored, secs


def store_wall(files: list[Path], repo_dir: Path, chunk: int, level: int) -> tuple[float, int]:
    if repo_dir.exists():
        shutil.rmtree(repo_dir)
    backend = open_backend(f"file://{repo_dir}")
    key = KeyFile(repo_dir.parent / "bench.key")
    if not key.path.exists():
        generate_key_file(key.path)
    Repository.init(backend, key, compression_level=level)
    repo = Repository.open(backend, key)
    t = time.monotonic()
    with BlobWriter(repo) as w:
        refs = bytearray()
        for f in files:
            refs += w.store_file(f, chunk).ids
        w.commit_manifest("bench", "run", {}, refs)
    wall = time.monotonic() - t
    return wall, sum(p.stat().st_size for p in repo_dir.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scale", type=int, default=30)
    ap.add_argument("--chunks", default="32,64,128,256", help="KiB, comma-separated")
    ap.add_argument("--levels", default="1,3")
    ap.add_argument("--store", default="32:1,128:1,128:3", help="CHUNK_KIB:LEVEL to store for real")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pgdr-chunking-", dir="/var/tmp"))
    work.chmod(0o755)
    cluster, sets = make_data(work, args.scale)
    try:
        for name, files in sets.items():
            raw = sum(f.stat().st_size for f in files)
            ref = whole_file_zstd3(files)
            print(f"\n## {name}: {raw / MiB:.0f} MiB; whole-file zstd-3 {ref / MiB:.1f} MiB")
            print("| chunk KiB | level | stored / whole-file zstd-3 | seal MB/s (1 core) |")
            print("|---|---|---|---|")
            for kib in map(int, args.chunks.split(",")):
                for level in map(int, args.levels.split(",")):
                    stored, secs = seal_cost(files, kib * 1024, level)
                    print(f"| {kib} | {level} | {stored / ref:.3f} | {raw / secs / MiB:.0f} |")
            print("| store (BlobWriter, 2 cores) chunk KiB | level | wall s | repo / zstd-3 |")
            print("|---|---|---|---|")
            for spec in args.store.split(","):
                kib, level = map(int, spec.split(":"))
                wall, size = store_wall(files, work / "repo", kib * 1024, level)
                print(f"| {kib} | {level} | {wall:.2f} | {size / ref:.3f} |")
    finally:
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
