"""Log lines: routine at INFO, a UTC timestamp unless stderr is journald's stream."""

from __future__ import annotations

import io
import logging
import re

import pytest

from pgdr.logs import formatter, under_journald

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("journal_stream", "stderr", "journald"),
    [
        ("8:12345", (8, 12345), True),  # systemd connected stderr to the journal
        ("8:12345", (8, 999), False),  # inherited, but stderr was redirected elsewhere
        ("8:12345", None, False),
        ("", (8, 12345), False),  # a terminal, cron, a container
        ("garbage", (8, 12345), False),
    ],
)
def test_journald_is_detected_by_its_stream(
    journal_stream: str, stderr: tuple[int, int] | None, journald: bool
) -> None:
    env = {"JOURNAL_STREAM": journal_stream} if journal_stream else {}
    assert under_journald(env, stderr) is journald


def _line(journald: bool, level: int, msg: str) -> str:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter(journald))
    log = logging.Logger("t")
    log.addHandler(handler)
    log.log(level, msg)
    return out.getvalue().rstrip("\n")


def test_a_terminal_gets_utc_timestamps_journald_does_not() -> None:
    line = _line(False, logging.INFO, "pgdr daemon started")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ pgdr: INFO: pgdr daemon started", line)
    assert _line(True, logging.WARNING, "alert x firing") == "pgdr: WARNING: alert x firing"


def test_routine_daemon_lines_are_info_problems_warnings(caplog: pytest.LogCaptureFixture) -> None:
    from datetime import UTC, datetime

    from pgdr.daemon.alert_delivery import AlertBook
    from pgdr.daemon.alert_rules import Condition

    book = AlertBook(None, None)
    now = datetime(2026, 12, 7, tzinfo=UTC)
    with caplog.at_level(logging.DEBUG, logger="pgdr.daemon"):
        book.update([Condition("postgres_down", True, "refused")], now, 0)
        book.update([Condition("postgres_down", False, "reachable")], now, 0)
    levels = {r.getMessage(): r.levelno for r in caplog.records}
    assert levels == {
        "alert postgres_down firing: refused": logging.WARNING,
        "alert postgres_down resolved: reachable": logging.INFO,
    }
