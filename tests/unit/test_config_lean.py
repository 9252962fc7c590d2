"""The lean path's config (pgdr.config_lean): settings validated by pgdr.config, cached
per file version, read back without pydantic; a changed file is validated again."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pgdr.cli.repo_target import target_from_settings, with_key_file
from pgdr.config import Limits, RepositorySettings, S3Settings, load_config
from pgdr.config_lean import LeanLimits, LeanRepository, LeanS3, cache_path, load_lean
from pgdr.errors import ConfigError

pytestmark = pytest.mark.unit

TOML = """
[pgdr]
default_repository = "main"
[repositories.main]
url = "s3://bucket/p?endpoint=http://127.0.0.1:1"
passphrase = "env:PP"
compression_level = 3
replicate_to = ["dr"]
[repositories.main.s3]
access_key_id = "env:AK"
object_lock_mode = "GOVERNANCE"
[repositories.main.limits]
retries = 2
[repositories.dr]
url = "file:///srv/dr"
key_file = "/etc/pgdr/dr.key"
[wal]
push_timeout_s = 12.5
"""


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PGDR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("PP", "a passphrase")
    monkeypatch.setenv("AK", "akid")
    path = tmp_path / "pgdr.toml"
    path.write_text(TOML)
    return path


@pytest.mark.parametrize(
    ("lean", "model"),
    [(LeanRepository, RepositorySettings), (LeanS3, S3Settings), (LeanLimits, Limits)],
)
def test_lean_settings_have_exactly_the_models_fields(lean: type, model: type) -> None:
    assert {f.name for f in dataclasses.fields(lean)} == set(model.model_fields)


def test_cached_settings_build_the_same_target(cfg: Path) -> None:
    full = load_config(cfg)
    first = load_lean(cfg)  # a miss: validated, then cached
    assert cache_path(cfg).is_file() and cache_path(cfg).stat().st_mode & 0o077 == 0
    again = load_lean(cfg)  # a hit
    assert again == first and again.push_timeout_s == 12.5 and again.source == cfg
    for name in ("main", "dr"):
        lean = again.resolve(name)[1]
        assert isinstance(lean, LeanRepository)
        assert target_from_settings(lean) == target_from_settings(full.repositories[name])
    key = Path("/k")
    assert target_from_settings(with_key_file(again.resolve(None)[1], key)) == (
        target_from_settings(with_key_file(full.repositories["main"], key))
    )
    with pytest.raises(ConfigError, match="no repository named 'nope'"):
        again.resolve("nope")


def test_a_changed_file_is_validated_again(cfg: Path) -> None:
    load_lean(cfg)
    cfg.write_text(TOML.replace("retries = 2", "retries = 3"))
    assert load_lean(cfg).repositories["main"].limits.retries == 3
    cfg.write_text(TOML.replace("retries = 2", 'retries = "x"'))
    with pytest.raises(ConfigError, match="retries"):
        load_lean(cfg)


def test_a_forged_cache_entry_for_another_file_version_is_ignored(cfg: Path) -> None:
    load_lean(cfg)
    entry = json.loads(cache_path(cfg).read_text())
    entry["config"]["repositories"]["main"]["url"] = "file:///elsewhere"
    entry["stamp"][4] -= 1  # not the file as it is now
    cache_path(cfg).write_text(json.dumps(entry))
    assert load_lean(cfg).repositories["main"].url.startswith("s3://")


def test_the_wal_path_imports_no_pydantic_or_unneeded_modules_on_a_hit(cfg: Path) -> None:
    load_lean(cfg)
    code = (
        "import sys\nfrom pgdr.config_lean import load_lean\n"
        f"load_lean({str(cfg)!r})\nassert 'pydantic' not in sys.modules, 'pydantic imported'\n"
        "import pgdr.cli.wal_entry, pgdr.cli.repo_target, pgdr.cli.wal_followers\n"
        "assert 'pydantic' not in sys.modules, 'pydantic imported by the lean path'\n"
        "heavy = {'pgdr.audit.log', 'pgdr.replicate.follow', 'subprocess'} & set(sys.modules)\n"
        "assert not heavy, f'imported on every push: {heavy}'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], env=dict(os.environ), capture_output=True)
    assert r.returncode == 0, r.stderr.decode()


def test_a_push_without_replicas_imports_no_follow_up_machinery(tmp_path: Path) -> None:
    from pgdr.repo.keys import KeyFile, generate_key_file
    from pgdr.repo.repository import Repository
    from pgdr.storage import open_backend

    key = tmp_path / "k.key"
    generate_key_file(key)
    Repository.init(open_backend(f"file://{tmp_path}/repo"), KeyFile(key))
    cfg = tmp_path / "pgdr.toml"
    cfg.write_text(f'[repositories.main]\nurl = "file://{tmp_path}/repo"\nkey_file = "{key}"\n')
    history = tmp_path / "00000002.history"
    history.write_text("1\t0/3000000\tno recovery target specified\n")
    code = (
        "import sys\nfrom pgdr.cli.wal_entry import main\n"
        f"assert main(['--config', {str(cfg)!r}, 'wal-push', {str(history)!r}]) == 0\n"
        "heavy = {'pydantic', 'pgdr.replicate.follow', 'pgdr.audit.log'} & set(sys.modules)\n"
        "assert not heavy or sys.argv[1] == 'miss', f'imported by a push: {heavy}'\n"
    )
    env = {**os.environ, "PGDR_STATE_DIR": str(tmp_path / "state")}
    for run in ("miss", "hit"):  # the first validates the config, the second reads the cache
        r = subprocess.run([sys.executable, "-c", code, run], env=env, capture_output=True)
        assert r.returncode == 0, r.stderr.decode()
