"""The S3 lifecycle rules of the exports prefix, planned and checked without touching S3.

``[exports.lifecycle]`` (:class:`ExportLifecycle`) says when exports move to cheaper storage
and when they are deleted. :func:`plan` turns it into the one lifecycle rule pgdr owns on
the exports bucket (``pgdr-exports:<prefix>``) and checks it against S3's own rules, so an
invalid plan is refused here, naming the rule, before S3 answers a bare ``InvalidArgument``:

- Standard-IA and One Zone-IA take objects only 30 days after creation or later;
- transitions follow S3's one-way waterfall (Standard-IA, Intelligent-Tiering, One Zone-IA,
  Glacier Instant Retrieval, Glacier Flexible Retrieval, Deep Archive), each class once;
- an object stays 30 days in Standard-IA / One Zone-IA before its next transition;
- expiry comes after the last transition.

Rules that only cost money are warnings: a class left (by a later transition or by expiry)
before its minimum storage duration bills the rest as an early-deletion fee (Standard-IA and
One Zone-IA 30 days, Glacier IR and Glacier 90, Deep Archive 180), and objects under 128 KiB
never transition (S3's default minimum object size for transitions): an export's
``_manifest.json`` and ``_SUCCESS`` stay in Standard, readable without a restore.

:func:`merge` puts the planned rule into a bucket's rules, keeping every other rule;
:func:`drift` lists how the bucket's rules differ from the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

from pydantic import BaseModel, Field

from pgdr.settings_types import STRICT

StorageClass = Literal[
    "STANDARD_IA", "INTELLIGENT_TIERING", "ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"
]
#: S3's transition waterfall: an object only ever moves right.
WATERFALL: tuple[str, ...] = (
    "STANDARD_IA",
    "INTELLIGENT_TIERING",
    "ONEZONE_IA",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
)
#: Classes S3 takes objects into only 30 days after creation, and keeps them 30 days in.
IA_CLASSES = frozenset({"STANDARD_IA", "ONEZONE_IA"})
IA_MIN_DAYS = 30
#: Minimum storage durations: leaving earlier bills the remaining days.
MIN_STORAGE_DAYS: dict[str, int] = {
    "STANDARD_IA": 30,
    "ONEZONE_IA": 30,
    "GLACIER_IR": 90,
    "GLACIER": 90,
    "DEEP_ARCHIVE": 180,
}
#: Objects smaller than this do not transition (S3's default TransitionDefaultMinimumObjectSize).
SMALL_OBJECT_BYTES = 128 * 1024
#: Classes a GET cannot read before a restore (restore_object) has copied the object back.
ARCHIVE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
RULE_ID_PREFIX = "pgdr-exports"


class Transition(BaseModel):
    model_config = STRICT

    days: int = Field(ge=0, le=36500)
    storage_class: StorageClass


def _default_transitions() -> list[Transition]:
    return [
        Transition(days=30, storage_class="STANDARD_IA"),
        Transition(days=90, storage_class="GLACIER"),
        Transition(days=365, storage_class="DEEP_ARCHIVE"),
    ]


class ExportLifecycle(BaseModel):
    """``[exports.lifecycle]``: the tiers of the reference policy by default (Standard,
    Standard-IA after 30 days, Glacier after 90, Deep Archive after 365, deleted after 7
    years = 2557 days)."""

    model_config = STRICT

    transitions: list[Transition] = Field(default_factory=_default_transitions)
    #: Days after creation an export's objects are deleted; None keeps them for ever.
    expire_days: int | None = Field(default=2557, ge=1, le=36500)
    #: Days after which S3 aborts a multipart upload left unfinished (a killed export).
    abort_incomplete_multipart_days: int = Field(default=7, ge=1, le=3650)
    #: In a versioned bucket, days a replaced or deleted version is kept (a deletion stays
    #: recoverable this long; the expiry's own delete marker leaves a version that goes too,
    #: so "deleted after 7 years" holds). None keeps old versions for ever.
    noncurrent_expire_days: int | None = Field(default=30, ge=1, le=36500)


@dataclass(frozen=True)
class Problem:
    """One finding of the plan check: ``rule`` names S3's rule, ``message`` what breaks it."""

    rule: str
    message: str


@dataclass(frozen=True)
class Plan:
    """The lifecycle rule pgdr owns for an exports prefix, and what the check found."""

    prefix: str
    rule: dict[str, Any]
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def rule_id(self) -> str:
        return str(self.rule["ID"])


def rule_id(prefix: str) -> str:
    """The id of pgdr's rule for ``prefix``: one rule per exports prefix in a bucket."""
    return f"{RULE_ID_PREFIX}:{prefix}" if prefix else RULE_ID_PREFIX


def key_prefix(prefix: str) -> str:
    """The rule's filter: the exports prefix as a key prefix ("" is the whole bucket)."""
    p = prefix.strip("/")
    return f"{p}/" if p else ""


def build_rule(lc: ExportLifecycle, prefix: str) -> dict[str, Any]:
    """The rule in the shape of put_bucket_lifecycle_configuration (and of what
    get_bucket_lifecycle_configuration answers)."""
    rule: dict[str, Any] = {
        "ID": rule_id(prefix.strip("/")),
        "Filter": {"Prefix": key_prefix(prefix)},
        "Status": "Enabled",
    }
    if lc.transitions:
        rule["Transitions"] = [
            {"Days": t.days, "StorageClass": t.storage_class}
            for t in sorted(lc.transitions, key=lambda t: t.days)
        ]
    if lc.expire_days is not None:
        rule["Expiration"] = {"Days": lc.expire_days}
    if lc.noncurrent_expire_days is not None:
        rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": lc.noncurrent_expire_days}
    rule["AbortIncompleteMultipartUpload"] = {
        "DaysAfterInitiation": lc.abort_incomplete_multipart_days
    }
    return rule


def s3_rule_errors(lc: ExportLifecycle) -> list[Problem]:
    """What S3 itself would refuse in this plan (each names the S3 rule)."""
    errors: list[Problem] = []
    steps = sorted(lc.transitions, key=lambda t: (t.days, WATERFALL.index(t.storage_class)))
    for t in steps:
        if t.storage_class in IA_CLASSES and t.days < IA_MIN_DAYS:
            errors.append(
                Problem(
                    "S3: transitions to Standard-IA / One Zone-IA need at least 30 days after creation",
                    f"{t.storage_class} at {t.days} days",
                )
            )
    seen: set[str] = set()
    for t in steps:
        if t.storage_class in seen:
            errors.append(
                Problem(
                    "S3: one transition per storage class in a rule",
                    f"{t.storage_class} appears more than once",
                )
            )
        seen.add(t.storage_class)
    for before, after in pairwise(steps):
        if WATERFALL.index(after.storage_class) <= WATERFALL.index(before.storage_class):
            if after.storage_class == before.storage_class:
                continue
            errors.append(
                Problem(
                    "S3: transitions only go down the waterfall (Standard-IA, Intelligent-Tiering, "
                    "One Zone-IA, Glacier IR, Glacier, Deep Archive)",
                    f"{after.storage_class} at {after.days} days comes after "
                    f"{before.storage_class} at {before.days} days",
                )
            )
        elif before.storage_class in IA_CLASSES and after.days - before.days < IA_MIN_DAYS:
            errors.append(
                Problem(
                    "S3: objects stay 30 days in Standard-IA / One Zone-IA before the next transition",
                    f"{after.storage_class} at {after.days} days is only "
                    f"{after.days - before.days} days after {before.storage_class} at {before.days}",
                )
            )
    if lc.expire_days is not None and steps and lc.expire_days <= steps[-1].days:
        errors.append(
            Problem(
                "S3: expiration must come after every transition",
                f"expiry at {lc.expire_days} days, last transition "
                f"({steps[-1].storage_class}) at {steps[-1].days} days",
            )
        )
    return errors


def cost_warnings(lc: ExportLifecycle) -> list[Problem]:
    """What S3 accepts but bills: early deletion, and objects too small to transition."""
    warnings: list[Problem] = []
    steps = sorted(lc.transitions, key=lambda t: t.days)
    for i, t in enumerate(steps):
        minimum = MIN_STORAGE_DAYS.get(t.storage_class)
        if minimum is None:
            continue
        if i + 1 < len(steps):
            leaves, how = steps[i + 1].days, f"the transition to {steps[i + 1].storage_class}"
        elif lc.expire_days is not None:
            leaves, how = lc.expire_days, "expiry"
        else:
            continue
        stay = leaves - t.days
        if stay < minimum:
            warnings.append(
                Problem(
                    f"S3: {t.storage_class} bills at least {minimum} days of storage",
                    f"{how} at {leaves} days leaves {t.storage_class} after {stay} days: "
                    f"an early-deletion fee for the remaining {minimum - stay} days",
                )
            )
    if steps:
        warnings.append(
            Problem(
                "S3: objects under 128 KiB never transition (default minimum object size)",
                "small parts, each export's _manifest.json and _SUCCESS stay in STANDARD",
            )
        )
    return warnings


def plan(lc: ExportLifecycle, prefix: str) -> Plan:
    return Plan(prefix.strip("/"), build_rule(lc, prefix), s3_rule_errors(lc), cost_warnings(lc))


def _filter_prefix(rule: dict[str, Any]) -> str:
    """The key prefix a rule applies to (legacy top-level Prefix, Filter.Prefix, or
    Filter.And.Prefix); "" for the whole bucket."""
    if "Prefix" in rule:
        return str(rule["Prefix"])
    f = rule.get("Filter") or {}
    if "Prefix" in f:
        return str(f["Prefix"])
    return str((f.get("And") or {}).get("Prefix", ""))


def overlapping(rules: list[dict[str, Any]], planned: dict[str, Any]) -> list[str]:
    """Ids of other enabled rules that also apply to objects under the planned prefix."""
    ours = _filter_prefix(planned)
    found = []
    for r in rules:
        if r.get("ID") == planned["ID"] or r.get("Status") != "Enabled":
            continue
        theirs = _filter_prefix(r)
        if ours.startswith(theirs) or theirs.startswith(ours):
            found.append(str(r.get("ID") or "(no id)"))
    return found


def merge(rules: list[dict[str, Any]], planned: dict[str, Any]) -> list[dict[str, Any]]:
    """The bucket's rules with pgdr's rule for this prefix replaced by ``planned`` (or
    added); every other rule kept as it is, in its place."""
    out, placed = [], False
    for r in rules:
        if r.get("ID") == planned["ID"]:
            out.append(planned)
            placed = True
        else:
            out.append(r)
    return out if placed else [*out, planned]


#: The parts of a rule compared by drift (Filter and ID identify it).
_COMPARED = (
    "Status",
    "Filter",
    "Transitions",
    "Expiration",
    "NoncurrentVersionExpiration",
    "AbortIncompleteMultipartUpload",
)


def _normal(rule: dict[str, Any], key: str) -> Any:
    value = rule.get(key)
    if key == "Filter":
        return _filter_prefix(rule)
    if key == "Transitions" and value:
        return sorted(
            ({"Days": t.get("Days"), "StorageClass": t.get("StorageClass")} for t in value),
            key=lambda t: (t["Days"] is None, t["Days"] or 0),
        )
    if key == "Expiration" and value:
        return {k: v for k, v in value.items() if k != "ExpiredObjectDeleteMarker" or v}
    if key == "NoncurrentVersionExpiration" and value:
        return {k: v for k, v in value.items() if v is not None}
    return value or None


def drift(rules: list[dict[str, Any]], planned: dict[str, Any]) -> list[str]:
    """How the bucket's lifecycle differs from the plan, one line per difference (empty:
    none). Other rules are ignored unless they also act on the exports prefix."""
    found = [r for r in rules if r.get("ID") == planned["ID"]]
    if not found:
        return [f"rule {planned['ID']} is missing from the bucket"]
    actual = found[0]
    lines = []
    for key in _COMPARED:
        want, have = _normal(planned, key), _normal(actual, key)
        if want != have:
            lines.append(f"{key}: bucket has {have!r}, plan says {want!r}")
    lines += [
        f"rule {other} also acts on the exports prefix" for other in overlapping(rules, planned)
    ]
    return lines
