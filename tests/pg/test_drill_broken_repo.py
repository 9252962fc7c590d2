"""A repository that cannot deliver what the drill needs: the drill fails with the precise
cause — the damaged pack, the missing WAL segment — is recorded as failed, notifies, and
never reports success. Nothing is left behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pgdr.backup.run import take_backup
from pgdr.drill.settings import DrillSettings
from pgdr.notify.base import RecordingNotifier
from pgdr.pg.cluster import Cluster
from tests.pg.drilling import archiving_settings, drill, open_repo, switch_and_wait

pytestmark = pytest.mark.pg


def _sandboxes(base: Path) -> list[Path]:
    return list(base.glob("pgdr-drill-*")) if base.exists() else []


def test_damaged_pack_then_wal_gap(
    make_cluster: Callable[..., Cluster], archive_setup: dict[str, Any], pg_base_dir: Path
) -> None:
    src = make_cluster(settings=archiving_settings(archive_setup))
    src.sql("CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g")
    take_backup(open_repo(archive_setup), src.conninfo(), label="only")
    names = []
    for _ in range(3):
        src.sql("INSERT INTO t VALUES (0, 'more')")
        names.append(str(src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]))
    switch_and_wait(src)
    root = Path(archive_setup["root"])
    st = DrillSettings(state_dir=root / "state", sandbox_dir=root / "sandboxes")

    # 1. flip bytes in the middle of the largest pack
    pack = max(
        (root / "repo" / "data").rglob("*"), key=lambda p: p.stat().st_size if p.is_file() else 0
    )
    good = pack.read_bytes()
    bad = bytearray(good)
    bad[len(bad) // 2 : len(bad) // 2 + 8] = b"\x00\xff" * 4
    pack.write_bytes(bytes(bad))
    seen = RecordingNotifier()
    rec = drill(archive_setup, st, notifiers=[seen])
    assert rec.result == "failed" and rec.error is not None
    assert rec.error["step"] == "fetch" and rec.error["kind"] == "integrity"
    assert pack.name in rec.message and rec.message.startswith("drill failed during fetch: ")
    assert not rec.checks and [e.status for e in seen.events] == ["failure"]
    assert not _sandboxes(root / "sandboxes")
    pack.write_bytes(good)

    # 2. a WAL segment after the backup goes missing: refused before copying, naming it
    (root / "repo" / "wal" / "00000001" / names[1]).unlink()
    rec = drill(archive_setup, st, notifiers=[seen])
    assert rec.result == "failed" and rec.error is not None and rec.error["kind"] == "wal-gap"
    assert f"WAL {names[1]} is missing from the repository" in rec.message
    assert [e.status for e in seen.events] == ["failure", "failure"]
    assert seen.events[-1].previous_status == "failure"
    assert not _sandboxes(root / "sandboxes")
    # both failures are on record; neither says success
    from pgdr.drill.record import history

    assert [r.result for r in history(open_repo(archive_setup))] == ["failed", "failed"]
