"""What the runbook needs to know of THIS deployment, read from its config: names, paths,
ports, key material. Pure: from a validated Config, no I/O."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from pgdr.config import Config, resolve_repository
from pgdr.evidence.settings import RunbookSettings


@dataclass(frozen=True)
class Deployment:
    config_path: str
    repository: str  # the repository's name in the config
    repository_url: str
    replicas: dict[str, str] = field(default_factory=dict)  # name -> url
    data_dir: str = ""
    bin_dir: str = ""
    host: str = "/var/run/postgresql"
    port: int = 5432
    superuser: str = "postgres"
    database: str = "postgres"
    tables: tuple[str, ...] = ()
    restore_root: str = "/var/lib/pgdr/restore"
    restore_port: int = 5432
    side_port: int = 5433
    key_material: str = "none (unencrypted)"
    object_lock: str = "off"
    window_days: float = 35.0
    application_runbook: str = ""

    @property
    def pgdr(self) -> str:
        """The pgdr invocation every command starts with: this config, named explicitly."""
        return f"pgdr --config {shlex.quote(self.config_path)}" if self.config_path else "pgdr"

    @property
    def bin(self) -> str:
        return f"{self.bin_dir.rstrip('/')}/" if self.bin_dir else ""


def key_material(config: Config, name: str) -> str:
    _n, s = resolve_repository(config, name)
    if s.kms_key_id:
        return f"KMS key {s.kms_key_id}" + (f" ({s.kms_region})" if s.kms_region else "")
    if s.key_file:
        return f"key file {s.key_file}"
    if s.passphrase:
        return f"passphrase from {s.passphrase}"
    if s.unencrypted:
        return "none (unencrypted)"
    return "key from the environment (PGDR_KEY_FILE or PGDR_PASSPHRASE)"


def object_lock(config: Config, name: str) -> str:
    _n, s = resolve_repository(config, name)
    if not s.s3.object_lock_mode:
        return "off"
    days = s.s3.object_lock_days or config.retention.lock_days
    return f"{s.s3.object_lock_mode}, {days:g} days"


def _tables(config: Config, rb: RunbookSettings) -> tuple[str, tuple[str, ...]]:
    dbs = config.drill.get("databases") or {}
    db = rb.database or next(iter(dbs), None) or config.postgres.dbname
    tables = rb.tables or list((dbs.get(db) or {}).get("critical_tables") or [])
    return db, tuple(str(t) for t in tables)


def deployment(config: Config, rb: RunbookSettings, config_path: str) -> Deployment:
    name, repo = resolve_repository(config, None)
    pg = config.postgres
    db, tables = _tables(config, rb)
    return Deployment(
        config_path=config_path,
        repository=name,
        repository_url=repo.url,
        replicas={r: config.repositories[r].url for r in repo.replicate_to},
        data_dir=str(pg.data_dir or ""),
        bin_dir=str(pg.bin_dir or ""),
        host=pg.host,
        port=pg.port,
        superuser=pg.user,
        database=db,
        tables=tables,
        restore_root=rb.restore_root,
        restore_port=rb.restore_port or pg.port,
        side_port=rb.side_port or pg.port + 1,
        key_material=key_material(config, name),
        object_lock=object_lock(config, name),
        window_days=config.retention.window.total_seconds() / 86400,
        application_runbook=rb.application_runbook,
    )
