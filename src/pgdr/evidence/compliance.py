"""Compliance controls judged from the evidence pgdr holds. Each control is ``met`` (with
the ids of the records that show it), ``not met`` (naming the missing or failing evidence)
or ``not configured``. Pure: the facts are gathered by pgdr.evidence.gather."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

MET, NOT_MET, NOT_CONFIGURED = "met", "not met", "not configured"


@dataclass(frozen=True)
class Facts:
    """What the controls are judged on, as read from the config and the repository."""

    now: datetime
    period: timedelta  # a drill must have passed within it
    backups: list[tuple[str, datetime]]  # (id, stop time), oldest first
    backup_max_age: timedelta
    drills: list[dict[str, Any]]  # drill record docs, oldest first
    audit_ok: bool
    audit_entries: int
    audit_newest: str | None
    audit_problem: str | None
    window_days: float
    encryption: str  # "aes-256-gcm" or "none"
    key_slots: int
    object_lock_mode: str | None
    object_lock_days: float | None
    replicas: dict[str, float | None]  # name -> seconds behind (None: not initialized)
    replica_lag_max_s: float


@dataclass
class Control:
    id: str
    title: str
    frameworks: list[str]
    state: str
    why: str
    records: list[str] = field(default_factory=list)


@dataclass
class ComplianceReport:
    generated: str
    period_days: float
    controls: list[Control]
    #: sha256 of the report's JSON, recorded in the audit log (entry key).
    sha256: str = ""
    audit_entry: str | None = None

    @property
    def met(self) -> bool:
        return all(c.state != NOT_MET for c in self.controls)


def _backups(f: Facts) -> Control:
    c = Control(
        "backups-within-rpo",
        "Backups are taken within the policy",
        ["SOC 2 A1.2", "HIPAA 164.308(a)(7)(ii)(A)", "ISO 27001 A.8.13"],
        NOT_MET,
        "",
    )
    if not f.backups:
        c.why = "no backup in the repository"
        return c
    bid, stop = f.backups[-1]
    age = f.now - stop
    c.records = [f"manifests/backup/{bid}"]
    if age > f.backup_max_age:
        c.why = f"newest backup {bid} is {age.total_seconds() / 3600:.1f} h old (policy: {f.backup_max_age.total_seconds() / 3600:.1f} h)"
        return c
    c.state = MET
    c.why = f"newest backup {bid} finished {age.total_seconds() / 3600:.1f} h ago"
    return c


def _drills(f: Facts) -> Control:
    c = Control(
        "restore-drill-passed",
        "A restore drill passed in the period",
        ["SOC 2 A1.3", "HIPAA 164.308(a)(7)(ii)(D)", "GDPR Art. 32(1)(d)", "ISO 27001 A.5.30"],
        NOT_MET,
        "",
    )
    since = f.now - f.period
    in_period = [
        d
        for d in f.drills
        if datetime.fromisoformat(str(d.get("finished") or d["started"])) >= since
    ]
    passed = [d for d in in_period if d.get("result") in ("passed", "warning")]
    if not in_period:
        c.why = f"no drill recorded in the last {f.period.total_seconds() / 86400:g} days"
        return c
    if not passed:
        c.records = [f"manifests/drill/{d['id']}" for d in in_period]
        c.why = f"{len(in_period)} drill(s) in the period, none passed: {in_period[-1].get('message', '')}"
        return c
    c.state, c.records = MET, [f"manifests/drill/{d['id']}" for d in passed]
    c.why = f"{len(passed)} of {len(in_period)} drill(s) in the period passed"
    return c


def _retention(f: Facts) -> Control:
    ok = f.window_days >= 35
    return Control(
        "retention-35-days",
        "Point-in-time window of at least 35 days",
        ["ISO 27001 A.8.13", "HIPAA 164.308(a)(7)(ii)(A)"],
        MET if ok else NOT_MET,
        f"[retention] window is {f.window_days:g} days" + ("" if ok else " (< 35)"),
        ["config: [retention]"],
    )


def _encryption(f: Facts) -> Control:
    ok = f.encryption != "none" and f.key_slots > 0
    return Control(
        "encryption-at-rest",
        "Backups encrypted at rest",
        ["GDPR Art. 32(1)(a)", "HIPAA 164.312(a)(2)(iv)"],
        MET if ok else NOT_MET,
        f"repository encryption {f.encryption}, {f.key_slots} key slot(s)"
        if ok
        else "the repository is unencrypted",
        ["config (repository object)"],
    )


def _audit(f: Facts) -> Control:
    c = Control(
        "audit-log-intact",
        "Audit log complete and untampered",
        ["SOC 2 A1.2", "ISO 27001 A.8.15"],
        MET if f.audit_ok else NOT_MET,
        "",
    )
    if not f.audit_ok:
        c.why = f"audit chain broken: {f.audit_problem}"
    elif f.audit_entries == 0:
        c.state, c.why = NOT_MET, "the audit log is empty"
    else:
        c.why = f"{f.audit_entries} entries, hash chain verified"
        c.records = [f.audit_newest] if f.audit_newest else []
    return c


def _deletion_protection(f: Facts) -> Control:
    c = Control(
        "deletion-protection",
        "Backups inside the window cannot be deleted (Object Lock)",
        ["SOC 2 A1.2", "GDPR Art. 32(1)(b)", "ISO 27001 A.8.13"],
        NOT_CONFIGURED,
        "no s3.object_lock_mode on the repository",
        ["config: [repositories.*.s3]"],
    )
    if f.object_lock_mode:
        days = f.object_lock_days or 0.0
        ok = days >= f.window_days
        c.state = MET if ok else NOT_MET
        c.why = f"Object Lock {f.object_lock_mode}, {days:g} days" + (
            "" if ok else f" (shorter than the {f.window_days:g}-day window)"
        )
    return c


def _second_copy(f: Facts) -> Control:
    c = Control(
        "second-copy",
        "A copy in another region, within the lag policy",
        ["GDPR Art. 32(1)(c)", "ISO 27001 A.5.30", "HIPAA 164.308(a)(7)(ii)(B)"],
        NOT_CONFIGURED,
        "the repository has no replicate_to",
    )
    if not f.replicas:
        return c
    behind = {n: s for n, s in f.replicas.items() if s is None or s > f.replica_lag_max_s}
    c.records = [f"replica {n}" for n in f.replicas]
    if behind:
        c.state = NOT_MET
        c.why = "; ".join(
            f"{n}: not initialized"
            if s is None
            else f"{n}: {s:.0f} s behind (> {f.replica_lag_max_s:g})"
            for n, s in behind.items()
        )
    else:
        c.state = MET
        c.why = ", ".join(f"{n}: {s:.0f} s behind" for n, s in f.replicas.items())
    return c


def evaluate(f: Facts, generated: str) -> ComplianceReport:
    controls = [
        _backups(f),
        _drills(f),
        _retention(f),
        _encryption(f),
        _audit(f),
        _deletion_protection(f),
        _second_copy(f),
    ]
    return ComplianceReport(generated, f.period.total_seconds() / 86400, controls)
