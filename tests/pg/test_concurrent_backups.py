"""Two backups started in the same second are both stored, each under its own id (issue 12)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pgdr.backup.run import BackupResult, take_backup
from pgdr.catalog.load import load_backups
from pgdr.pg.cluster import Cluster
from pgdr.repo.keys import KeyFile
from pgdr.repo.repository import Repository
from pgdr.storage import open_backend
from tests.pg.archiving import archiving_cluster

pytestmark = pytest.mark.pg


def _repo(setup: dict[str, Path | str]) -> Repository:
    return Repository.open(open_backend(str(setup["url"])), KeyFile(Path(setup["key"])))


def test_two_backups_started_in_the_same_second_are_both_stored(
    make_cluster: Callable[..., Cluster], archive_setup: dict[str, Path | str]
) -> None:
    src = archiving_cluster(make_cluster, Path(archive_setup["cfg"]))
    results: list[BackupResult] = []
    errors: list[BaseException] = []
    gate = threading.Barrier(2)

    def one() -> None:
        repo = _repo(archive_setup)
        gate.wait()
        try:
            results.append(take_backup(repo, src.conninfo()))
        except BaseException as e:  # reported below
            errors.append(e)

    time.sleep(1 - time.time() % 1 + 0.05)  # just past a second boundary: same start second
    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    ids = sorted(r.backup_id for r in results)
    assert len(set(ids)) == 2, f"one backup lost: both got {ids}"
    assert ids[0][:16] == ids[1][:16]  # same start second, still two ids
    stored = {b.id: b.start_lsn_text for b in load_backups(_repo(archive_setup)).manifests}
    assert sorted(stored) == ids
    assert {r.start_lsn for r in results} == set(stored.values())
    # whoever listed the locks last saw the other one running, and says so
    assert any("purpose backup" in c for r in results for c in r.concurrent)
