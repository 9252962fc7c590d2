"""The ``[rds]`` config section: pgdr driving an Amazon RDS for PostgreSQL instance
(docs/design.md §8l).

Like ``[drill]``, the table stays raw TOML in :class:`pgdr.config.Config` and is validated
here, where it is used (``rds_settings``), so the lean WAL path pays nothing for it. It lives
in the base tier so every service (the RDS commands, the drill's RDS instance provider, the
daemon's RDS jobs) reads the same typed settings. AWS credentials come from boto3's usual
chain (environment, shared config, instance role), never from this file.

```toml
[rds]
instance = "recalls-prod"
region = "eu-west-1"
# endpoint_url = "http://127.0.0.1:5000"   # tests / alternate endpoints only

[rds.policy]
retention_days = 35
backup_window = "03:00-04:00"
copy_tags_to_snapshot = true
deletion_protection = true
storage_encrypted = true
replicate_automated_backups_to = "eu-central-1"   # optional; KMS key from copy_regions

[[rds.policy.copy_regions]]
region = "eu-central-1"
kms_key_id = "arn:aws:kms:eu-central-1:111122223333:key/…"

[rds.snapshots]
keep_days = 35
keep_count = 7
tags = { team = "recalls" }

[rds.drill]
instance_class = "db.t4g.micro"
subnet_group = "private-db"
security_groups = ["sg-0123"]
tags = { purpose = "pgdr-drill" }
user = "postgres"
password = "env:PGDR_RDS_PASSWORD"          # or password_secret_arn = "arn:aws:secretsmanager:…"
```
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

from pgdr.settings_types import STRICT, Secret

if TYPE_CHECKING:
    from pgdr.config import Config

_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
#: RDS's PreferredBackupWindow: hh24:mi-hh24:mi, UTC.
_WINDOW = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
#: DB instance identifiers: 1-63 letters, digits, hyphens; a letter first; no "--", no
#: trailing hyphen.
_IDENT = re.compile(r"^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}(?<!-)$")
_SECRET_ARN = re.compile(r"^arn:aws[\w-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@!-]+$")


class _M(BaseModel):
    model_config = STRICT


def _region(v: str) -> str:
    if not _REGION.match(v):
        raise ValueError("not an AWS region name like eu-west-1")
    return v


Region = Annotated[str, AfterValidator(_region)]


class CopyRegion(_M):
    """A DR region snapshots are copied to, with the KMS key the copies are encrypted by."""

    region: Region
    kms_key_id: str


class RdsPolicy(_M):
    """What the instance must look like (``pgdr rds policy check | apply``)."""

    retention_days: int = Field(default=35, ge=1, le=35)
    backup_window: str = "03:00-04:00"
    copy_tags_to_snapshot: bool = True
    deletion_protection: bool = True
    storage_encrypted: bool = True
    copy_regions: list[CopyRegion] = []
    #: Region automated backups are replicated to (StartDBInstanceAutomatedBackupsReplication);
    #: its KMS key is that region's entry in ``copy_regions``. None: not required.
    replicate_automated_backups_to: Region | None = None

    @field_validator("backup_window")
    @classmethod
    def _window(cls, v: str) -> str:
        if not _WINDOW.match(v):
            raise ValueError("must be hh:mm-hh:mm in UTC, e.g. 03:00-04:00")
        start, end = v.split("-")
        minutes = (_minutes(end) - _minutes(start)) % 1440
        if minutes < 30:
            raise ValueError("RDS needs a backup window of at least 30 minutes")
        return v

    @model_validator(mode="after")
    def _replica_has_key(self) -> RdsPolicy:
        regions = [c.region for c in self.copy_regions]
        if len(set(regions)) != len(regions):
            raise ValueError("rds.policy.copy_regions: a region is listed twice")
        target = self.replicate_automated_backups_to
        if target is not None and target not in regions:
            raise ValueError(
                f"rds.policy.replicate_automated_backups_to: {target} needs its KMS key "
                "as an entry in copy_regions"
            )
        return self

    def kms_key_for(self, region: str) -> str | None:
        return next((c.kms_key_id for c in self.copy_regions if c.region == region), None)


class RdsSnapshots(_M):
    """Manual snapshots: how long they are kept (judged by the same pure policy as
    repository backups, pgdr.retention.policy), and their tags."""

    #: When the daemon takes them: the same as ``[schedule] rds_snapshot``, which wins when
    #: both are given (pgdr.daemon.settings.daemon_sections); unset: that one alone decides.
    schedule: str | None = None
    keep_days: int = Field(default=35, ge=1, le=3650)
    #: Also keep the newest N snapshots (per region), even past keep_days.
    keep_count: int = Field(default=0, ge=0, le=10000)
    #: Tags every snapshot carries, besides pgdr's own (pgdr:snapshot = "true").
    tags: dict[str, str] = {}


class RdsDrill(_M):
    """The ephemeral instance an RDS drill restores into, and how pgdr logs in to it."""

    instance_class: str = "db.t4g.micro"
    subnet_group: str | None = None
    security_groups: list[str] = []
    tags: dict[str, str] = {}
    user: str = "postgres"
    dbname: str = "postgres"
    #: The restored instance has the source's master password: a config secret
    #: (env:NAME / file:/path) or an AWS Secrets Manager secret (its ARN; a JSON secret's
    #: "password" key, or the whole string).
    password: Secret | None = None
    password_secret_arn: str | None = None

    @field_validator("password_secret_arn")
    @classmethod
    def _arn(cls, v: str | None) -> str | None:
        if v is not None and not _SECRET_ARN.match(v):
            raise ValueError(
                "must be a Secrets Manager ARN, arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME"
            )
        return v

    @model_validator(mode="after")
    def _one_password(self) -> RdsDrill:
        if self.password is not None and self.password_secret_arn is not None:
            raise ValueError("rds.drill: give only one of password / password_secret_arn")
        return self


class RdsExports(_M):
    """Snapshot exports to S3 (``pgdr rds export``)."""

    #: The exports bucket and prefix: the same place as ``[exports] url`` so that
    #: ``pgdr export list`` shows RDS exports beside pgdr's own.
    bucket: str | None = None
    prefix: str = "exports"
    #: Where RDS writes the export before pgdr normalises it into ``<prefix>/<export_id>/``
    #: (outside ``prefix``: an export reader never sees a half-normalised export).
    staging_prefix: str = "rds-export-staging"
    kms_key_id: str | None = None
    #: The IAM role RDS assumes to write the export (StartExportTask's IamRoleArn).
    iam_role_arn: str | None = None
    #: "database" or "database.schema" or "database.schema.table"; empty: everything.
    tables: list[str] = []


class RdsSettings(_M):
    instance: str
    region: Region
    #: For tests and alternate endpoints; None: AWS's own.
    endpoint_url: str | None = None
    policy: RdsPolicy = RdsPolicy()
    snapshots: RdsSnapshots = RdsSnapshots()
    drill: RdsDrill = RdsDrill()
    exports: RdsExports = RdsExports()

    @field_validator("instance")
    @classmethod
    def _ident(cls, v: str) -> str:
        if not _IDENT.match(v):
            raise ValueError(
                "not a DB instance identifier (1-63 letters, digits, hyphens; a letter first)"
            )
        return v

    @field_validator("endpoint_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("must be an http:// or https:// URL")
        return v

    @property
    def regions(self) -> list[str]:
        """The instance's region first, then each DR region."""
        return [self.region, *(c.region for c in self.policy.copy_regions)]


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def rds_settings(config: Config) -> RdsSettings | None:
    """The validated ``[rds]`` section, None when the config has none."""
    from pgdr.config import section

    if not config.rds:
        return None
    result: RdsSettings = section(config, "rds", RdsSettings)
    return result


def require_rds(config: Config) -> RdsSettings:
    """The ``[rds]`` section, or a one-line ConfigError saying it is missing."""
    from pgdr.errors import ConfigError

    settings = rds_settings(config)
    if settings is None:
        where = config.source or "the configuration"
        raise ConfigError(f"{where}: no [rds] section (instance and region are required)")
    return settings
