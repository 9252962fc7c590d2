"""Restore writes only inside its targets (docs/design.md §11): forged manifests in an
encrypted and an unencrypted repository are refused before anything is written; restored
files are owner-only; a link planted during a restore never redirects its writes."""

from __future__ import annotations

import copy
import os
import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pgdr.backup.run import take_backup
from pgdr.catalog.manifest import KIND
from pgdr.errors import UnsafeManifest, UsageError
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import chown_tree, resolve_runas
from pgdr.repo.repository import Repository
from pgdr.restore.plan import Target
from pgdr.restore.run import restore
from pgdr.storage import open_backend
from tests.e2e.cli import snapshot
from tests.fixtures.pg import FAST_SETTINGS
from tests.fixtures.pgdr_run import pgdr
from tests.fixtures.restore import open_repo
from tests.pg.archiving import _archive_setup, archive_command

pytestmark = [pytest.mark.pg, pytest.mark.e2e]


def _entry(files: list[dict[str, Any]], path: str) -> dict[str, Any]:
    return next(f for f in files if f["path"] == path)


def forgeries(outside: Path) -> dict[str, tuple[Callable[[list[dict[str, Any]]], None], str]]:
    """name -> (edit of the manifest's files, the entry the refusal must name)."""

    def add_file(path: str) -> Callable[[list[dict[str, Any]]], None]:
        return lambda files: files.append({**_entry(files, "PG_VERSION"), "path": path})

    def link_out(files: list[dict[str, Any]]) -> None:
        files.append({"path": "base/out", "kind": "link", "mode": 0o777, "mtime": 1.0,
                      "target": str(outside / "linked")})  # fmt: skip

    def under_link(files: list[dict[str, Any]]) -> None:
        i = files.index(_entry(files, "pg_logical"))
        files[i] = {**files[i], "kind": "link", "target": str(outside / "linked")}

    def tablespace_out(files: list[dict[str, Any]]) -> None:
        files.append({"path": "pg_tblspc/99999", "kind": "link", "mode": 0o777, "mtime": 1.0,
                      "target": str(outside / "ts")})  # fmt: skip
        files.append({**_entry(files, "PG_VERSION"), "path": "pg_tblspc/99999/authorized_keys"})

    def setuid(files: list[dict[str, Any]]) -> None:
        _entry(files, "PG_VERSION")["mode"] = 0o4755

    return {
        "absolute": (add_file(str(outside / "abs.txt")), str(outside / "abs.txt")),
        "dotdot": (add_file("../escaped.txt"), "../escaped.txt"),
        "link-out": (link_out, "base/out"),
        "file-under-link": (under_link, "pg_logical"),
        "tablespace-file": (tablespace_out, "pg_tblspc/99999/authorized_keys"),
        "setuid": (setuid, "PG_VERSION"),
    }


def forge(repo: Repository, bid: str, n: int, edit: Callable[[list[Any]], None]) -> str:
    """What an attacker with bucket write (or the key) does: read the manifest, edit it, and
    store it with the repository's own writer under a new id."""
    m = repo.get_manifest(KIND, bid)
    doc = copy.deepcopy(m.doc)
    edit(doc["files"])
    doc["id"] = f"{bid[:-1]}{n:02d}F"
    repo.put_manifest(KIND, doc["id"], doc, m.refs)
    return str(doc["id"])


@pytest.fixture(scope="module")
def two_repos(pg_bindir: Path, pg_base_dir: Path) -> dict[str, Any]:
    """One cluster archiving into an encrypted and an unencrypted repository, one backup in
    each; the cluster is gone before the tests run (a restore needs only the repository)."""
    setup = _archive_setup(pg_base_dir)
    root = Path(setup["root"])
    plain_url = f"file://{root}/plain"
    Repository.init(open_backend(plain_url), None, unencrypted=True)
    plain_cfg = root / "plain.toml"
    plain_cfg.write_text(f'[repositories.main]\nurl = "{plain_url}"\nunencrypted = true\n')
    chown_tree(root, resolve_runas())
    command = f"{archive_command(Path(setup['cfg']))} && {archive_command(plain_cfg)}"
    settings = {"archive_mode": "on", "archive_command": command, "archive_timeout": 0}
    src = Cluster.create(
        pg_base_dir / f"safety-src-{time.monotonic_ns()}",
        settings={**FAST_SETTINGS, **settings},
        bindir=pg_bindir,
    )
    repos = {
        "encrypted": (setup["cfg"], open_repo(setup)),
        "unencrypted": (
            plain_cfg,
            Repository.open(open_backend(plain_url), None, allow_unencrypted=True),
        ),
    }
    try:
        src.start()
        src.sql("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g")
        backups = {
            name: take_backup(r, src.conninfo()).backup_id for name, (_c, r) in repos.items()
        }
    finally:
        src.destroy()
    return {"repos": repos, "backups": backups}


def test_forged_manifests_are_refused_before_anything_is_written(
    two_repos: dict[str, Any], pg_base_dir: Path
) -> None:
    outside = pg_base_dir / f"outside-{time.monotonic_ns()}"
    outside.mkdir()
    delta_dir = pg_base_dir / f"delta-{time.monotonic_ns()}"  # an existing data directory
    (delta_dir / "base" / "1").mkdir(parents=True)
    (delta_dir / "PG_VERSION").write_text("15\n")
    (delta_dir / "base" / "1" / "1259").write_bytes(b"x" * 100)
    delta_dir.chmod(0o755)
    before = snapshot(delta_dir)
    for name, (cfg, repo) in two_repos["repos"].items():
        for n, (case, (edit, entry)) in enumerate(forgeries(outside).items()):
            bid = forge(repo, two_repos["backups"][name], n, edit)
            dest = outside / "dest"
            for delta, into in ((False, dest), (True, delta_dir)):
                if (name, case, delta) in CLI_CASES:  # as an operator runs it
                    args = ["--config", cfg, "restore", "--data-dir", into, "--backup", bid]
                    r = pgdr(*args, *(["--delta"] if delta else []))
                    code, message = r.returncode, r.stderr
                else:  # the same code path in-process: the machine has 2 cores
                    with pytest.raises(UnsafeManifest) as e:
                        restore(repo, into, target=Target("latest"), restore_command="false",
                                backup=bid, delta=delta, archive=True)  # fmt: skip
                    code, message = e.value.exit_code, e.value.message
                assert code == 39, (name, case, delta, message)
                assert repr(entry) in message and "nothing written" in message, (name, case)
                assert list(outside.iterdir()) == [], (name, case)  # not even the target
                assert snapshot(delta_dir) == before, (name, case)
                assert stat.S_IMODE(delta_dir.stat().st_mode) == 0o755  # not touched at all


CLI_CASES = {
    ("encrypted", "absolute", False),
    ("encrypted", "link-out", True),
    ("unencrypted", "dotdot", False),
}


def test_restored_files_are_owner_only_from_the_start(
    two_repos: dict[str, Any], pg_base_dir: Path
) -> None:
    _cfg, repo = two_repos["repos"]["encrypted"]
    bid = two_repos["backups"]["encrypted"]

    def loosen(files: list[dict[str, Any]]) -> None:  # group/other bits a manifest may carry
        for f in files:
            if f["kind"] == "file":
                f["mode"] = 0o644
            elif f["kind"] == "dir":
                f["mode"] = 0o2755  # setgid inherited by a data directory: masked, not refused

    forged = forge(repo, bid, 50, loosen)
    dest = pg_base_dir / f"modes-{time.monotonic_ns()}"
    dest.mkdir(mode=0o755)
    dest.chmod(0o755)  # an existing, readable directory
    runas = resolve_runas()
    seen: list[tuple[int, int]] = []

    def progress(_done: int, _total: int) -> None:
        if not seen:  # the first file has just been written
            st = dest.stat()
            seen.append((stat.S_IMODE(st.st_mode), st.st_uid))

    restore(repo, dest, target=Target("latest"), restore_command="false", backup=forged,
            progress=progress, archive=True)  # fmt: skip
    owner = runas.uid if runas.switches else os.geteuid()
    assert seen[0] == (0o700, owner)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o700
    for dirpath, dirnames, filenames in os.walk(dest):
        for d in dirnames:
            st = os.lstat(os.path.join(dirpath, d))
            assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == owner, d
        for f in filenames:
            st = os.lstat(os.path.join(dirpath, f))
            assert stat.S_ISREG(st.st_mode), f
            assert stat.S_IMODE(st.st_mode) & 0o7077 == 0 and st.st_uid == owner, f


def test_a_link_planted_during_the_restore_is_not_followed(
    two_repos: dict[str, Any], pg_base_dir: Path
) -> None:
    _cfg, repo = two_repos["repos"]["unencrypted"]
    bid = two_repos["backups"]["unencrypted"]
    files = repo.get_manifest(KIND, bid).doc["files"]
    last = [f["path"] for f in files if f["kind"] == "file"][-1]
    victim = pg_base_dir / f"victim-{time.monotonic_ns()}"
    victim.write_text("precious")
    dest = pg_base_dir / f"planted-{time.monotonic_ns()}"

    def plant(_done: int, _total: int) -> None:  # the server's account, mid-restore
        if not (dest / last).is_symlink():
            os.symlink(victim, dest / last)

    with pytest.raises(UsageError, match="appeared during the restore"):
        restore(repo, dest, target=Target("latest"), restore_command="false", backup=bid,
                progress=plant, archive=True)  # fmt: skip
    assert victim.read_text() == "precious" and not dest.exists()


def test_delta_never_writes_through_links_placed_in_the_target(
    two_repos: dict[str, Any], pg_base_dir: Path
) -> None:
    """The server's account owns the data directory a delta rewrites: a hard link to a file
    elsewhere and a symbolic link in place of a directory are replaced, never written
    through."""
    _cfg, repo = two_repos["repos"]["unencrypted"]
    bid = two_repos["backups"]["unencrypted"]
    dest = pg_base_dir / f"delta-links-{time.monotonic_ns()}"
    restore(repo, dest, target=Target("latest"), restore_command="false", backup=bid, archive=True)
    victim = pg_base_dir / f"victim-{time.monotonic_ns()}"
    victim.write_text("precious file")
    elsewhere = pg_base_dir / f"elsewhere-{time.monotonic_ns()}"
    elsewhere.mkdir()
    (elsewhere / "keep").write_text("keep me")
    (dest / "PG_VERSION").unlink()
    os.link(victim, dest / "PG_VERSION")
    shutil.rmtree(dest / "pg_logical")
    os.symlink(elsewhere, dest / "pg_logical")
    (dest / "recovery.signal").unlink()

    restore(
        repo,
        dest,
        target=Target("latest"),
        restore_command="false",
        backup=bid,
        delta=True,
        archive=True,
    )
    assert victim.read_text() == "precious file"
    assert (dest / "PG_VERSION").read_text().strip().isdigit()
    assert os.stat(dest / "PG_VERSION").st_nlink == 1
    assert (dest / "pg_logical").is_dir() and not (dest / "pg_logical").is_symlink()
    assert sorted(os.listdir(elsewhere)) == ["keep"]


def test_a_pg_wal_link_is_restored_as_a_directory_inside_the_target(
    two_repos: dict[str, Any], pg_base_dir: Path
) -> None:
    """A backup of a cluster made with ``initdb --waldir`` names production's WAL location;
    the restore never points at it (or creates it): pg_wal is a real directory inside."""
    _cfg, repo = two_repos["repos"]["encrypted"]
    production_wal = pg_base_dir / f"production-wal-{time.monotonic_ns()}"

    def waldir(files: list[dict[str, Any]]) -> None:
        i = files.index(_entry(files, "pg_wal"))
        files[i] = {**files[i], "kind": "link", "mode": 0o777, "target": str(production_wal)}

    forged = forge(repo, two_repos["backups"]["encrypted"], 60, waldir)
    dest = pg_base_dir / f"waldir-{time.monotonic_ns()}"
    restore(
        repo, dest, target=Target("latest"), restore_command="false", backup=forged, archive=True
    )
    st = os.lstat(dest / "pg_wal")
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700
    assert not production_wal.exists()
