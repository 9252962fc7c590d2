"""Benchmark: store ~1 GiB of real PostgreSQL table pages into a file:// repository.

Data comes from a throw-away cluster: pgbench tables (blank filler, compresses ~20:1) and the
same rows with random text in the filler (compresses ~3:1, closer to real tables). For each
data set the script prints, on the same bytes in the same run: warm `cat` to /dev/null,
single-core zstd-1, BLAKE3 and AES-256-GCM speed, and pgdr's store speed (new data, then the
same data again, which is all dedup), with pgdr / zstd-1 ratios. Not a test: numbers only.

    .venv/bin/python bench/repo_store.py [--scale 70] [--chunk-kib 64] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import blake3
import zstandard
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pgdr.pg.cluster import Cluster
from pgdr.repo.keys import Passphrase
from pgdr.repo.repository import Repository
from pgdr.repo.writer import BlobWriter
from pgdr.storage import open_backend

MiB = 1 << 20


def relation_files(cluster: Cluster, tables: list[str]) -> list[Path]:
    files: list[Path] = []
    for t in tables:
        (path,) = cluster.sql("SELECT pg_relation_filepath(%s)", (t,))[0]
        base = cluster.data_dir / path
        files += sorted(base.parent.glob(base.name + "*"))
    return [f for f in files if f.is_file() and "_" not in f.name.split(".")[0][-4:]]


def make_data(work: Path, scale: int) -> tuple[Cluster, dict[str, list[Path]]]:
    cluster = Cluster.create(work / "pg", settings={"fsync": "off", "max_wal_size": "4GB"})
    cluster.start()
    cluster.run_tool("pgbench", "-i", "-q", "-s", str(scale), "postgres")
    # The same rows with random words in the filler: hex text compresses about 3:1 in pages.
    cluster.sql(
        "CREATE TABLE accounts_text AS SELECT aid, bid, abalance, "
        "substr(md5(random()::text) || ' ' || md5(random()::text) || ' name ' || "
        "md5(random()::text), 1, 84)::char(84) AS filler FROM pgbench_accounts"
    )
    cluster.sql("CHECKPOINT")
    sets = {
        "pgbench (blank filler)": relation_files(cluster, ["pgbench_accounts"]),
        "random-text filler": relation_files(cluster, ["accounts_text"]),
    }
    return cluster, sets


def read_all(files: list[Path], chunk: int) -> list[bytes]:
    out = []
    for f in files:
        with open(f, "rb") as fh:
            while block := fh.read(chunk):
                out.append(block)
    return out


def rate(nbytes: int, fn: Callable[[], object], repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return nbytes / best / MiB


def primitive_speeds(blocks: list[bytes], nbytes: int) -> tuple[float, float, float, int]:
    """Single-core zstd-1, keyed BLAKE3 and AES-256-GCM over the same chunks."""
    key = os.urandom(32)
    aead, nonce = AESGCM(key), os.urandom(12)
    cctx = zstandard.ZstdCompressor(level=1)
    zstd_rate = rate(nbytes, lambda: [cctx.compress(b) for b in blocks], 2)
    compressed = sum(len(cctx.compress(b)) for b in blocks)
    b3_rate = rate(nbytes, lambda: [blake3.blake3(b, key=key).digest() for b in blocks], 2)
    aes_rate = rate(nbytes, lambda: [aead.encrypt(nonce, b, None) for b in blocks], 2)
    return zstd_rate, b3_rate, aes_rate, compressed


def cat_speed(files: list[Path], nbytes: int) -> float:
    args = ["cat", *map(str, files)]
    subprocess.run(args, stdout=subprocess.DEVNULL, check=True)  # warm the cache

    def run() -> None:
        subprocess.run(args, stdout=subprocess.DEVNULL, check=True)

    return rate(nbytes, run, repeat=3)


def store_speed(
    files: list[Path], nbytes: int, repo_dir: Path, chunk: int
) -> tuple[float, float, int]:
    if repo_dir.exists():
        shutil.rmtree(repo_dir)
    repo = Repository.init(open_backend(f"file://{repo_dir}"), Passphrase("bench", scrypt_n=1024))

    def store() -> None:
        r = Repository.open(repo.backend, Passphrase("bench"))
        with BlobWriter(r) as w:
            refs = bytearray()
            for f in files:
                refs += w.store_file(f, chunk).ids
            w.commit_manifest("bench", f"run-{time.time_ns()}", {}, refs)

    first = rate(nbytes, store)
    again = rate(nbytes, store)
    stored = sum(i.size for i in repo.backend.list("data/"))
    return first, again, stored


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scale", type=int, default=70, help="pgbench scale (70 ≈ 0.9 GiB accounts)")
    ap.add_argument("--chunk-kib", type=int, default=64)
    ap.add_argument("--keep", type=Path, help="work directory to keep (default: temporary)")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="pgdr-bench-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o755)
    chunk = args.chunk_kib * 1024
    cluster, sets = make_data(work, args.scale)
    try:
        print(f"cores: {os.cpu_count()}   chunk: {args.chunk_kib} KiB   all speeds MB/s (MiB)")
        header = (
            "data",
            "size MiB",
            "cat",
            "zstd-1 1core",
            "blake3",
            "aes-gcm",
            "pgdr store",
            "pgdr dedup",
            "store/zstd",
            "stored MiB",
            "zstd ratio",
        )
        print(" | ".join(header))
        for name, files in sets.items():
            nbytes = sum(f.stat().st_size for f in files)
            zstd_rate, b3_rate, aes_rate, compressed = primitive_speeds(
                read_all(files, chunk), nbytes
            )
            cat = cat_speed(files, nbytes)
            first, again, stored = store_speed(files, nbytes, work / "repo", chunk)
            row = (
                name,
                f"{nbytes / MiB:.0f}",
                f"{cat:.0f}",
                f"{zstd_rate:.0f}",
                f"{b3_rate:.0f}",
                f"{aes_rate:.0f}",
                f"{first:.0f}",
                f"{again:.0f}",
                f"{first / zstd_rate:.2f}x",
                f"{stored / MiB:.0f}",
                f"{nbytes / compressed:.1f}:1",
            )
            print(" | ".join(row))
    finally:
        cluster.destroy()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
