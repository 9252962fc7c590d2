"""AWS clients for RDS mode, one per (service, region), and the one place botocore's
exceptions become pgdr errors.

Credentials come from boto3's usual chain (environment, shared config and profiles, the
instance or task role); ``[rds] endpoint_url`` points every client at another endpoint
(tests: moto's server). Every call goes through :meth:`Aws.call`, which

* turns a failure into one line with a distinct exit code — no credentials 101, access denied
  102 (the IAM action is named), not found 103, unreachable or throttled past botocore's own
  retries 104, anything else 100 — never a traceback;
* tells an optional ``observer`` the IAM action of each call made (``rds:CreateDBSnapshot``):
  the tests compare those with the Terraform module's IAM policy (least privilege, §8l).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pgdr.errors import (
    AwsAccessDenied,
    AwsCredentialsMissing,
    AwsError,
    AwsNotFound,
    AwsUnreachable,
)

#: Called with the IAM action of every API call made, e.g. "rds:DescribeDBInstances".
Observer = Callable[[str], None]

_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "ExpiredToken",
    "ExpiredTokenException",
    "KMSKeyNotAccessibleFault",
}
_THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "SlowDown",
    "ServiceUnavailable",
    "InternalFailure",
}
_NOT_FOUND_SUFFIXES = ("NotFound", "NotFoundFault", "NotFoundException", "NoSuchBucket")


def classify(code: str, status: int | None) -> type[AwsError]:
    """The pgdr error for an AWS error code (and HTTP status): a pure table, tested."""
    if code in _DENIED or status == 403:
        return AwsAccessDenied
    if code in _THROTTLED or (status is not None and status >= 500):
        return AwsUnreachable
    if code == "ResourceNotFoundException" or code.endswith(_NOT_FOUND_SUFFIXES) or status == 404:
        return AwsNotFound
    return AwsError


@dataclass
class Aws:
    """Clients for one ``[rds]`` setup: ``call("rds", region, "DescribeDBInstances", ...)``."""

    endpoint_url: str | None = None
    observer: Observer | None = None
    #: botocore's own retries (standard mode: backoff, throttling-aware) before 104.
    max_attempts: int = 5
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            import boto3
            from botocore.config import Config

            config = Config(
                retries={"max_attempts": self.max_attempts, "mode": "standard"},
                connect_timeout=self.connect_timeout_s,
                read_timeout=self.read_timeout_s,
            )
            session: Any = boto3.session.Session()  # service names are strings here
            client = session.client(
                service, region_name=region, endpoint_url=self.endpoint_url, config=config
            )
            if self.observer is not None:
                client.meta.events.register("before-call", self._observe)
            self._clients[key] = client
        return self._clients[key]

    def _observe(self, model: Any, **_: Any) -> None:
        prefix = model.service_model.signing_name
        if self.observer is not None:
            self.observer(f"{prefix}:{model.name}")

    def call(self, service: str, region: str, operation: str, **params: Any) -> dict[str, Any]:
        """One API call by its operation name (as in the API reference), errors translated."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            PartialCredentialsError,
            ReadTimeoutError,
        )
        from botocore.parsers import ResponseParserError

        client = self.client(service, region)
        method = getattr(client, _snake(operation))
        what = f"{service} {operation} in {region}"
        try:
            result: dict[str, Any] = method(**params)
            return result
        except (NoCredentialsError, PartialCredentialsError):
            raise AwsCredentialsMissing(
                f"{what}: no AWS credentials (environment, shared config or instance role)"
            ) from None
        except ClientError as e:
            err = e.response.get("Error", {})
            code = str(err.get("Code", ""))
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            msg = _one_line(str(err.get("Message", "")))
            cls = classify(code, status)
            if cls is AwsAccessDenied:
                msg = f"{msg} (needs {client.meta.service_model.signing_name}:{operation})"
            raise cls(f"{what}: {code}: {msg}" if msg else f"{what}: {code}") from None
        except (
            EndpointConnectionError,
            ConnectTimeoutError,
            ReadTimeoutError,
            ConnectionClosedError,
        ) as e:
            raise AwsUnreachable(f"{what}: {_one_line(str(e))}") from None
        except ResponseParserError:
            raise AwsError(
                f"{what}: the endpoint's answer is not an AWS response "
                "(the operation may be unsupported there)"
            ) from None
        except BotoCoreError as e:
            raise AwsError(f"{what}: {_one_line(str(e))}") from None

    def rds(self, region: str, operation: str, **params: Any) -> dict[str, Any]:
        return self.call("rds", region, operation, **params)

    def rds_all(self, region: str, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paginated RDS Describe call (``Marker`` after ``Marker``):
        an account holds more snapshots than one page of 100."""
        items: list[dict[str, Any]] = []
        marker: str | None = None
        while True:
            page = self.rds(region, operation, **params, **({"Marker": marker} if marker else {}))
            items += page.get(key, [])
            marker = page.get("Marker")
            if not marker:
                return items


def _one_line(text: str, limit: int = 300) -> str:
    """An endpoint's message on one line, cut (a proxy's or a broken server's HTML page must
    not flood the terminal)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _snake(operation: str) -> str:
    """boto3's method name of an API operation: DescribeDBInstances -> describe_db_instances."""
    from botocore import xform_name

    name: str = xform_name(operation)
    return name
