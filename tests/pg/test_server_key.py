"""The server's own key (issue 14 item 1): `pgdr setup --apply` on a passphrase repository
gives the server's OS user a key file, and archive_command opens the repository with it —
never reading the passphrase, whose file the server's OS user cannot even read here."""

from __future__ import annotations

import json
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import chown_tree, resolve_runas, run_as
from pgdr.repo.keys import Passphrase
from pgdr.repo.repository import Repository
from pgdr.storage import open_backend
from tests.e2e.cli import pgdr
from tests.pg.archiving import make_interpreter_reachable, wait_archived

pytestmark = [pytest.mark.pg, pytest.mark.e2e]

PASSPHRASE = "operator passphrase 1"


def _ok(r: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def _archive_one(c: Cluster, i: int) -> None:
    c.sql(f"CREATE TABLE t{i} AS SELECT 1")
    (name,) = c.sql("SELECT pg_walfile_name(pg_switch_wal())")[0]
    wait_archived(c, name)


def _slots(cfg: Path, *extra: str | Path) -> list[dict[str, object]]:
    r = _ok(pgdr("--config", cfg, *extra, "--json", "key", "list"))
    slots: list[dict[str, object]] = json.loads(r.stdout)["slots"]
    return slots


def test_setup_gives_the_server_its_own_key(
    make_cluster: Callable[..., Cluster], pg_base_dir: Path
) -> None:
    make_interpreter_reachable()
    runas = resolve_runas()
    root = pg_base_dir / f"server-key-{time.monotonic_ns()}"
    root.mkdir()
    root.chmod(0o755)
    secret = root / "secret"  # the operator's: the server's OS user cannot read it
    secret.mkdir(mode=0o700)
    passphrase = secret / "passphrase"
    passphrase.write_text(PASSPHRASE + "\n")
    passphrase.chmod(0o600)
    url = f"file://{root}/repo"
    Repository.init(open_backend(url), Passphrase(PASSPHRASE, scrypt_n=1024))
    chown_tree(root / "repo", runas)
    c = make_cluster(settings={"archive_mode": "on", "archive_timeout": 0})
    cfg = root / "pgdr.toml"
    cfg.write_text(
        f'[repositories.main]\nurl = "{url}"\npassphrase = "file:{passphrase}"\n'
        f'[postgres]\nhost = "{c.socket_dir}"\nport = {c.port}\n'
    )
    if runas.switches:
        assert run_as(["cat", passphrase], runas=runas, capture_output=True).returncode != 0
    keys = root / "server-keys"

    _ok(pgdr("--config", cfg, "--json", "setup", "--apply", "--server-key-dir", keys))
    (key,) = keys.iterdir()
    st, dst = key.stat(), keys.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (runas.uid, 0o600)
    assert (dst.st_uid, stat.S_IMODE(dst.st_mode)) == (runas.uid, 0o700)
    assert c.data_dir.resolve() not in key.resolve().parents
    (command,) = c.sql("SHOW archive_command")[0]
    assert f"--key-file {key}" in command
    slots = _slots(cfg)
    assert [s["kind"] for s in slots].count("keyfile") == 1
    (server_slot,) = [s for s in slots if s["kind"] == "keyfile"]
    assert str(server_slot["label"]).startswith(f"server key of {runas.name}@")
    _archive_one(c, 0)  # the passphrase file is unreadable to the archiver: the key opened it

    # Idempotent: the same key file, the same slot, no second slot.
    content = key.read_bytes()
    shown = json.loads(
        _ok(pgdr("--config", cfg, "--json", "setup", "--apply", "--server-key-dir", keys)).stdout
    )
    assert {r["name"]: r["status"] for r in shown["rows"]}["archive_command"] == "ok"
    assert key.read_bytes() == content and list(keys.iterdir()) == [key]
    assert len(_slots(cfg)) == 2

    # The operator rotates the passphrase: archiving goes on.
    new = "operator passphrase 2"
    _ok(pgdr("--config", cfg, "key", "rotate", env={"PGDR_NEW_PASSPHRASE": new}))
    passphrase.write_text(new + "\n")
    _archive_one(c, 1)

    # The passphrase slot removed (unlocking with the server key): archiving goes on.
    (pp_slot,) = [s for s in _slots(cfg) if s["kind"] == "passphrase"]
    _ok(pgdr("--config", cfg, "--key-file", key, "key", "remove", str(pp_slot["id"])))
    assert [s["kind"] for s in _slots(cfg, "--key-file", key)] == ["keyfile"]
    _archive_one(c, 2)

    # Asynchronous archiving: the uploader wal-push starts opens with the same key.
    spool = root / "spool"
    args = ("setup", "--apply", "--server-key-dir", keys, "--async-spool", spool)
    _ok(pgdr("--config", cfg, "--key-file", key, *args))
    for i in range(3, 8):  # the archiver picks up the reloaded command at its next cycle
        _archive_one(c, i)
        if (spool / "acked").is_dir() and any((spool / "acked").iterdir()):
            break
    else:
        raise AssertionError(f"nothing went through the spool; {c.log_tail(10)}")
