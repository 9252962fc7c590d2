"""Links in a data directory other than tablespaces' are backed up as what they point to
(restore creates plain files and directories and refuses any other link: exit 39)."""

from __future__ import annotations

import os
from pathlib import Path

from pgdr.backup.walk import walk


def _pgdata(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    (data / "base" / "1").mkdir(parents=True)
    (data / "PG_VERSION").write_text("15\n")
    (data / "base" / "1" / "1259").write_bytes(b"\0" * 8192)
    (data / "pg_tblspc").mkdir()
    return data


def test_links_are_backed_up_as_their_targets(tmp_path: Path) -> None:
    data = _pgdata(tmp_path)
    waldir = tmp_path / "waldisk"
    waldir.mkdir()
    (waldir / "000000010000000000000001").write_bytes(b"w" * 100)
    (data / "pg_wal").symlink_to(waldir)  # initdb --waldir
    cert = tmp_path / "ssl-cert-snakeoil.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    (data / "server.crt").symlink_to(cert)
    (data / "dangling").symlink_to(tmp_path / "nothing")
    (data / "loop").symlink_to(data)  # would walk forever if followed twice
    space = tmp_path / "space"
    (space / "PG_15_202209061").mkdir(parents=True)
    (data / "pg_tblspc" / "16384").symlink_to(space)

    got = {e.rel: e for e in walk(data)}
    assert got["pg_wal"].kind == "dir"
    assert not [r for r in got if r.startswith("pg_wal/")]  # its contents: never backed up
    assert (got["server.crt"].kind, got["server.crt"].size) == ("file", cert.stat().st_size)
    assert "dangling" not in got
    assert got["pg_tblspc/16384"].kind == "link"  # a tablespace stays a link
    assert got["pg_tblspc/16384"].target == str(space)
    assert got["pg_tblspc/16384/PG_15_202209061"].kind == "dir"
    assert not any(e.kind == "link" for r, e in got.items() if not r.startswith("pg_tblspc/"))
    assert "loop" not in got  # a link to a directory it is in
    assert os.path.islink(data / "loop")
