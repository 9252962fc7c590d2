"""The instance as the RDS API describes it, and ``pgdr rds policy check | apply``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pgdr.config_rds import RdsSettings
from pgdr.errors import AwsError
from pgdr.rds.client import Aws
from pgdr.rds.policy import ReplicationFacts, SettingCheck, compare, modify_params, region_of_arn


def describe(aws: Aws, s: RdsSettings) -> dict[str, Any]:
    out = aws.rds(s.region, "DescribeDBInstances", DBInstanceIdentifier=s.instance)
    instance: dict[str, Any] = out["DBInstances"][0]
    return instance


def replication_facts(aws: Aws, s: RdsSettings, instance: dict[str, Any]) -> ReplicationFacts:
    """Where the automated backups are replicated to. DescribeDBInstances lists the
    replications when there are any; without that list, the DR region is asked
    (DescribeDBInstanceAutomatedBackups there); an endpoint that cannot answer makes it
    unknown — reported as "not checked", never guessed."""
    listed = instance.get("DBInstanceAutomatedBackupsReplications")
    if isinstance(listed, list) and listed:
        arns = [str(r.get("DBInstanceAutomatedBackupsArn", "")) for r in listed]
        return ReplicationFacts(tuple(r for a in arns if (r := region_of_arn(a))))
    target = s.policy.replicate_automated_backups_to
    if target is None:
        return ReplicationFacts(())
    try:
        backups = aws.rds_all(
            target, "DescribeDBInstanceAutomatedBackups", "DBInstanceAutomatedBackups"
        )
    except AwsError as e:
        return ReplicationFacts(None, f"the DR region did not answer: {e.message}")
    source = instance.get("DBInstanceArn")
    found = [
        b
        for b in backups
        if b.get("DBInstanceArn") == source
        and region_of_arn(str(b.get("DBInstanceAutomatedBackupsArn", ""))) == target
    ]
    return ReplicationFacts((target,) if found else ())


@dataclass(frozen=True)
class PolicyReport:
    instance: str
    region: str
    settings: list[SettingCheck]
    applied: dict[str, Any] = field(default_factory=dict)
    #: What apply tried and could not do, one line each.
    failures: list[str] = field(default_factory=list)

    @property
    def drift(self) -> list[SettingCheck]:
        return [r for r in self.settings if r.drifts]

    def render_text(self, console: Any) -> None:
        from rich.table import Table

        t = Table(box=None, title=f"RDS policy of {self.instance} ({self.region})")
        for col in ("setting", "wanted", "actual", "status", "note"):
            t.add_column(col)
        for r in self.settings:
            colour = {"ok": "green", "not-checked": "yellow"}.get(r.status, "red")
            t.add_row(r.setting, str(r.wanted), str(r.actual), f"[{colour}]{r.status}[/]", r.note)
        console.print(t)
        if self.applied:
            console.print(f"applied with modify_db_instance: {self.applied}")
        for f in self.failures:
            console.print(f"[red]not applied:[/] {f}")


def check(aws: Aws, s: RdsSettings) -> PolicyReport:
    instance = describe(aws, s)
    rows = compare(instance, s.policy, replication_facts(aws, s, instance))
    return PolicyReport(s.instance, s.region, rows)


def apply(aws: Aws, s: RdsSettings) -> PolicyReport:
    """Fix every drift ``modify_db_instance`` can fix (ApplyImmediately: a retention or window
    change takes effect now, not in the next maintenance window), start the automated-backup
    replication where the policy wants it, then check again: the report is the instance as it
    is afterwards."""
    before = check(aws, s)
    params = modify_params(before.settings)
    failures: list[str] = []
    if params:
        aws.rds(
            s.region,
            "ModifyDBInstance",
            DBInstanceIdentifier=s.instance,
            ApplyImmediately=True,
            **params,
        )
    if any(
        r.setting == "AutomatedBackupsReplication" and r.status == "drift" for r in before.settings
    ):
        target = s.policy.replicate_automated_backups_to or ""
        try:
            aws.rds(
                target,
                "StartDBInstanceAutomatedBackupsReplication",
                SourceDBInstanceArn=describe(aws, s)["DBInstanceArn"],
                KmsKeyId=s.policy.kms_key_for(target) or "",
                BackupRetentionPeriod=s.policy.retention_days,
            )
            params = {**params, "AutomatedBackupsReplication": target}
        except AwsError as e:
            failures.append(f"automated-backup replication to {target}: {e.message}")
    after = check(aws, s)
    return PolicyReport(s.instance, s.region, after.settings, params, failures)
