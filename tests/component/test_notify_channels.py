"""Every notification channel against a real local receiver: an HTTP server in a thread
(webhook, Slack, PagerDuty), aiosmtpd (e-mail) and the moto server's SNS delivering into an
SQS queue. Secrets (URLs, keys) are given by reference."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from aiosmtpd.controller import Controller

from pgdr.errors import NotifyError
from pgdr.notify.base import RecordingNotifier, build_notifiers, send_all
from pgdr.notify.event import Event
from pgdr.notify.settings import (
    EmailSettings,
    PagerDutySettings,
    SlackSettings,
    SnsSettings,
    WebhookSettings,
)
from tests.fixtures.moto_server import REGION, _free_port
from tests.fixtures.receiver import Receiver, receiver

pytestmark = pytest.mark.component

FAIL = Event(
    "drill",
    "failure",
    "pgdr drill FAILED on db1",
    "indexes: missing x",
    "pgdr-drill-r1",
    previous_status="ok",
    details={"drill_id": "D2", "rto_seconds": 12.5},
)
OK = Event(
    "drill",
    "ok",
    "pgdr drill PASSED on db1",
    "all good",
    "pgdr-drill-r1",
    previous_status="failure",
    details={"drill_id": "D3"},
)
OK_AGAIN = Event(
    "drill", "ok", "pgdr drill PASSED on db1", "all good", "pgdr-drill-r1", previous_status="ok"
)


@pytest.fixture
def http() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


def ref(tmp_path: Path, name: str, value: str) -> str:
    (tmp_path / name).write_text(value + "\n")
    return f"file:{tmp_path / name}"


def test_webhook_posts_the_event_as_json(http: Receiver, tmp_path: Path) -> None:
    (n,) = build_notifiers(
        {
            "hook": WebhookSettings(
                type="webhook",
                url=ref(tmp_path, "u", http.url + "/in"),
                headers={"X-Token": ref(tmp_path, "t", "s3cret")},
            )
        }
    )
    n.send(FAIL)
    (body,) = http.bodies("/in")
    assert body["schema"] == "pgdr.event/1" and body["status"] == "failure"
    assert body["dedup_key"] == "pgdr-drill-r1" and body["details"]["drill_id"] == "D2"


def test_slack_message(http: Receiver, tmp_path: Path) -> None:
    (n,) = build_notifiers(
        {
            "slack": SlackSettings(
                type="slack", webhook_url=ref(tmp_path, "s", http.url + "/services/T/B/X")
            )
        }
    )
    n.send(FAIL)
    (body,) = http.bodies("/services/T/B/X")
    assert body["text"].startswith(":rotating_light: pgdr drill FAILED")
    att = body["attachments"][0]
    assert att["color"] == "#a30200" and "indexes: missing x" in att["text"]
    assert {"title": "rto_seconds", "value": "12.5", "short": True} in att["fields"]


def test_pagerduty_triggers_then_resolves_with_one_dedup_key(
    http: Receiver, tmp_path: Path
) -> None:
    (n,) = build_notifiers(
        {
            "pd": PagerDutySettings(
                type="pagerduty",
                routing_key=ref(tmp_path, "k", "R0UTING"),
                endpoint=http.url + "/pagerduty/v2/enqueue",
            )
        }
    )
    sent = []
    for e in (OK_AGAIN, FAIL, OK, OK_AGAIN):
        if n.wants(e):
            n.send(e)
            sent.append(e.status)
    assert sent == ["failure", "ok"]  # a success after a success says nothing
    trigger, resolve = http.bodies("/pagerduty/v2/enqueue")
    assert trigger["event_action"] == "trigger" and trigger["routing_key"] == "R0UTING"
    assert (
        trigger["payload"]["severity"] == "critical" and trigger["payload"]["summary"] == FAIL.title
    )
    assert resolve == {
        "routing_key": "R0UTING",
        "event_action": "resolve",
        "dedup_key": trigger["dedup_key"],
    }
    assert trigger["dedup_key"] == "pgdr-drill-r1"


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def test_email_over_smtp_to_aiosmtpd() -> None:
    inbox = _Inbox()
    port = _free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        (n,) = build_notifiers(
            {
                "mail": EmailSettings.model_validate(
                    {
                        "type": "email",
                        "host": "127.0.0.1",
                        "port": port,
                        "starttls": False,
                        "from": "pgdr@db1.example",
                        "to": ["ops@example.com", "dba@example.com"],
                    }
                )
            }
        )
        n.send(FAIL)
    finally:
        ctl.stop()
    ((sender, rcpts, raw),) = inbox.messages
    text = raw.decode()
    assert sender == "pgdr@db1.example" and rcpts == ["ops@example.com", "dba@example.com"]
    assert "Subject: [pgdr] FAILURE: pgdr drill FAILED on db1" in text
    assert "indexes: missing x" in text and "X-Pgdr-Dedup-Key: pgdr-drill-r1" in text


def test_sns_publishes_to_a_topic_an_sqs_queue_receives(moto_endpoint: str) -> None:
    sns = boto3.client("sns", endpoint_url=moto_endpoint, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name=REGION)
    topic = sns.create_topic(Name=f"pgdr-drills-{time.monotonic_ns()}")["TopicArn"]
    q = sqs.create_queue(QueueName=f"ops-{time.monotonic_ns()}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    (n,) = build_notifiers(
        {"sns": SnsSettings(type="sns", topic_arn=topic, region=REGION, endpoint=moto_endpoint)}
    )
    n.send(FAIL)
    msgs = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=5).get("Messages", [])
    assert len(msgs) == 1
    envelope = json.loads(msgs[0]["Body"])
    assert envelope["Subject"] == "pgdr failure: pgdr drill FAILED on db1"
    assert json.loads(envelope["Message"])["details"]["drill_id"] == "D2"
    assert envelope["MessageAttributes"]["status"]["Value"] == "failure"


def test_a_broken_channel_is_reported_and_does_not_stop_the_others(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{_free_port()}/hooks/SECRET-TOKEN"
    (broken,) = build_notifiers(
        {"slack": SlackSettings(type="slack", webhook_url=ref(tmp_path, "s", dead))}
    )
    with pytest.raises(
        NotifyError, match="notification channel 'slack' failed: cannot reach <secret url>"
    ) as e:
        broken.send(FAIL)
    assert "SECRET-TOKEN" not in str(e.value)
    rec = RecordingNotifier()
    out = send_all([broken, rec], FAIL)
    assert [(d.channel, d.ok) for d in out] == [("slack", False), ("recording", True)]
    assert rec.events == [FAIL]
    missing = build_notifiers(
        {"hook": WebhookSettings(type="webhook", url="env:PGDR_TEST_NO_SUCH_VAR")}
    )
    (d,) = send_all(missing, FAIL)
    assert not d.ok and "PGDR_TEST_NO_SUCH_VAR is not set" in (d.error or "")


def test_http_errors_are_one_line_and_retried_once(http: Receiver, tmp_path: Path) -> None:
    (n,) = build_notifiers(
        {"hook": WebhookSettings(type="webhook", url=ref(tmp_path, "u", http.url + "/fail"))}
    )
    with pytest.raises(
        NotifyError, match=r"^notification channel 'hook' failed: HTTP 500 from <secret url>"
    ):
        n.send(OK)
    assert len(http.bodies("/fail")) == 2 and http.bodies("/fail")[0]["resolves"] is True


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("hooks.example.com/services/T0/B0/SECRET-TOKEN", "URL has no scheme"),
        ("hooks.example.com:443/services/SECRET-TOKEN", "URL scheme is not http or https"),
        ("ftp://hooks.example.com/SECRET-TOKEN", "URL scheme is not http or https"),
        ("https://hooks.example.com:SECRET-TOKEN/x", "URL is malformed"),
        ("https:///SECRET-TOKEN", "URL has no host"),
        ("https://hooks.example.com/SECRET-TOKEN x", "spaces or control characters"),
    ],
)
def test_bad_secret_urls_are_named_not_quoted(tmp_path: Path, url: str, why: str) -> None:
    """The error lands in drill records and logs: it says what is wrong, never the URL."""
    notifiers = build_notifiers(
        {
            "hook": WebhookSettings(type="webhook", url=ref(tmp_path, "u", url)),
            "slack": SlackSettings(type="slack", webhook_url=ref(tmp_path, "s", url)),
        }
    )
    out = send_all(notifiers, FAIL)
    for d in out:
        assert not d.ok and d.error is not None, d
        assert d.error.startswith(f"notification channel {d.channel!r} failed: ") and why in d.error
        assert "SECRET" not in d.error and "example" not in d.error, d.error


def test_secrets_quoted_by_the_server_are_scrubbed(http: Receiver, tmp_path: Path) -> None:
    hook, pd = build_notifiers(
        {
            "hook": WebhookSettings(
                type="webhook",
                url=ref(tmp_path, "u", http.url + "/echo/SECRET-PATH"),
                headers={"X-Token": ref(tmp_path, "t", "SECRET-HEADER")},
            ),
            "pd": PagerDutySettings(
                type="pagerduty",
                routing_key=ref(tmp_path, "k", "SECRET-ROUTING-KEY"),
                endpoint=http.url + "/echo",
            ),
        }
    ).__iter__()
    for n in (hook, pd):
        with pytest.raises(NotifyError, match="HTTP 400") as e:
            n.send(FAIL)
        assert "SECRET" not in e.value.message and "\n" not in e.value.message, e.value.message
