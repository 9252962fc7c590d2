"""Helpers and the ``archive_setup`` fixture for tests that archive WAL through pgdr."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import chown_tree, make_interpreter_reachable, resolve_runas
from pgdr.repo.keys import KeyFile, generate_key_file
from pgdr.repo.repository import Repository
from pgdr.storage import open_backend
from tests.fixtures.moto_server import _free_port


def _archive_setup(pg_base_dir: Path) -> dict[str, Path | str]:
    make_interpreter_reachable()
    root = pg_base_dir / f"archive-{time.monotonic_ns()}"
    root.mkdir()
    root.chmod(0o755)
    key = root / "repo.key"
    generate_key_file(key)
    url = f"file://{root}/repo"
    Repository.init(open_backend(url), KeyFile(key))
    cfg = root / "pgdr.toml"
    cfg.write_text(f'[repositories.main]\nurl = "{url}"\nkey_file = "{key}"\n')
    bad = root / "unreachable.toml"
    (root / "aws-key").write_text("testing")
    bad.write_text(
        f'[repositories.main]\nurl = "s3://b/p?endpoint=http://127.0.0.1:{_free_port()}&region=us-east-1"\n'
        f'key_file = "{key}"\n[repositories.main.limits]\nretries = 1\nconnect_timeout_s = 1\n'
        f'[repositories.main.s3]\naccess_key_id = "file:{root}/aws-key"\n'
        f'secret_access_key = "file:{root}/aws-key"\n'
    )
    chown_tree(root, resolve_runas())
    return {"root": root, "cfg": cfg, "bad": bad, "url": url, "key": key}


def archive_command(cfg: Path) -> str:
    return f"{shlex.quote(sys.executable)} -m pgdr --config {shlex.quote(str(cfg))} wal-push %p"


def archiving_cluster(make_cluster: Callable[..., Cluster], cfg: Path, **kw: Any) -> Cluster:
    settings = {"archive_mode": "on", "archive_command": archive_command(cfg), "archive_timeout": 0}
    settings.update(kw.pop("settings", {}))
    return make_cluster(settings=settings, **kw)


def wait_archived(c: Cluster, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (last,) = c.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")[0]
        if last >= name:
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} not archived; log: {c.log_tail(10)}")
