"""The configuration file: one TOML file validated into frozen typed objects.

Found by ``--config``, else ``$PGDR_CONFIG``, else the first of ./pgdr.toml,
~/.config/pgdr/pgdr.toml, /etc/pgdr/pgdr.toml; with none, embedded defaults apply. A file
another user could have written is refused, never skipped (:mod:`pgdr.config_trust`). Any
error is one line naming the file, the line where known, and the dotted key.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from pgdr.config_lean import SEARCH_PATH as SEARCH_PATH  # re-exported
from pgdr.config_lean import find_config as find_config
from pgdr.config_lean import key_from_environment, unknown_repository
from pgdr.errors import ConfigError, UsageError
from pgdr.settings_types import STRICT, LaxPath, Secret


class _Model(BaseModel):
    model_config = STRICT


SCHEMES = ("file", "s3", "mem")


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot name a repository (None when it can): file:///abs/path,
    s3://bucket[/prefix][?…], mem://name, or an absolute path."""
    from urllib.parse import urlsplit

    if url.startswith("/"):
        return None
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or "://" not in url:
        return f"unsupported repository URL scheme {parts.scheme or '(none)'!r}: use file://, s3:// or mem://"
    if parts.scheme == "file" and not parts.path.startswith("/"):
        return "file:// URLs need an absolute path, e.g. file:///var/lib/pgdr/repo"
    if parts.scheme in ("s3", "mem") and not parts.netloc:
        return f"{parts.scheme}:// URLs need a {'bucket' if parts.scheme == 's3' else 'name'}"
    return None


class S3Settings(_Model):
    endpoint: str | None = None
    region: str | None = None
    path_style: bool = False
    access_key_id: Secret | None = None
    secret_access_key: Secret | None = None
    sse_kms_key_id: str | None = None
    storage_class: str | None = None
    object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] | None = None
    object_lock_days: int | None = Field(default=None, ge=1, le=36500)


class Limits(_Model):
    concurrency: int = Field(default=16, ge=1, le=256)
    retries: int = Field(default=5, ge=0, le=50)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=600)
    read_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    #: Longest one storage operation may take, retries included (a hung endpoint fails
    #: with exit 21 instead of waiting timeouts x attempts x retries).
    operation_timeout_s: float = Field(default=300.0, gt=0, le=86400)


class RepositorySettings(_Model):
    url: str
    passphrase: Secret | None = None
    key_file: LaxPath | None = None
    kms_key_id: str | None = None
    kms_region: str | None = None
    kms_endpoint: str | None = None
    unencrypted: bool = False
    pack_size_mib: int = Field(default=16, ge=1, le=512)
    compression_level: int = Field(default=1, ge=-7, le=19)
    s3: S3Settings = S3Settings()
    limits: Limits = Limits()
    #: Names of repositories that follow this one: WAL is copied to them after it is
    #: durable here, backups after they complete (they may lag; `pgdr repo lag`).
    replicate_to: list[str] = []

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        why = url_problem(url)
        if why:
            raise ValueError(why)
        return url

    @model_validator(mode="after")
    def _one_key_source(self) -> RepositorySettings:
        given = [k for k in ("passphrase", "key_file", "kms_key_id") if getattr(self, k)]
        if len(given) > 1:
            raise ValueError(f"give only one of {' / '.join(given)}")
        if given and self.unencrypted:
            raise ValueError(f"unencrypted = true cannot be combined with {given[0]}")
        return self


class PostgresSettings(_Model):
    data_dir: LaxPath | None = None
    host: str = "/var/run/postgresql"
    port: int = Field(default=5432, ge=1, le=65535)
    user: str = "postgres"
    dbname: str = "postgres"
    bin_dir: LaxPath | None = None


class RetentionSettings(_Model):
    """Recovery window and deletion protection (docs/design.md §8e)."""

    window_days: int = Field(default=35, ge=1, le=3650)
    #: Overrides window_days (tests, short-lived setups).
    window_seconds: int | None = Field(default=None, ge=1)
    #: Also keep the newest N full / incremental backups, even past the window.
    keep_full: int = Field(default=0, ge=0, le=10000)
    keep_incremental: int = Field(default=0, ge=0, le=100000)
    #: S3 Object Lock retain-until = write time + window + this margin, unless a
    #: repository's s3.object_lock_days says otherwise.
    lock_margin_days: int = Field(default=7, ge=0, le=3650)
    #: Garbage collection repacks a pack once this fraction of it is unreferenced.
    repack_threshold: float = Field(default=0.5, gt=0, le=1)

    @property
    def window(self) -> timedelta:
        if self.window_seconds is not None:
            return timedelta(seconds=self.window_seconds)
        return timedelta(days=self.window_days)

    @property
    def lock_days(self) -> float:
        return self.window.total_seconds() / 86400 + self.lock_margin_days


class General(_Model):
    default_repository: str = "main"


class WalSettings(_Model):
    #: archive_command (`pgdr wal-push`, synchronous) gives up after this many seconds with
    #: exit 21, so PostgreSQL keeps the segment and retries instead of waiting on a hung
    #: storage endpoint.
    push_timeout_s: float = Field(default=90.0, gt=0, le=3600)


class AuditSettings(_Model):
    #: One wal-ingest audit entry per this many seconds of archiving (0: one per push).
    wal_summary_s: float = Field(default=3600.0, ge=0, le=86400 * 7)


class Config(_Model):
    pgdr: General = General()
    repositories: dict[str, RepositorySettings] = {}
    postgres: PostgresSettings = PostgresSettings()
    retention: RetentionSettings = RetentionSettings()
    #: ``[drill]`` and ``[notifications.*]`` stay raw TOML here and are validated by
    #: :func:`section` where they are used: their models would cost every wal-push and
    #: wal-fetch (lean entry path) ~40 ms of imports.
    drill: dict[str, Any] = {}
    notifications: dict[str, dict[str, Any]] = {}
    #: The daemon's ``[schedule]``, ``[alerts]``, ``[daemon]`` and ``[web]``, likewise
    #: validated where used (pgdr.daemon.settings).
    schedule: dict[str, Any] = {}
    alerts: dict[str, Any] = {}
    daemon: dict[str, Any] = {}
    web: dict[str, Any] = {}
    #: ``[rds]``: an Amazon RDS instance pgdr drives, validated where used
    #: (:func:`pgdr.config_rds.rds_settings`).
    rds: dict[str, Any] = {}
    #: ``[exports]``, validated where used (pgdr.export.settings).
    exports: dict[str, Any] = {}
    audit: AuditSettings = AuditSettings()
    #: ``[costs]`` (the price table of `pgdr report cost`) and ``[runbook]`` (where the
    #: generated runbook restores), validated where used (pgdr.evidence.settings).
    costs: dict[str, Any] = {}
    runbook: dict[str, Any] = {}
    wal: WalSettings = WalSettings()
    #: Where this config came from (None: embedded defaults). Not a TOML key.
    source: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _default_exists(self) -> Config:
        sel = self.pgdr.default_repository
        named = "default_repository" in self.pgdr.model_fields_set
        is_url = "://" in sel or sel.startswith("/")
        if is_url and (why := url_problem(sel)):
            raise ValueError(f"pgdr.default_repository: {why}")
        if named and not is_url and sel not in self.repositories:
            known = ", ".join(sorted(self.repositories)) or "none configured"
            raise ValueError(
                f"pgdr.default_repository: no repository named {sel!r} (known: {known})"
            )
        return self

    @model_validator(mode="after")
    def _replicas_exist(self) -> Config:
        for name, repo in self.repositories.items():
            for other in repo.replicate_to:
                if other == name:
                    raise ValueError(f"repositories.{name}.replicate_to: names itself")
                if other not in self.repositories:
                    raise ValueError(
                        f"repositories.{name}.replicate_to: no repository named {other!r}"
                    )
        return self


def load_config(explicit: str | Path | None = None) -> Config:
    path = find_config(explicit)
    if path is None:
        return Config()
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        where = f"{path}:{m.group(1)}" if m else str(path)
        raise ConfigError(f"{where}: invalid TOML: {str(e).split(' (at')[0]}") from None
    try:
        return Config.model_validate({**data, "source": path})
    except ValidationError as e:
        raise _error(e, text, path) from None


def section(config: Config, key: str, model: Any) -> Any:
    """Validate the raw ``[key]`` table of ``config`` with ``model`` (a pydantic model class
    or TypeAdapter), reporting errors like the rest of the file (line and dotted key)."""
    from pydantic import TypeAdapter

    adapter = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
    try:
        return adapter.validate_python(getattr(config, key))
    except ValidationError as e:
        path = config.source or Path("(embedded defaults)")
        try:
            text = path.read_text() if config.source else ""
        except OSError:
            text = ""
        raise _error(e, text, path, [key], getattr(config, key)) from None


def _without_tags(loc: list[str], raw: Any) -> list[str]:
    """Drop the discriminator values pydantic puts in the location of a tagged union
    (``notifications.NAME.slack.url`` -> ``notifications.NAME.url``)."""
    out, node = [], raw
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("type") == part:
            continue
        out.append(part)
        node = node.get(part) if isinstance(node, dict) else None
    return out


def _error(
    e: ValidationError, text: str, path: Path, prefix: list[str] | None = None, raw: Any = None
) -> ConfigError:
    err = e.errors()[0]
    inner = [str(p) for p in err["loc"]]
    loc = [*(prefix or []), *(_without_tags(inner, raw) if raw is not None else inner)]
    msg = err["msg"].removeprefix("Value error, ")
    named = re.match(r"^([\w-]+(?:\.[\w-]+)+): (.*)$", msg)
    if not loc and named:  # a check across keys names the key it is about
        loc, msg = named.group(1).split("."), named.group(2)
    key = ".".join(loc) or "(top level)"
    line = _line_of(text, loc)
    where = f"{path}:{line}" if line else str(path)
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif "input" in err and err["type"] not in ("missing",) and not isinstance(err["input"], dict):
        secret = (
            "passphrase" in loc
            or "password" in loc
            or "secret" in key
            or "access_key" in key
            or "url" in key
            or "routing_key" in key
        )
        if not secret:  # never echo what may be a secret
            msg = f"{msg} (got {err['input']!r})"
    return ConfigError(f"{where}: {key}: {msg}")


def _line_of(text: str, loc: list[str]) -> int | None:
    """Best-effort line number of a dotted key: the key's line under its table header."""
    if not loc:
        return None
    lines = text.splitlines()
    for depth in range(len(loc) - 1, -1, -1):
        table, key = loc[:depth], loc[depth]
        current: list[str] = []
        for no, raw in enumerate(lines, 1):
            line = raw.split("#", 1)[0].strip()
            m = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?$", line)
            if m:
                current = [p.strip().strip('"') for p in m.group(1).split(".")]
                if current == loc[: depth + 1]:
                    return no
                continue
            if current == table and re.match(rf'^"?{re.escape(key)}"?\s*=', line):
                return no
    return None


def resolve_repository(config: Config, name_or_url: str | None) -> tuple[str, RepositorySettings]:
    """A configured repository by name, or an ad-hoc one from a URL (key from the
    environment: PGDR_PASSPHRASE or PGDR_KEY_FILE)."""
    sel = name_or_url or config.pgdr.default_repository
    if "://" in sel or sel.startswith("/"):
        env: dict[str, Any] = {"url": sel, **key_from_environment()}
        if os.environ.get("PGDR_UNENCRYPTED") == "1" and "passphrase" not in env:
            env["unencrypted"] = True
        try:
            return sel, RepositorySettings.model_validate(env)
        except ValidationError as e:
            why = "; ".join(str(err["msg"]).removeprefix("Value error, ") for err in e.errors())
            raise UsageError(f"--repo {sel}: {why}") from None
    repo = config.repositories.get(sel)
    if repo is None:
        raise unknown_repository(sel, config.repositories, config.source)
    return sel, repo
