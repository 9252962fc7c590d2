"""`pgdr demo` — the repository round trip on embedded defaults, told as a short story.

Creates a temporary encrypted repository, stores a data set, changes part of it and stores it
again (only the changed chunks are uploaded), reads both versions back bit-identically,
rotates the key without re-uploading data, verifies every byte, and shows that a single
flipped byte is detected and named. The backup issue turns this into backup -> PITR.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pgdr.errors import IntegrityError
from pgdr.humanize import human
from pgdr.repo import format as fmt
from pgdr.repo.files import fetch_files, store_files
from pgdr.repo.keys import Passphrase
from pgdr.repo.repository import Repository
from pgdr.repo.verify import verify
from pgdr.storage import open_backend

WORDS = (
    "recall crib stroller car seat strap buckle choking hazard small parts lead paint batteries "
    "magnet infant sleeper incline suffocation tip-over dresser latch hinge fall burn fire "
    "overheating charger label warning consumer refund repair replace retailer units sold"
).split()


def _sample_data(root: Path, rng: random.Random) -> None:
    """A few realistic files: a recalls CSV export (text), a binary blob, a sparse file."""
    root.mkdir(parents=True)
    with open(root / "recalls.csv", "w") as f:
        f.write("id,date,brand,product,hazard,description\n")
        for i in range(120_000):
            desc = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 24)))
            f.write(
                f"{i},2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},"
                f"brand{rng.randint(1, 400)},{rng.choice(WORDS)} {rng.choice(WORDS)},"
                f"{rng.choice(WORDS)},{desc}\n"
            )
    (root / "photos.bin").write_bytes(rng.randbytes(6 << 20))
    with open(root / "sparse.img", "wb") as f:
        f.truncate(256 << 20)
        f.seek(100 << 20)
        f.write(rng.randbytes(1 << 20))


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def run_demo(workdir: Path | None = None) -> None:
    console = Console(soft_wrap=True)
    keep = workdir is not None
    base = workdir or Path(tempfile.mkdtemp(prefix="pgdr-demo-"))
    base.mkdir(parents=True, exist_ok=True)
    rng = random.Random(2026)
    t_start = time.monotonic()
    try:
        step = 0

        def say(text: str) -> None:
            nonlocal step
            step += 1
            console.print(f"\n[bold cyan]{step}.[/] {text}")

        say("A sample data set: a recalls export, binary files, a 256 MiB sparse image")
        data = base / "data"
        _sample_data(data, rng)
        size = sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
        console.print(f"   {data}: {human(size)} (apparent size)")

        say("An encrypted repository (AES-256-GCM, zstd, keyed BLAKE3 ids)")
        url = f"file://{base}/repo"
        passphrase = Passphrase("demo passphrase, keep it secret", scrypt_n=1 << 14)
        repo = Repository.init(open_backend(url), passphrase, pack_size=8 << 20)
        console.print(f"   {url}  id {repo.config.repo_id}")

        say("Store the data set")
        t = time.monotonic()
        stats, n = store_files(repo, [data], "monday", 64 * 1024)
        dt = time.monotonic() - t
        console.print(
            f"   {n} files, {human(stats.bytes_raw)} in {dt:.2f} s → {human(stats.bytes_stored)} "
            f"uploaded ({stats.packs} packs); {stats.blobs_dedup} chunks deduplicated"
        )

        say("Change 1% of the data and store again: only new chunks are uploaded")
        with open(data / "photos.bin", "r+b") as f:
            f.seek(3 << 20)
            f.write(rng.randbytes(64 * 1024))
        with open(data / "recalls.csv", "a") as csv:
            csv.write("120000,2026-11-24,brand7,crib bumper,suffocation,new recall added today\n")
        stats2, _ = store_files(
            Repository.open(repo.backend, passphrase), [data], "tuesday", 64 * 1024
        )
        console.print(
            f"   offered {human(stats2.bytes_raw)}, uploaded {human(stats2.bytes_stored)} "
            f"({stats2.blobs_new} new chunks, {stats2.blobs_dedup} already stored)"
        )

        say("Read both versions back and compare")
        repo = Repository.open(repo.backend, passphrase)
        fetch_files(repo, "tuesday", base / "restored-tuesday")
        fetch_files(repo, "monday", base / "restored-monday")
        same = _digest(base / "restored-tuesday" / "data") == _digest(data)
        console.print(f"   tuesday restored bit-identical: [bold]{'yes' if same else 'NO'}[/]")
        if not same:
            raise SystemExit("demo failed: restored data differs")

        say("Rotate the key: rewrap the master key, upload no data")
        objects_before = {
            i.key for i in repo.backend.list() if not i.key.startswith(fmt.KEYS_PREFIX)
        }
        new_pass = Passphrase("rotated demo passphrase", scrypt_n=1 << 14)
        old_slot = repo.unlocked_slot
        repo.add_key(new_pass, "rotated")
        assert old_slot is not None
        repo.remove_key(old_slot, allow_current=True)
        objects_after = {
            i.key for i in repo.backend.list() if not i.key.startswith(fmt.KEYS_PREFIX)
        }
        repo = Repository.open(repo.backend, new_pass)
        console.print(f"   data objects changed by rotation: {len(objects_before ^ objects_after)}")

        say("Verify every object, reading all data")
        report = verify(repo, read_data=True)
        table = Table("object kind", "checked")
        for kind, count in sorted(report.checked.items()):
            table.add_row(kind, str(count))
        console.print(table)
        console.print(f"   result: [bold green]{'no problems' if report.ok else 'PROBLEMS'}[/]")

        say("Flip one byte in one pack: reading and verify both catch it")
        pack = next(iter(repo.backend.list(fmt.DATA_PREFIX)))
        raw = bytearray(repo.backend.get(pack.key))
        raw[len(raw) // 2] ^= 0x01
        repo.backend.put(pack.key, bytes(raw))
        report = verify(Repository.open(repo.backend, new_pass), read_data=True)
        for p in report.problems[:2]:
            console.print(f"   [red]damaged[/] {p.object}: {p.message}")
        try:
            fetch_files(Repository.open(repo.backend, new_pass), "tuesday", base / "restored-bad")
            console.print("   [red]restore returned data from a damaged pack — this is a bug[/]")
        except IntegrityError as e:
            console.print(f"   restore refuses: {e.message[:110]}")

        console.print(
            f"\n[bold]Demo finished in {time.monotonic() - t_start:.1f} s.[/] "
            f"Files are in {base}" + ("" if keep else " (removed now)")
        )
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
    os.sync()
