"""The repository records its cluster on the first push; another cluster's segment is
refused (ClusterMismatch, 55) and nothing of it is stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgdr.catalog.wal import list_wal
from pgdr.errors import ClusterMismatch
from pgdr.pg.wal_header import BadWalFile, fake_segment
from pgdr.repo.repository import Repository
from pgdr.wal import archive, cluster

pytestmark = pytest.mark.component
FIRST, SECOND = 7312345678901234567, 7400000000000000001


def segment(tmp_path: Path, name: str, sysid: int, size: int = 1 << 20) -> Path:
    p = tmp_path / name
    p.write_bytes(fake_segment(name, sysid, size, body=name.encode()))
    return p


def test_the_first_push_records_the_cluster_and_another_cluster_is_refused(
    repo: Repository, tmp_path: Path
) -> None:
    assert cluster.recorded(repo) is None
    archive.push(repo, segment(tmp_path, "000000010000000000000001", FIRST))
    ident = cluster.recorded(repo)
    assert ident is not None and ident.system_identifier == str(FIRST)
    assert ident.wal_segment_size == 1 << 20 and ident.recorded_by == "wal-push"
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(ClusterMismatch) as e:
        archive.push(repo, segment(other, "000000010000000000000002", SECOND))
    assert str(FIRST) in e.value.message and str(SECOND) in e.value.message
    assert e.value.exit_code == 55
    assert list_wal(repo) == {1: ["000000010000000000000001"]}
    # the repository's cluster goes on; a segment of another size is refused
    archive.push(repo, segment(tmp_path, "000000010000000000000002", FIRST))
    with pytest.raises(BadWalFile, match="1048576-byte segments"):
        archive.push(repo, segment(other, "000000010000000000000003", FIRST, 2 << 20))


def test_a_100_byte_file_named_as_a_segment_is_refused_before_storing(
    repo: Repository, tmp_path: Path
) -> None:
    f = tmp_path / "000000010000000000000001"
    f.write_bytes(b"x" * 100)
    with pytest.raises(BadWalFile, match="no WAL segment header"):
        archive.push(repo, f)
    assert list_wal(repo) == {} and cluster.recorded(repo) is None


def test_two_clusters_recording_at_once_agree_on_the_earliest(repo: Repository) -> None:
    repo.put_manifest(cluster.KIND, str(SECOND), _doc(SECOND, 20.0))
    repo.put_manifest(cluster.KIND, str(FIRST), _doc(FIRST, 10.0))
    ident = cluster.recorded(repo)
    assert ident is not None and ident.system_identifier == str(FIRST)
    with pytest.raises(ClusterMismatch):
        cluster.ensure(repo, str(SECOND), 1 << 20, "backup")


def _doc(sysid: int, created: float) -> dict[str, object]:
    return {
        "system_identifier": str(sysid),
        "wal_segment_size": 1 << 20,
        "created": created,
        "recorded_by": "wal-push",
    }
