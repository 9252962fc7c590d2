"""The exports lifecycle plan: S3's own rules (refused), cost warnings, merge and drift."""

from __future__ import annotations

from typing import Any

import pytest

from pgdr.export.lifecycle import (
    ExportLifecycle,
    Transition,
    build_rule,
    cost_warnings,
    drift,
    merge,
    plan,
    rule_id,
    s3_rule_errors,
)

pytestmark = pytest.mark.unit


def lc(*steps: tuple[int, str], expire: int | None = 2557) -> ExportLifecycle:
    return ExportLifecycle(
        transitions=[Transition(days=d, storage_class=c) for d, c in steps],  # type: ignore[arg-type]
        expire_days=expire,
    )


def test_default_is_the_reference_policy() -> None:
    p = plan(ExportLifecycle(), "exports")
    assert p.rule == {
        "ID": "pgdr-exports:exports",
        "Filter": {"Prefix": "exports/"},
        "Status": "Enabled",
        "Transitions": [
            {"Days": 30, "StorageClass": "STANDARD_IA"},
            {"Days": 90, "StorageClass": "GLACIER"},
            {"Days": 365, "StorageClass": "DEEP_ARCHIVE"},
        ],
        "Expiration": {"Days": 2557},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
    }
    assert p.errors == []
    # only the small-object note: no early-deletion fee in the reference tiers
    assert [w.rule for w in p.warnings] == [
        "S3: objects under 128 KiB never transition (default minimum object size)"
    ]


@pytest.mark.parametrize(
    ("steps", "expire", "rule"),
    [
        (((10, "STANDARD_IA"),), 2557, "need at least 30 days after creation"),
        (((29, "ONEZONE_IA"),), 2557, "need at least 30 days after creation"),
        (((30, "GLACIER"), (90, "STANDARD_IA")), 2557, "only go down the waterfall"),
        (((30, "DEEP_ARCHIVE"), (90, "GLACIER")), 2557, "only go down the waterfall"),
        (((30, "STANDARD_IA"), (45, "GLACIER")), 2557, "stay 30 days in Standard-IA"),
        (((30, "GLACIER"), (90, "GLACIER")), 2557, "one transition per storage class"),
        (((30, "STANDARD_IA"), (365, "DEEP_ARCHIVE")), 365, "expiration must come after"),
        (((30, "STANDARD_IA"),), 20, "expiration must come after"),
    ],
)
def test_s3_refuses(steps: tuple[tuple[int, str], ...], expire: int, rule: str) -> None:
    errors = s3_rule_errors(lc(*steps, expire=expire))
    assert errors, "S3 would refuse this plan"
    assert any(rule in e.rule for e in errors), errors


@pytest.mark.parametrize(
    "steps",
    [
        ((30, "STANDARD_IA"), (90, "GLACIER"), (365, "DEEP_ARCHIVE")),
        ((0, "GLACIER"), (180, "DEEP_ARCHIVE")),  # archive classes take objects at once
        ((30, "STANDARD_IA"), (60, "GLACIER_IR")),  # exactly 30 days in IA
        ((0, "INTELLIGENT_TIERING"),),
        (),
    ],
)
def test_s3_accepts(steps: tuple[tuple[int, str], ...]) -> None:
    assert s3_rule_errors(lc(*steps)) == []


@pytest.mark.parametrize(
    ("steps", "expire", "fees"),
    [
        # reference tiers: no fee
        (((30, "STANDARD_IA"), (90, "GLACIER"), (365, "DEEP_ARCHIVE")), 2557, []),
        # Glacier left after 30 of its 90 days
        (((0, "GLACIER"), (30, "DEEP_ARCHIVE")), 2557, [("GLACIER", 60)]),
        # Deep Archive deleted after 100 of its 180 days
        (((30, "STANDARD_IA"), (365, "DEEP_ARCHIVE")), 465, [("DEEP_ARCHIVE", 80)]),
        # Glacier IR expires after 10 days
        (((0, "GLACIER_IR"),), 10, [("GLACIER_IR", 80)]),
        # kept for ever: nothing leaves, nothing billed early
        (((0, "DEEP_ARCHIVE"),), None, []),
    ],
)
def test_early_deletion_fees(
    steps: tuple[tuple[int, str], ...], expire: int | None, fees: list[tuple[str, int]]
) -> None:
    found = [w for w in cost_warnings(lc(*steps, expire=expire)) if "bills at least" in w.rule]
    assert [
        (w.rule.split()[1], int(w.message.split("remaining ")[1].split()[0])) for w in found
    ] == fees


def test_no_transitions_no_small_object_note() -> None:
    assert cost_warnings(lc(expire=2557)) == []
    assert "Transitions" not in build_rule(lc(expire=2557), "x")


@pytest.mark.parametrize(
    ("prefix", "rid", "filt"),
    [
        ("exports", "pgdr-exports:exports", "exports/"),
        ("", "pgdr-exports", ""),
        ("a/b/", "pgdr-exports:a/b", "a/b/"),
    ],
)
def test_rule_names_its_prefix(prefix: str, rid: str, filt: str) -> None:
    rule = build_rule(ExportLifecycle(), prefix)
    assert rule["ID"] == rid == rule_id(prefix.strip("/"))
    assert rule["Filter"] == {"Prefix": filt}


OTHER: dict[str, Any] = {
    "ID": "logs",
    "Filter": {"Prefix": "logs/"},
    "Status": "Enabled",
    "Expiration": {"Days": 14},
}


def test_merge_keeps_other_rules_and_replaces_ours() -> None:
    planned = build_rule(ExportLifecycle(), "exports")
    stale = {**planned, "Expiration": {"Days": 9}}
    assert merge([OTHER], planned) == [OTHER, planned]
    assert merge([stale, OTHER], planned) == [planned, OTHER]
    assert merge([], planned) == [planned]


def test_drift() -> None:
    planned = build_rule(ExportLifecycle(), "exports")
    assert drift([OTHER, planned], planned) == []
    assert drift([OTHER], planned) == ["rule pgdr-exports:exports is missing from the bucket"]
    # S3 answers transitions in its own order and may add ExpiredObjectDeleteMarker=False
    answered = {
        **planned,
        "Transitions": list(reversed(planned["Transitions"])),
        "Expiration": {"Days": 2557, "ExpiredObjectDeleteMarker": False},
    }
    assert drift([answered], planned) == []
    edited = {**planned, "Transitions": [{"Days": 60, "StorageClass": "STANDARD_IA"}]}
    (line,) = drift([edited], planned)
    assert line.startswith("Transitions: bucket has")
    disabled = {**planned, "Status": "Disabled"}
    assert drift([disabled], planned) == ["Status: bucket has 'Disabled', plan says 'Enabled'"]
    whole_bucket = {"ID": "all", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 30}}
    assert drift([planned, whole_bucket], planned) == ["rule all also acts on the exports prefix"]


def test_versions_kept_for_ever_when_asked() -> None:
    keep = ExportLifecycle(noncurrent_expire_days=None)
    rule = build_rule(keep, "exports")
    assert "NoncurrentVersionExpiration" not in rule
    planned = build_rule(ExportLifecycle(), "exports")
    (line,) = drift([rule], planned)
    assert line.startswith("NoncurrentVersionExpiration: bucket has None")
