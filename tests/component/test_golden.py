"""Old repositories stay readable: a repository written by format 1 is kept in the tree and
must open, verify and restore byte-exact with every later pgdr."""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from pgdr.repo.files import fetch_files
from pgdr.repo.keys import Passphrase
from pgdr.repo.repository import Repository
from pgdr.repo.verify import verify
from pgdr.storage import open_backend

pytestmark = pytest.mark.component
GOLDEN = Path(__file__).parents[1] / "golden"


def test_format_1_repository_reads_back(tmp_path: Path) -> None:
    repo_dir = tmp_path / "v1"
    shutil.copytree(GOLDEN / "v1", repo_dir)  # never touch the committed copy
    # Written with the test override PGDR_KDF_N=1024, which the reader needs too: a slot
    # asking for less than the scrypt cost pgdr writes is refused otherwise (§5 bounds).
    key = Passphrase("golden passphrase v1", scrypt_n=1024)
    repo = Repository.open(open_backend(f"file://{repo_dir}"), key)
    assert repo.config.format_version == 1
    assert verify(repo, read_data=True).ok
    fetch_files(repo, "golden", tmp_path / "out")
    expected = dict(line.split()[::-1] for line in (GOLDEN / "v1.sha256").read_text().splitlines())
    got = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (tmp_path / "out" / "golden-set").iterdir()
    }
    assert got == expected


def _info_fixture() -> Any:
    """Fixed facts (no clock, no random ids): what `pgdr info` shows for a small history."""
    from pgdr.catalog.manifest import BackupManifest, BackupStats, PageErrors
    from pgdr.restore.info import Info, WalRange, backup_row

    def at(s: str) -> datetime:
        return datetime.fromisoformat(s).replace(tzinfo=UTC)

    def backup(bid: str, start: str, stop: str, lsn: int, tli: int, **kw: Any) -> BackupManifest:
        seg = f"{tli:08X}{lsn >> 32:08X}{(lsn >> 24) & 0xFF:08X}"
        return BackupManifest(
            bid,
            "full" if "ZF-" in bid else "incr",
            kw.pop("label", f"pgdr {bid}"),
            at(start),
            at(stop),
            lsn + 0x28,
            lsn + 0x138,
            tli,
            (seg,),
            **kw,
        )

    rows = [
        backup_row(
            backup(
                "20261124T030000ZF-3fa9c1",
                "2026-11-24T03:00:00.2",
                "2026-11-24T03:01:12.4",
                0x2000000,
                1,
                stats=BackupStats(1_288_490_189, 1_288_490_189, 421_617_664, 1000),
            ),
            None,
        ),
        backup_row(
            backup(
                "20261124T235959ZI-0b7d22",
                "2026-11-24T23:59:59.9",
                "2026-11-25T00:00:05",
                0x5000000,
                2,
                label="before [upgrade] nightly",
                stats=BackupStats(1_300_000_000, 52_428_800, 9_961_472, 1012),
            ),
            None,
        ),
        backup_row(
            backup(
                "20261125T030000ZI-c0ffee",
                "2026-11-25T03:00:00",
                "2026-11-25T03:02:03.5",
                0x1A_FF000000,
                2,
                stats=BackupStats(1_310_720_000, 10_485_760, 2_097_152, 1013),
                page_checksum_errors=(PageErrors("base/5/16384", (3, 7)),),
            ),
            "WAL 0000000200000000000000FF is missing",
        ),
    ]
    wal = [
        WalRange(
            1,
            "000000010000000000000001",
            "000000010000000000000004",
            4,
            role="production's history (left at timeline 2)",
        ),
        WalRange(
            2,
            "000000020000000000000004",
            "0000000200000000000000FF",
            250,
            gaps=[f"0000000200000000000000{n:02X}" for n in (0x10, 0x11, 0x12, 0x13)],
        ),
    ]
    return Info(
        "file:///var/lib/pgdr/repo",
        rows,
        wal,
        "2026-11-24T03:01:12.4+00:00",
        "2026-11-25T03:10:00.9+00:00",
        2,
    )


def test_info_text_at_80_columns() -> None:
    """`pgdr info` in an 80-column terminal: whole ids, start/stop times, sizes; no line wider
    than 80. PGDR_UPDATE_GOLDEN=1 rewrites the golden file (review the diff)."""
    console = Console(width=80, soft_wrap=True, record=True, color_system=None)
    _info_fixture().render_text(console)
    text = console.export_text()
    golden = GOLDEN / "info-80.txt"
    if os.environ.get("PGDR_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80
    for bid in ("20261124T030000ZF-3fa9c1", "20261124T235959ZI-0b7d22", "20261125T030000ZI-c0ffee"):
        assert bid in text
    assert text == golden.read_text()
