"""`pgdr dev fetch` writes a file set only inside its destination (docs/design.md §11)."""

from __future__ import annotations

import copy
import stat
from pathlib import Path
from typing import Any

import pytest

from pgdr.errors import UnsafeManifest
from pgdr.repo.files import KIND, fetch_files, store_files
from pgdr.repo.repository import Repository

pytestmark = pytest.mark.component


@pytest.fixture
def stored(repo: Repository, tmp_path: Path) -> Repository:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.txt").write_text("a")
    (src / "b.sh").write_text("b")
    (src / "b.sh").chmod(0o755)
    store_files(repo, [src], "set", 1 << 16)
    return repo


@pytest.mark.parametrize(
    ("path", "mode", "why"),
    [
        ("../escaped.txt", 0o644, "'..' component"),
        ("{tmp}/absolute.txt", 0o644, "absolute path"),
        ("src/sub", 0o644, "also a directory of another entry"),
        ("src/c.sh", 0o4755, "setuid"),
    ],
)
def test_forged_file_set_is_refused_before_writing(
    stored: Repository, tmp_path: Path, path: str, mode: int, why: str
) -> None:
    path = path.format(tmp=tmp_path)
    m = stored.get_manifest(KIND, "set")
    doc: dict[str, Any] = copy.deepcopy(m.doc)
    doc["files"].append({**doc["files"][0], "path": path, "mode": mode})
    stored.put_manifest(KIND, "forged", doc, m.refs)
    out = tmp_path / "out"
    with pytest.raises(UnsafeManifest, match=why) as e:
        fetch_files(stored, "forged", out)
    assert e.value.exit_code == 39 and repr(path) in e.value.message
    assert not out.exists() and not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "absolute.txt").exists()


def test_fetched_files_are_owner_only(stored: Repository, tmp_path: Path) -> None:
    out = tmp_path / "out"
    fetch_files(stored, "set", out)
    assert (out / "src" / "sub" / "a.txt").read_text() == "a"
    for p in [out, *out.rglob("*")]:
        assert stat.S_IMODE(p.stat().st_mode) & 0o7077 == 0, p
