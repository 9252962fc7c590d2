"""Bad input is refused where it is read, in one line naming the option or key (exit 2):
`--time yesterday`, repository URLs pgdr cannot use, a default repository or bin_dir that
does not exist, strings where numbers or booleans belong, and a file named as a WAL segment
that is not one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pgdr.repo.keys import Passphrase
from pgdr.repo.repository import Repository
from pgdr.storage import open_backend
from tests.e2e.cli import pgdr

pytestmark = pytest.mark.e2e
PASS = {"PGDR_PASSPHRASE": "correct horse battery"}


def one_line(r: subprocess.CompletedProcess[str], needle: str) -> None:
    out = r.stderr
    assert r.returncode == 2, (r.returncode, out)
    assert "Traceback" not in out and out.startswith("pgdr: error: "), out
    assert len([ln for ln in out.splitlines() if ln.strip()]) <= 2, out
    assert needle in out.splitlines()[0], out


@pytest.mark.parametrize("when", ["yesterday", "2026-13-01T00:00:00Z", "2026-11-24 03:00"])
def test_restore_time_that_is_not_a_time_is_a_usage_error(tmp_path: Path, when: str) -> None:
    r = pgdr(
        "--repo", f"file://{tmp_path}/r", "restore", "--data-dir", tmp_path / "d", "--time", when
    )
    one_line(r, "--time")
    assert "2026-11-24T03:00:00Z" in r.stderr  # the accepted format, by example
    for opt, bad in (("--lsn", "nope"), ("--xid", "12a")):
        r = pgdr(
            "--repo", f"file://{tmp_path}/r", "restore", "--data-dir", tmp_path / "d", opt, bad
        )
        one_line(r, opt)
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[repositories.main]\nurl = "ftp://x/y"\n', "repositories.main.url"),
        (
            '[pgdr]\ndefault_repository = "prod"\n[repositories.main]\nurl = "file:///r"\n',
            "pgdr.default_repository",
        ),
        (
            '[repositories.main]\nurl = "file:///r"\n[postgres]\nbin_dir = "/nope/bin"\n',
            "postgres.bin_dir",
        ),
        (
            '[repositories.main]\nurl = "file:///r"\nunencrypted = "true"\n',
            "repositories.main.unencrypted",
        ),
        ('[repositories.main]\nurl = "file:///r"\n[postgres]\nport = "5432"\n', "postgres.port"),
    ],
)
def test_config_check_refuses_what_commands_would_refuse(
    tmp_path: Path, toml: str, key: str
) -> None:
    cfg = tmp_path / "pgdr.toml"
    cfg.write_text(toml)
    one_line(pgdr("--config", cfg, "config", "check"), key)


def test_wal_push_refuses_a_file_that_is_not_the_named_segment(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/repo"
    Repository.init(open_backend(url), Passphrase(PASS["PGDR_PASSPHRASE"], 1024))
    seg = tmp_path / "000000010000000000000001"
    seg.write_bytes(b"x" * 100)
    one_line(pgdr("--repo", url, "wal-push", seg, env=PASS), seg.name)
    spool = tmp_path / "spool"
    one_line(pgdr("--repo", url, "wal-push", "--async", "--spool", spool, seg, env=PASS), seg.name)
    assert not (tmp_path / "repo" / "wal").exists() or not any(
        (tmp_path / "repo" / "wal").rglob("*")
    )
    assert not any((spool / "queue").glob("0*"))
