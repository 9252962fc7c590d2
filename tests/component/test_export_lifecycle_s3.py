"""`pgdr export lifecycle` against moto's S3 over real HTTP: apply sets exactly the planned
rule and keeps the bucket's other rules, check finds a hand edit, an invalid plan is
refused with S3's rule named before the bucket is touched, file:// says tiers do not apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pgdr.errors import ConfigError, LifecyclePlanInvalid
from pgdr.export.lifecycle import ExportLifecycle, Transition, build_rule
from pgdr.export.settings import ExportSettings
from pgdr.export.tiers import (
    lifecycle_apply,
    lifecycle_check,
    lifecycle_plan,
    lifecycle_settings,
    refusal,
)
from tests.e2e.cli import pgdr
from tests.fixtures.moto_server import bucket_url, make_bucket, s3_client

pytestmark = [pytest.mark.component, pytest.mark.e2e]

FOREIGN: dict[str, Any] = {
    "ID": "logs-expire",
    "Filter": {"Prefix": "logs/"},
    "Status": "Enabled",
    "Expiration": {"Days": 14},
}


def _rules(endpoint: str, bucket: str) -> list[dict[str, Any]]:
    return list(s3_client(endpoint).get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"])


def _normal(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule as compared here: moto may add empty defaults S3 also answers."""
    out = {k: v for k, v in rule.items() if v not in (None, [], {})}
    if "Expiration" in out:
        out["Expiration"] = {
            k: v for k, v in out["Expiration"].items() if k != "ExpiredObjectDeleteMarker" or v
        }
    return out


@pytest.fixture
def bucket(moto_endpoint: str) -> str:
    name = make_bucket(moto_endpoint)
    s3_client(moto_endpoint).put_bucket_lifecycle_configuration(
        Bucket=name, LifecycleConfiguration={"Rules": [FOREIGN]}
    )
    return name


def test_apply_then_check_then_drift(moto_endpoint: str, bucket: str) -> None:
    url = bucket_url(moto_endpoint, bucket, "exports")
    settings = ExportSettings(url=url)
    planned = lifecycle_plan(settings, ExportLifecycle())
    assert _rules(moto_endpoint, bucket) == [FOREIGN]  # plan reads and writes nothing

    applied = pgdr("export", "lifecycle", "apply", "--url", url, "--json")
    assert applied.returncode == 0, applied.stderr
    assert "warning: export-lifecycle-apply done but not audited" in applied.stderr
    want = build_rule(ExportLifecycle(), "exports")
    assert planned.rule == want
    assert [_normal(r) for r in _rules(moto_endpoint, bucket)] == [FOREIGN, want]

    checked = pgdr("export", "lifecycle", "check", "--url", url)
    assert checked.returncode == 0, checked.stderr
    assert "matches the plan" in checked.stdout

    # an operator shortens the expiry by hand: check reports it and exits 111
    edited = {**want, "Expiration": {"Days": 400}}
    s3_client(moto_endpoint).put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": [FOREIGN, edited]}
    )
    drifted = pgdr("export", "lifecycle", "check", "--url", url)
    assert drifted.returncode == 111, drifted.stderr
    assert "drift" in drifted.stdout and "Expiration" in drifted.stderr

    # apply again restores the plan, still keeping the foreign rule
    again = lifecycle_apply(settings, ExportLifecycle())
    assert refusal(again) is None and again.other_rules == ["logs-expire"]
    assert [_normal(r) for r in _rules(moto_endpoint, bucket)] == [FOREIGN, want]
    assert refusal(lifecycle_check(settings, ExportLifecycle())) is None


def test_invalid_plan_is_refused_before_the_bucket(moto_endpoint: str, bucket: str) -> None:
    url = bucket_url(moto_endpoint, bucket, "exports")
    ia_at_10 = ExportLifecycle(transitions=[Transition(days=10, storage_class="STANDARD_IA")])
    report = lifecycle_apply(ExportSettings(url=url), ia_at_10)
    err = refusal(report)
    assert isinstance(err, LifecyclePlanInvalid) and err.exit_code == 110
    assert "Standard-IA" in err.message and "at least 30 days" in err.message
    assert "STANDARD_IA at 10 days" in err.message
    assert _rules(moto_endpoint, bucket) == [FOREIGN]  # nothing sent to S3


def test_invalid_config_plan_exits_110_naming_the_rule(
    moto_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    url = bucket_url(moto_endpoint, bucket, "exports")
    config = tmp_path / "pgdr.toml"
    config.write_text(
        f'[exports]\nurl = "{url}"\n\n[exports.lifecycle]\n'
        'transitions = [{days = 10, storage_class = "STANDARD_IA"}]\n'
    )
    config.chmod(0o600)
    for action in ("plan", "apply"):
        r = pgdr("--config", config, "export", "lifecycle", action)
        assert r.returncode == 110, r.stderr
        assert "Standard-IA" in r.stderr and "at least 30 days" in r.stderr
    assert _rules(moto_endpoint, bucket) == [FOREIGN]
    with pytest.raises(ConfigError, match=r"exports\.lifecycle\.expire_days"):
        lifecycle_settings(ExportSettings(url=url, lifecycle={"expire_days": 0}))


def test_file_target_says_tiers_do_not_apply(tmp_path: Path) -> None:
    r = pgdr("export", "lifecycle", "check", "--url", f"file://{tmp_path}")
    assert r.returncode == 0, r.stderr
    assert "tiers do not apply" in r.stdout
    settings = ExportSettings(url=f"file://{tmp_path}")
    for step in (lifecycle_plan, lifecycle_apply, lifecycle_check):
        report = step(settings, ExportLifecycle())
        assert not report.applies and "tiers do not apply" in report.note
        assert refusal(report) is None
    assert list(tmp_path.iterdir()) == []
