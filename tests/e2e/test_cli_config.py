"""`pgdr config show | check` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.cli import pgdr

pytestmark = pytest.mark.e2e


def test_show_redacts_secrets(tmp_path: Path) -> None:
    cfg = tmp_path / "pgdr.toml"
    cfg.write_text('[repositories.main]\nurl = "file:///r"\npassphrase = "env:MY_PASS"\n')
    r = pgdr("--config", cfg, "config", "show", env={"MY_PASS": "super-secret-value"})
    assert r.returncode == 0 and "env:MY_PASS" in r.stdout
    assert "super-secret-value" not in r.stdout + r.stderr
    doc = json.loads(pgdr("--json", "--config", cfg, "config", "show").stdout)
    assert doc["config"]["repositories"]["main"]["passphrase"] == "env:MY_PASS"


def test_check_reports_unresolvable_secret_and_bad_values(tmp_path: Path) -> None:
    cfg = tmp_path / "pgdr.toml"
    cfg.write_text('[repositories.main]\nurl = "file:///r"\npassphrase = "env:MY_PASS"\n')
    assert pgdr("--config", cfg, "config", "check", env={"MY_PASS": "x"}).returncode == 0
    r = pgdr("--config", cfg, "config", "check")
    assert r.returncode == 2 and "MY_PASS" in r.stderr and len(r.stderr.splitlines()) == 1
    cfg.write_text(
        '[repositories.main]\nurl = "file:///r"\n\n[repositories.main.limits]\nretries = -1\n'
    )
    r = pgdr("--config", cfg, "config", "check")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith(f"pgdr: error: {cfg}:5: repositories.main.limits.retries")


def test_pgdr_config_env_and_example(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "examples" / "pgdr.toml"
    r = pgdr("config", "path", env={"PGDR_CONFIG": str(example)}, cwd=tmp_path)
    assert str(example) in r.stdout


def test_show_prints_the_effective_defaults(tmp_path: Path) -> None:
    """Sections validated where they are used ([schedule], [alerts], [daemon], [web],
    [drill]) show their defaults, not empty tables; what the file sets wins."""
    cfg = tmp_path / "pgdr.toml"
    cfg.write_text('[repositories.main]\nurl = "file:///r"\n\n[schedule]\ndrill = "off"\n')
    doc = json.loads(pgdr("--json", "--config", cfg, "config", "show").stdout)["config"]
    assert doc["schedule"]["backup_incr"] == "0 3 * * 1-6" and doc["schedule"]["drill"] == "off"
    assert doc["alerts"]["backup_max_age_s"] > 0 and doc["web"]["listen"] == "127.0.0.1:8484"
    assert doc["daemon"]["eval_interval_s"] > 0 and doc["drill"]["amcheck"] is True
    assert doc["retention"]["window_days"] == 35
    text = pgdr("--config", cfg, "config", "show").stdout
    assert '"backup_full": "0 3 * * 0"' in text and '"schedule": {}' not in text


def test_repo_init_hint_uses_the_options_given(tmp_path: Path) -> None:
    """The "next:" command reaches the same repository the way this one did: --config when
    the config was given, --repo when a URL was."""
    cfg = tmp_path / "pgdr.toml"
    cfg.write_text(
        f'[repositories.main]\nurl = "file://{tmp_path}/a"\npassphrase = "env:MY_PASS"\n'
    )
    env = {"MY_PASS": "correct horse battery", "PGDR_PASSPHRASE": "correct horse battery"}
    r = pgdr("--config", cfg, "repo", "init", env=env)
    assert r.returncode == 0, r.stderr
    assert f"next: pgdr --config {cfg} repo info" in r.stdout, r.stdout
    nxt = r.stdout.split("next: ", 1)[1].split()
    assert pgdr(*nxt[1:], env=env).returncode == 0  # the hint works as printed
    r = pgdr("--repo", f"file://{tmp_path}/b", "repo", "init", env=env)
    assert f"next: pgdr --repo file://{tmp_path}/b repo info" in r.stdout, r.stdout


def test_check_names_the_dashboard_secret_serve_needs(tmp_path: Path) -> None:
    """`pgdr serve` refuses to start without its [web] token: the check names the file to
    create (a warning: backups and archiving do not need it)."""
    cfg = tmp_path / "pgdr.toml"
    token = tmp_path / "web-token"
    cfg.write_text(f'[repositories.main]\nurl = "file:///r"\n\n[web]\ntoken = "file:{token}"\n')
    r = pgdr("--json", "--config", cfg, "config", "check")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["warnings"] == [
        f"web.token: secret file:{token}: file {token} does not exist"
    ]
    token.write_text("t0ken")
    assert json.loads(pgdr("--json", "--config", cfg, "config", "check").stdout)["warnings"] == []


def test_a_configured_repository_without_a_key_takes_it_from_the_environment(
    tmp_path: Path,
) -> None:
    """`repo init`'s help and the README say the key can come from PGDR_PASSPHRASE: that
    holds for a configured repository that names no key, not only for --repo URL."""
    cfg = tmp_path / "pgdr.toml"
    cfg.write_text(f'[repositories.main]\nurl = "file://{tmp_path}/r"\n')
    env = {"PGDR_PASSPHRASE": "correct horse battery", "PGDR_KDF_N": "1024"}
    r = pgdr("--config", cfg, "repo", "init", env=env)
    assert r.returncode == 0, r.stderr
    assert pgdr("--config", cfg, "repo", "info", env=env).returncode == 0
    wrong = pgdr("--config", cfg, "repo", "info", env={**env, "PGDR_PASSPHRASE": "other one"})
    assert wrong.returncode == 41, wrong.stderr  # the environment's key is really used
