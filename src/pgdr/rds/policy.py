"""Does the RDS instance match ``[rds.policy]``? A pure comparison, table-tested: one row per
setting with what the policy wants, what the instance has, and the ``modify_db_instance``
parameters that would fix it (docs/design.md §8l).

Statuses: ``ok``; ``drift`` (``apply`` fixes it); ``manual`` (drift that ``modify_db_instance``
cannot fix: an unencrypted instance becomes encrypted only through an encrypted snapshot copy
and a restore); ``not-checked`` (the API did not tell: pgdr says so rather than guess).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pgdr.config_rds import RdsPolicy

Status = Literal["ok", "drift", "manual", "not-checked"]


@dataclass(frozen=True)
class SettingCheck:
    setting: str
    wanted: Any
    actual: Any
    status: Status
    #: Parameters of modify_db_instance that fix a drift (empty when none applies).
    fix: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def drifts(self) -> bool:
        return self.status in ("drift", "manual")


@dataclass(frozen=True)
class ReplicationFacts:
    """Regions the instance's automated backups are replicated to; None: unknown (the API
    offers no answer, e.g. an endpoint without StartDBInstanceAutomatedBackupsReplication)."""

    regions: tuple[str, ...] | None
    why_unknown: str = ""


def compare(
    instance: dict[str, Any], policy: RdsPolicy, replication: ReplicationFacts
) -> list[SettingCheck]:
    """Every setting of the policy against ``instance`` (a DescribeDBInstances entry)."""
    rows = [
        _plain(instance, "BackupRetentionPeriod", policy.retention_days),
        _plain(instance, "PreferredBackupWindow", policy.backup_window),
        _plain(instance, "CopyTagsToSnapshot", policy.copy_tags_to_snapshot),
        _plain(instance, "DeletionProtection", policy.deletion_protection),
        _encryption(instance, policy.storage_encrypted),
    ]
    if policy.replicate_automated_backups_to is not None:
        rows.append(_replication(policy, replication))
    return rows


def modify_params(rows: list[SettingCheck]) -> dict[str, Any]:
    """One modify_db_instance call's parameters for every fixable drift (empty: nothing)."""
    params: dict[str, Any] = {}
    for r in rows:
        if r.status == "drift":
            params.update(r.fix)
    return params


def _plain(instance: dict[str, Any], key: str, wanted: Any) -> SettingCheck:
    actual = instance.get(key)
    if actual == wanted:
        return SettingCheck(key, wanted, actual, "ok")
    return SettingCheck(key, wanted, actual, "drift", {key: wanted})


def _encryption(instance: dict[str, Any], wanted: bool) -> SettingCheck:
    actual = bool(instance.get("StorageEncrypted", False))
    if actual == wanted:
        return SettingCheck("StorageEncrypted", wanted, actual, "ok")
    note = (
        "cannot be changed in place: copy a snapshot with a KMS key and restore from it"
        if wanted
        else "the instance is encrypted although the policy does not ask for it"
    )
    return SettingCheck("StorageEncrypted", wanted, actual, "manual" if wanted else "ok", note=note)


def _replication(policy: RdsPolicy, facts: ReplicationFacts) -> SettingCheck:
    target = policy.replicate_automated_backups_to
    key = "AutomatedBackupsReplication"
    if facts.regions is None:
        return SettingCheck(key, target, None, "not-checked", note=facts.why_unknown)
    if target in facts.regions:
        return SettingCheck(key, target, list(facts.regions), "ok")
    return SettingCheck(
        key,
        target,
        list(facts.regions),
        "drift",
        note=f"apply starts replication to {target} with KMS key {policy.kms_key_for(target or '')}",
    )


def region_of_arn(arn: str) -> str | None:
    """``arn:aws:rds:eu-west-1:…`` -> ``eu-west-1``."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 4 and parts[0] == "arn" and parts[3] else None
