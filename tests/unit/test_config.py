"""Configuration: typed validation, one-line errors with key and line, search path, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgdr.config import find_config, load_config, parse_config, resolve_repository
from pgdr.errors import ConfigError, KeyMissing
from pgdr.secrets import SecretRef

pytestmark = pytest.mark.unit
EXAMPLE = Path(__file__).parents[2] / "examples" / "pgdr.toml"


def test_example_config_is_valid() -> None:
    cfg = load_config(EXAMPLE)
    assert cfg.retention.window_days == 35
    assert set(cfg.repositories) == {"main", "replica"}
    assert cfg.repositories["main"].s3.object_lock_days == 40
    from pgdr.config import section
    from pgdr.export.settings import ExportSettings

    exports = section(cfg, "exports", ExportSettings)
    assert exports.url == "s3://safety-app-exports" and exports.databases == ["safety"]
    assert len(exports.tables) == 4 and exports.s3.region == "eu-west-1"


def test_empty_config_is_valid_defaults() -> None:
    cfg = parse_config("", Path("empty.toml"))
    assert cfg.repositories == {} and cfg.retention.window_days == 35


BAD = [
    (
        "[repositories.main]\nurl = 'file:///r'\npack_size_mib = 0\n",
        "3",
        "repositories.main.pack_size_mib",
        "greater than or equal to 1",
    ),
    (
        "[repositories.main]\nurl = 'file:///r'\n\n[repositories.main.s3]\nobject_lock_mode = 'FOREVER'\n",
        "5",
        "repositories.main.s3.object_lock_mode",
        "GOVERNANCE",
    ),
    ("[postgres]\nport = 'five'\n", "2", "postgres.port", "integer"),
    ("[retention]\nwindow_dayz = 3\n", "2", "retention.window_dayz", "unknown key"),
    (
        "[repositories.main]\nurl = 'file:///r'\npassphrase = 'hunter2'\n",
        "3",
        "repositories.main.passphrase",
        "env:NAME",
    ),
    (
        "[repositories.main]\nurl = 'file:///r'\npassphrase = 'env:P'\nkey_file = '/k'\n",
        "1",
        "repositories.main",
        "only one of passphrase / key_file",
    ),
    ("[repositories.main\nurl = 'x'\n", "1", "invalid TOML", ""),
    # refused by config check and every command alike (issue 12 item 8)
    ("[repositories.main]\nurl = 'ftp://x/y'\n", "2", "repositories.main.url", "'ftp'"),
    ("[repositories.main]\nurl = 'x/y'\n", "2", "repositories.main.url", "file://"),
    ("[repositories.main]\nurl = 'file://rel'\n", "2", "repositories.main.url", "absolute"),
    (
        "[pgdr]\ndefault_repository = 'prod'\n[repositories.main]\nurl = 'file:///r'\n",
        "2",
        "pgdr.default_repository",
        "no repository named 'prod' (known: main)",
    ),
    (
        "[repositories.main]\nurl = 'file:///r'\nunencrypted = 'yes'\n",
        "3",
        "repositories.main.unencrypted",
        "valid boolean",
    ),
    (
        "[repositories.main]\nurl = 'file:///r'\npack_size_mib = '16'\n",
        "3",
        "repositories.main.pack_size_mib",
        "valid integer",
    ),
    ("[postgres]\nport = '5432'\n", "2", "postgres.port", "valid integer"),
    ("[retention]\nrepack_threshold = '0.5'\n", "2", "retention.repack_threshold", "number"),
    ("[repositories.main]\npassphrase = 'env:P'\n", "1", "repositories.main.url", "required"),
]


@pytest.mark.parametrize(("text", "line", "key", "words"), BAD)
def test_bad_values_are_one_line_with_key_and_line(
    text: str, line: str, key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as e:
        parse_config(text, Path("pgdr.toml"))
    msg = str(e.value)
    assert "\n" not in msg and e.value.exit_code == 2
    assert msg.startswith(f"pgdr.toml:{line}: "), msg
    assert key in msg and words in msg
    assert "hunter2" not in msg


def test_search_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PGDR_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert find_config(None) in (None, Path("/etc/pgdr/pgdr.toml"))
    (tmp_path / "pgdr.toml").write_text("")
    assert find_config(None) == Path("./pgdr.toml")
    other = tmp_path / "other.toml"
    other.write_text("")
    monkeypatch.setenv("PGDR_CONFIG", str(other))
    assert find_config(None) == other
    assert find_config(tmp_path / "pgdr.toml") == tmp_path / "pgdr.toml"
    with pytest.raises(ConfigError, match="does not exist"):
        find_config(tmp_path / "missing.toml")


def test_resolve_repository_by_name_and_url(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config(EXAMPLE)
    assert resolve_repository(cfg, None)[1].url == "s3://safety-app-pgdr/prod"
    assert resolve_repository(cfg, "replica")[1].kms_region == "us-east-1"
    with pytest.raises(ConfigError, match="known: main, replica"):
        resolve_repository(cfg, "nope")
    monkeypatch.setenv("PGDR_PASSPHRASE", "x")
    _name, adhoc = resolve_repository(cfg, "file:///tmp/r")
    assert adhoc.url == "file:///tmp/r" and str(adhoc.passphrase) == "env:PGDR_PASSPHRASE"


def test_secret_refs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGDR_TEST_SECRET", "s3cr3t")
    ref = SecretRef.parse("env:PGDR_TEST_SECRET")
    assert ref.resolve() == "s3cr3t" and "s3cr3t" not in repr(ref) + str(ref)
    f = tmp_path / "pw"
    f.write_text("from-file\n")
    assert SecretRef.parse(f"file:{f}").resolve() == "from-file"
    monkeypatch.delenv("PGDR_TEST_SECRET")
    with pytest.raises(KeyMissing, match="PGDR_TEST_SECRET"):
        ref.resolve()
    with pytest.raises(KeyMissing, match="does not exist"):
        SecretRef.parse(f"file:{tmp_path}/none").resolve()
    with pytest.raises(ValueError):
        SecretRef.parse("plaintext")


@pytest.mark.parametrize("value", ["", "  ", "\n"])
def test_empty_secrets_refused(value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty token or password would let everyone in: refused where it is read."""
    monkeypatch.setenv("PGDR_TEST_SECRET", value)
    with pytest.raises(ConfigError, match="PGDR_TEST_SECRET is empty") as e:
        SecretRef.parse("env:PGDR_TEST_SECRET").resolve()
    assert "\n" not in e.value.message
    f = tmp_path / "token"
    f.write_text(value)
    ref = SecretRef.parse(f"file:{f}")
    with pytest.raises(ConfigError, match=f"file {f} is empty"):
        ref.resolve()
    assert ref.resolvable() == f"secret file:{f}: file {f} is empty"  # `pgdr config check`


def test_drill_and_notification_sections_are_validated_where_used(tmp_path: Path) -> None:
    from pgdr.config import load_config
    from pgdr.drill.settings import drill_settings
    from pgdr.notify.settings import PagerDutySettings, notification_settings

    p = tmp_path / "pgdr.toml"
    p.write_text(
        "[drill]\nrecency_window_hours = 24\n\n[drill.databases.app]\n"
        'recency = ["recalls.updated_at"]\nmin_rows = { recalls = 5 }\n\n'
        '[notifications.pager]\ntype = "pagerduty"\nrouting_key = "env:PD_KEY"\n'
        'endpoint = "http://127.0.0.1:9/pd"\n'
    )
    cfg = load_config(p)
    d = drill_settings(cfg)
    assert d.recency_window_hours == 24 and d.databases["app"].min_rows == {"recalls": 5}
    assert d.amcheck and d.row_tolerance_pct == 10  # defaults
    (pd,) = notification_settings(cfg).values()
    assert (
        isinstance(pd, PagerDutySettings)
        and pd.on == ["failure"]
        and str(pd.routing_key) == "env:PD_KEY"
    )
    assert drill_settings(load_config(None)).databases == {}  # no config: defaults


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[drill]\nrecency_window_hours = 0\n",
            ":2: drill.recency_window_hours: Input should be greater than 0",
        ),
        ("[drill]\nbogus = 1\n", ":2: drill.bogus: unknown key"),
        (
            '[drill.databases.app]\nrecency = ["updated_at"]\n',
            "recency 'updated_at': expected table.column",
        ),
        (
            '[notifications.slack]\ntype = "slack"\nwebhook_url = "https://hooks.slack.com/services/T/B/SECRET"\n',
            ":3: notifications.slack.webhook_url: secrets must be references like env:NAME or file:/path",
        ),
        ('[notifications.x]\ntype = "carrier-pigeon"\n', "notifications.x"),
    ],
)
def test_drill_and_notification_errors_are_one_line(
    tmp_path: Path, text: str, message: str
) -> None:
    from pgdr.config import load_config
    from pgdr.drill.settings import drill_settings
    from pgdr.errors import ConfigError
    from pgdr.notify.settings import notification_settings

    p = tmp_path / "pgdr.toml"
    p.write_text(text)
    cfg = load_config(p)
    with pytest.raises(ConfigError) as e:
        drill_settings(cfg)
        notification_settings(cfg)
    assert message in str(e.value) and "SECRET" not in str(e.value)
