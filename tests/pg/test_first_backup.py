"""The first backup of a cluster is a full, whatever type was asked; `pgdr backup` and
`pgdr info` report the same files and duration, in human units in text."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from pgdr.pg.cluster import Cluster
from tests.e2e.cli import pgdr
from tests.pg.archiving import archiving_cluster

pytestmark = [pytest.mark.pg, pytest.mark.e2e]


def test_first_backup_is_a_full_and_backup_agrees_with_info(
    make_cluster: Callable[..., Cluster], archive_setup: dict
) -> None:
    cfg: Path = archive_setup["cfg"]
    src = archiving_cluster(make_cluster, cfg)
    cfg.write_text(
        cfg.read_text() + f'\n[postgres]\nhost = "{src.socket_dir}"\nport = {src.port}\n'
        'user = "postgres"\n'
    )
    first = pgdr("--config", cfg, "backup")  # --type incr is the default
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert out.splitlines()[0] == "no full backup yet: taking a full"
    (bid,) = re.findall(r"^backup (\S+) \(full\) on timeline 1$", out, re.M)
    assert re.fullmatch(r"\d{8}T\d{6}ZF-[0-9a-f]{6}", bid)
    assert not re.search(r"\d\.\d{3,}", out), out  # no raw float seconds or bytes
    assert re.search(r"took +\d+\.\d s \(start to stop\)", out) and "MiB" in out, out

    second = pgdr("--config", cfg, "--json", "backup")
    assert second.returncode == 0, second.stderr
    b = json.loads(second.stdout)
    assert (b["type"], b["requested_type"], b["note"]) == ("incr", "incr", None)
    assert "ZI-" in b["backup_id"]

    info = json.loads(pgdr("--config", cfg, "--json", "info").stdout)
    rows = {r["id"]: r for r in info["backups"]}
    assert rows[bid]["type"] == "full"
    row = rows[b["backup_id"]]
    assert (row["files"], row["seconds"]) == (b["files"], b["seconds"])
    assert row["start_time"] == b["start_time"] and row["stop_time"] == b["stop_time"]
    assert b["total_seconds"] >= b["seconds"] > 0
