"""The manifest validator restore runs before writing anything: table tests."""

from __future__ import annotations

from typing import Any

import pytest

from pgdr.catalog.manifest import FileEntry
from pgdr.errors import UnsafeManifest
from pgdr.restore.safety import check_files, check_manifest
from pgdr.safepath import path_problem
from tests.fixtures.manifests import manifest

pytestmark = pytest.mark.unit


def d(path: str, mode: int = 0o700) -> dict[str, Any]:
    return {"path": path, "kind": "dir", "mode": mode, "mtime": 1.0}


def f(path: str, mode: int = 0o600, refs: list[int] | None = None) -> dict[str, Any]:
    return {
        "path": path,
        "kind": "file",
        "mode": mode,
        "mtime": 1.0,
        "size": 10,
        "refs": refs or [0, 1],
        "chunk": 32768,
    }


def link(path: str, target: str = "/srv/ts") -> dict[str, Any]:
    return {"path": path, "kind": "link", "mode": 0o777, "mtime": 1.0, "target": target}


BASE = [d("base"), d("base/1"), d("global"), d("pg_tblspc"), f("global/pg_control")]
TABLESPACE = [link("pg_tblspc/16384"), d("pg_tblspc/16384/PG_15_202209061")]
TS_FILE = f("pg_tblspc/16384/PG_15_202209061/1")


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ([f("/etc/cron.d/x")], "absolute path"),
        ([f("../escaped.txt")], "'..' component"),
        ([f("base/1/../../x")], "'..' component"),
        ([f("base//1")], "not normalised"),
        ([f("base/./1")], "not normalised"),
        ([f("base/1/")], "not normalised"),
        ([f("")], "empty"),
        ([f("base/1/a\0b")], "NUL"),
        ([f("base/" + "x" * 300)], "too long"),
        ([f("base/1/1"), f("base/1/1")], "listed twice"),
        ([f("nodir/1")], "parent 'nodir' is not a directory"),
        ([f("global/pg_control/x")], "parent 'global/pg_control' is not a directory"),
        ([link("base/1/escape", "/etc")], "symbolic link where PostgreSQL has none"),
        ([link("pg_tblspc/abc")], "symbolic link where PostgreSQL has none"),
        ([link("pg_tblspc/16384", "relative/dir")], "not an absolute directory path"),
        ([link("pg_tblspc/16384", "/srv/../etc")], "'..' component"),
        ([link("pg_tblspc/16384", "/")], "not an absolute directory path"),
        ([*TABLESPACE, f("pg_tblspc/16384/authorized_keys")], "holds only its PG_"),
        ([link("pg_tblspc/16384"), f("pg_tblspc/16384/PG_15_1")], "holds only its PG_"),
        ([f("base/1/1", mode=0o4755)], "setuid"),
        ([f("base/1/1", mode=0o2600)], "setuid/setgid/sticky"),
        ([f("base/1/1", mode=0o1600)], "setuid/setgid/sticky"),
        ([d("base/2", mode=0o4700)], "setuid"),
        ([f("base/1/1", mode=0o17777)], "not a permission mode"),
        ([{**f("base/1/1"), "kind": "fifo"}], "unknown kind"),
        ([{**f("base/1/1"), "mtime": float("nan")}], "mtime"),
        ([f("base/1/1", refs=[5, 1])], "beyond the manifest's reference table"),
        ([{**f("base/1/1"), "refs": [0, -1]}], "are not .start, count."),
        ([{**f("base/1/1"), "size": -1}], "size"),
        ([f("backup_label")], "restore writes this file itself"),
        ([f("recovery.signal")], "restore writes this file itself"),
        ([d("postgresql.auto.conf")], "must be a file"),
        (["base/1/1"], "not an entry"),
    ],
)
def test_refused(extra: list[Any], why: str) -> None:
    with pytest.raises(UnsafeManifest, match=why) as e:
        check_files([*BASE, *extra], ref_count=2)
    assert e.value.exit_code == 39
    named = extra[-1]["path"] if isinstance(extra[-1], dict) else extra[-1]
    assert repr(named) in e.value.message and "nothing written" in e.value.message


def test_not_a_list() -> None:
    with pytest.raises(UnsafeManifest, match="not a list"):
        check_files({"path": "x"}, 0)


def test_backup_label_must_be_text() -> None:
    with pytest.raises(UnsafeManifest, match="'backup_label': the backup label is not text"):
        check_manifest(manifest(backup_label=["x"], files=BASE), 2)
    assert len(check_manifest(manifest(backup_label="START WAL ...", files=BASE), 2)) == 5


def test_accepted_entries_as_created() -> None:
    wal_link = link("pg_wal", "/mnt/production-wal")
    got = check_files(
        [
            *BASE,
            wal_link,
            *TABLESPACE,
            TS_FILE,
            f("base/1/2", mode=0o640),
            d("base/3", mode=0o2750),  # setgid inherited from a parent: masked, not refused
            {**f("base/1/3"), "kind": "gone"},
        ],
        ref_count=2,
    )
    by_path = {e.path: e for e in got}
    assert by_path["pg_wal"] == FileEntry("pg_wal", "dir", mode=0o700, mtime=None)
    assert by_path["pg_tblspc/16384"].target == "/srv/ts"
    assert by_path["base/1/2"].mode == 0o600
    assert by_path["base/3"].mode == 0o700
    assert by_path["base/1/3"].kind == "gone"
    assert by_path["global/pg_control"].refs == (0, 1)


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("base/1/1234.1", True),
        ("a", True),
        ("..", False),
        ("a/..", False),
        ("/a", False),
        ("a//b", False),
        ("./a", False),
        ("a/", False),
        ("", False),
        (None, False),
        (7, False),
    ],
)
def test_path_problem(path: object, ok: bool) -> None:
    assert (path_problem(path) is None) == ok
