"""`pgdr export lifecycle plan|apply|check`: the exports prefix's S3 lifecycle rule, shown,
set and compared with the bucket (the rules themselves: :mod:`pgdr.export.lifecycle`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from pgdr.errors import ConfigError, LifecycleDrift, LifecyclePlanInvalid, PgdrError
from pgdr.export.bucket import ExportBucket, s3_location
from pgdr.export.lifecycle import ExportLifecycle, Plan, Problem, drift, merge, overlapping, plan
from pgdr.export.settings import ExportSettings

NOT_APPLICABLE = (
    "storage tiers do not apply to {url}: only s3:// exports have storage classes and "
    "lifecycle rules (a local disk keeps every export as written; remove old ones with the "
    "retention of exports)"
)


@dataclass
class LifecycleReport:
    action: str
    url: str
    #: False on file:// (no storage classes): ``note`` says so and nothing else is set
    applies: bool
    note: str = ""
    rule: dict[str, Any] | None = None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    #: ids of the bucket's other rules, kept as they were (apply) or found (check)
    other_rules: list[str] = field(default_factory=list)
    #: check: one line per difference between the bucket and the plan
    drift: list[str] = field(default_factory=list)

    def render_text(self, console: Console) -> None:
        if not self.applies:
            console.print(escape(self.note))
            return
        if self.rule is not None:
            console.print(f"rule {escape(self.rule['ID'])} on {escape(self.url)}:")
            console.print(
                f"  objects under {escape(self.rule['Filter']['Prefix'] or '(whole bucket)')}"
            )
            for t in self.rule.get("Transitions", []):
                console.print(f"  after {t['Days']:>5} days -> {t['StorageClass']}")
            if "Expiration" in self.rule:
                console.print(f"  after {self.rule['Expiration']['Days']:>5} days -> deleted")
            if "NoncurrentVersionExpiration" in self.rule:
                kept = self.rule["NoncurrentVersionExpiration"]["NoncurrentDays"]
                console.print(f"  replaced or deleted versions kept {kept} days")
            days = self.rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
            console.print(f"  unfinished multipart uploads aborted after {days} days")
        for p in self.errors:
            console.print(f"[bold red]refused[/] by {escape(p.rule)}: {escape(p.message)}")
        for p in self.warnings:
            console.print(f"[yellow]warning[/]: {escape(p.rule)}: {escape(p.message)}")
        if self.note:
            console.print(escape(self.note))
        for line in self.drift:
            console.print(f"[bold red]drift[/]: {escape(line)}")


def lifecycle_settings(settings: ExportSettings) -> ExportLifecycle:
    """``[exports.lifecycle]`` validated (kept raw by ``ExportSettings``)."""
    try:
        return ExportLifecycle.model_validate(settings.lifecycle)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in ("exports", "lifecycle", *first["loc"]))
        raise ConfigError(f"{where}: {first['msg']}") from None


def _report(action: str, url: str, p: Plan) -> LifecycleReport:
    return LifecycleReport(action, url, True, rule=p.rule, errors=p.errors, warnings=p.warnings)


def _bucket(settings: ExportSettings) -> ExportBucket:
    loc = s3_location(settings)
    assert loc is not None
    return ExportBucket(loc)


def lifecycle_plan(settings: ExportSettings, lc: ExportLifecycle) -> LifecycleReport:
    """The planned rule and its check; offline (reads nothing from S3)."""
    url = settings.url or ""
    loc = s3_location(settings)
    if loc is None:
        return LifecycleReport("plan", url, False, NOT_APPLICABLE.format(url=url))
    return _report("plan", f"s3://{loc.bucket}/{loc.prefix}", plan(lc, loc.prefix))


def refusal(report: LifecycleReport) -> PgdrError | None:
    """The error a report ends its command with (None: success)."""
    if report.errors:
        first = report.errors[0]
        return LifecyclePlanInvalid(
            f"lifecycle plan refused: {first.rule} ({first.message})"
            + (f"; {len(report.errors) - 1} more problem(s)" if len(report.errors) > 1 else ""),
            hint="fix [exports.lifecycle] in the config",
        )
    if report.drift:
        return LifecycleDrift(
            f"the lifecycle of {report.url} differs from the plan: {report.drift[0]}"
            + (f" (and {len(report.drift) - 1} more)" if len(report.drift) > 1 else ""),
            hint="`pgdr export lifecycle apply` sets the planned rule",
        )
    return None


def lifecycle_apply(settings: ExportSettings, lc: ExportLifecycle) -> LifecycleReport:
    """Set exactly the planned rule, keeping every other rule of the bucket; then read the
    bucket back and report any difference that remains."""
    report = lifecycle_plan(settings, lc)
    report.action = "apply"
    if not report.applies or report.errors or report.rule is None:
        return report
    bucket = _bucket(settings)
    try:
        rules = bucket.lifecycle_rules()
        bucket.put_lifecycle_rules(merge(rules, report.rule))
        after = bucket.lifecycle_rules()
    finally:
        bucket.close()
    report.other_rules = [str(r.get("ID")) for r in after if r.get("ID") != report.rule["ID"]]
    report.drift = drift(after, report.rule)
    kept = f"; kept {len(report.other_rules)} other rule(s)" if report.other_rules else ""
    report.note = f"applied{kept}"
    return report


def lifecycle_check(settings: ExportSettings, lc: ExportLifecycle) -> LifecycleReport:
    """Compare the bucket's rules with the plan."""
    report = lifecycle_plan(settings, lc)
    report.action = "check"
    if not report.applies or report.errors or report.rule is None:
        return report
    bucket = _bucket(settings)
    try:
        rules = bucket.lifecycle_rules()
    finally:
        bucket.close()
    report.other_rules = [str(r.get("ID")) for r in rules if r.get("ID") != report.rule["ID"]]
    report.drift = drift(rules, report.rule)
    report.warnings = [p for p in report.warnings if "128 KiB" not in p.rule]
    if not report.drift:
        report.note = "the bucket matches the plan"
    elif overlapping(rules, report.rule):
        report.note = "another rule acting on the exports prefix changes when objects move"
    return report
