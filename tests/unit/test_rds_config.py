"""The [rds] section: typed, one-line errors naming file, line and key; and the table that
maps AWS error codes to pgdr's exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgdr.config import parse_config
from pgdr.config_rds import rds_settings, require_rds
from pgdr.errors import (
    AwsAccessDenied,
    AwsError,
    AwsNotFound,
    AwsUnreachable,
    ConfigError,
)
from pgdr.rds.client import _snake, classify

pytestmark = pytest.mark.unit

GOOD = """
[rds]
instance = "recalls-prod"
region = "us-east-1"
endpoint_url = "http://127.0.0.1:5000"

[rds.policy]
retention_days = 35
backup_window = "03:00-04:00"
replicate_automated_backups_to = "eu-west-1"

[[rds.policy.copy_regions]]
region = "eu-west-1"
kms_key_id = "arn:aws:kms:eu-west-1:111122223333:key/abc"

[rds.snapshots]
keep_days = 35
keep_count = 3
tags = { team = "recalls" }

[rds.drill]
instance_class = "db.t4g.micro"
security_groups = ["sg-0123"]
password_secret_arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:pgdr/rds-AbCdEf"
"""


def test_full_section_validates() -> None:
    s = require_rds(parse_config(GOOD, Path("p.toml")))
    assert s.instance == "recalls-prod" and s.regions == ["us-east-1", "eu-west-1"]
    assert s.policy.kms_key_for("eu-west-1") == "arn:aws:kms:eu-west-1:111122223333:key/abc"
    assert s.policy.kms_key_for("ap-south-1") is None
    assert s.snapshots.keep_count == 3 and s.drill.password is None


def test_no_section() -> None:
    cfg = parse_config("", Path("p.toml"))
    assert rds_settings(cfg) is None
    with pytest.raises(ConfigError, match=r"no \[rds\] section"):
        require_rds(cfg)


BAD = [
    ('[rds]\nregion = "us-east-1"\n', "rds.instance", "Field required"),
    ('[rds]\ninstance = "9db"\nregion = "us-east-1"\n', "rds.instance", "identifier"),
    ('[rds]\ninstance = "db"\nregion = "mars"\n', "rds.region", "AWS region"),
    (
        '[rds]\ninstance = "db"\nregion = "us-east-1"\n[rds.policy]\nbackup_window = "3-4"\n',
        "rds.policy.backup_window",
        "hh:mm-hh:mm",
    ),
    (
        '[rds]\ninstance = "db"\nregion = "us-east-1"\n[rds.policy]\nbackup_window = "03:00-03:10"\n',
        "rds.policy.backup_window",
        "30 minutes",
    ),
    (
        '[rds]\ninstance = "db"\nregion = "us-east-1"\n[rds.policy]\nretention_days = 36\n',
        "rds.policy.retention_days",
        "less than or equal to 35",
    ),
    (
        '[rds]\ninstance = "db"\nregion = "us-east-1"\n[rds.policy]\n'
        'replicate_automated_backups_to = "eu-west-1"\n',
        "rds.policy.replicate_automated_backups_to",
        "KMS key",
    ),
    (
        '[rds]\ninstance = "db"\nregion = "us-east-1"\n[rds.drill]\npassword = "hunter2"\n',
        "rds.drill.password",
        "env:NAME",
    ),
    (
        '[rds]\ninstance = "db"\nregion = "us-east-1"\n[rds.drill]\n'
        'password = "env:X"\npassword_secret_arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:x"\n',
        "rds.drill",
        "only one of",
    ),
    ('[rds]\ninstance = "db"\nregion = "us-east-1"\nbogus = 1\n', "rds.bogus", "unknown key"),
]


@pytest.mark.parametrize(("text", "key", "why"), BAD)
def test_bad_section_is_one_line_naming_the_key(text: str, key: str, why: str) -> None:
    cfg = parse_config(text, Path("p.toml"))
    with pytest.raises(ConfigError) as e:
        require_rds(cfg)
    msg = str(e.value)
    assert "\n" not in msg and f": {key}: " in msg and why in msg, msg
    assert "hunter2" not in msg


CODES = [
    ("AccessDenied", 403, AwsAccessDenied),
    ("UnrecognizedClientException", 400, AwsAccessDenied),
    ("DBInstanceNotFound", 404, AwsNotFound),
    ("DBSnapshotNotFound", 404, AwsNotFound),
    ("ExportTaskNotFoundFault", 404, AwsNotFound),
    ("ResourceNotFoundException", 400, AwsNotFound),
    ("NoSuchBucket", 404, AwsNotFound),
    ("Throttling", 400, AwsUnreachable),
    ("InternalFailure", 500, AwsUnreachable),
    ("Whatever", 502, AwsUnreachable),
    ("InvalidParameterCombination", 400, AwsError),
    ("InvalidDBInstanceState", 400, AwsError),
]


@pytest.mark.parametrize(("code", "status", "cls"), CODES)
def test_classify(code: str, status: int, cls: type[AwsError]) -> None:
    assert classify(code, status) is cls


def test_exit_codes_are_distinct() -> None:
    from pgdr.errors import AwsCredentialsMissing, AwsWaitTimeout, RdsPolicyDrift

    classes = [
        AwsError,
        AwsCredentialsMissing,
        AwsAccessDenied,
        AwsNotFound,
        AwsUnreachable,
        AwsWaitTimeout,
        RdsPolicyDrift,
    ]
    assert len({c.exit_code for c in classes}) == len(classes)


@pytest.mark.parametrize(
    ("op", "method"),
    [
        ("DescribeDBInstances", "describe_db_instances"),
        ("CopyDBSnapshot", "copy_db_snapshot"),
        ("StartExportTask", "start_export_task"),
    ],
)
def test_operation_names(op: str, method: str) -> None:
    assert _snake(op) == method


def test_example_rds_config_is_the_reference_policy() -> None:
    from pgdr.config import load_config

    cfg = load_config(Path(__file__).parents[2] / "examples" / "pgdr-rds.toml")
    s = require_rds(cfg)
    p = s.policy
    assert (p.retention_days, p.backup_window, p.deletion_protection) == (35, "03:00-04:00", True)
    assert s.regions == ["eu-west-1", "eu-central-1"]
    assert p.kms_key_for(p.replicate_automated_backups_to or "") is not None
    assert len(s.exports.tables) == 4 and s.drill.password_secret_arn is not None


def test_rds_all_follows_markers() -> None:
    """A fake we own: pages of 2 items chained by Marker."""
    from typing import Any

    from pgdr.rds.client import Aws

    class Paged(Aws):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[dict[str, Any]] = []

        def rds(self, region: str, operation: str, **params: Any) -> dict[str, Any]:
            self.seen.append(params)
            page = int(params.get("Marker", "0"))
            more = {"Marker": str(page + 1)} if page < 2 else {}
            return {"Items": [f"{page}a", f"{page}b"], **more}

    aws = Paged()
    assert aws.rds_all("us-east-1", "DescribeX", "Items", MaxRecords=2) == [
        "0a",
        "0b",
        "1a",
        "1b",
        "2a",
        "2b",
    ]
    assert [p.get("Marker") for p in aws.seen] == [None, "1", "2"]
