"""The end-of-archive probe of a restored server (``pgdr wal-fetch`` of a segment that is not
archived) answers the promotion's history probes ahead: PostgreSQL then takes them from the
restore_command's shell (``pgdr.wal.prefetch_fill.note_end_of_archive``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgdr.repo.repository import Repository
from pgdr.wal import archive
from pgdr.wal.prefetch_fill import note_end_of_archive

pytestmark = pytest.mark.component

END = "000000010000000000000007"


def history(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_text("1\t0/3000000\tno recovery target specified\n")
    return path


def test_archived_histories_are_placed_and_the_free_one_is_marked(
    repo: Repository, tmp_path: Path
) -> None:
    archive.push(repo, history(tmp_path, "00000002.history"))
    spool = tmp_path / "pgdr_prefetch"
    (spool / "absent").mkdir(parents=True)
    note_end_of_archive(repo, spool, END)
    assert (spool / "prefetch" / "00000002.history").read_text().startswith("1\t")
    assert sorted(p.name for p in (spool / "absent").iterdir()) == ["00000003.history"]


def test_nothing_for_a_spool_the_restore_did_not_prepare(repo: Repository, tmp_path: Path) -> None:
    spool = tmp_path / "pgdr_prefetch"
    spool.mkdir()
    note_end_of_archive(repo, spool, END)
    note_end_of_archive(repo, spool, "00000002.history")
    assert list(spool.iterdir()) == []
