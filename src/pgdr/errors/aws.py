"""Errors of the AWS APIs pgdr drives in RDS mode (exit codes 100-106): RDS, KMS, Secrets
Manager and S3 calls made through boto3 (``pgdr.rds.client`` turns botocore's exceptions
into these, one line each, never a traceback)."""

from __future__ import annotations

from pgdr.errors.base import PgdrError


class AwsError(PgdrError):
    """Any other failed AWS API call (its error code and message, and the operation)."""

    exit_code = 100
    kind = "aws"


class AwsCredentialsMissing(AwsError):
    """boto3's credential chain (environment, shared config, instance role) found none."""

    exit_code = 101
    kind = "aws-credentials-missing"


class AwsAccessDenied(AwsError):
    """The credentials may not make that call (IAM): the message names the action."""

    exit_code = 102
    kind = "aws-access-denied"


class AwsNotFound(AwsError):
    """The instance, snapshot, export task or secret named does not exist."""

    exit_code = 103
    kind = "aws-not-found"


class AwsUnreachable(AwsError):
    """The endpoint did not answer, or throttled pgdr past its retries: try again later."""

    exit_code = 104
    kind = "aws-unreachable"
    retryable = True


class AwsWaitTimeout(AwsError):
    """A snapshot, copy or export did not reach its state within the time pgdr waits."""

    exit_code = 105
    kind = "aws-wait-timeout"
    retryable = True


class RdsPolicyDrift(PgdrError):
    """`pgdr rds policy check`: the instance differs from the ``[rds.policy]`` settings."""

    exit_code = 106
    kind = "rds-policy-drift"
