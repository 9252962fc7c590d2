"""Logging to stderr: warnings by default, -v info, -vv debug, -q errors only.

Routine lines (the daemon started, an alert resolved) are INFO, problems WARNING or ERROR.
Each line starts with a UTC timestamp — except under journald, which stamps every line itself:
systemd sets ``JOURNAL_STREAM`` to the ``device:inode`` of the stream it connected stderr to,
so a timestamp is left out only when stderr *is* that stream (a shell started from a service
inherits the variable but may have redirected stderr to a file).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Mapping

PLAIN = "pgdr: %(levelname)s: %(message)s"
STAMPED = "%(asctime)s " + PLAIN
DATEFMT = "%Y-%m-%dT%H:%M:%SZ"


def under_journald(env: Mapping[str, str], stderr_id: tuple[int, int] | None) -> bool:
    """True when stderr is the journal stream systemd announced in ``JOURNAL_STREAM``."""
    dev, _, ino = env.get("JOURNAL_STREAM", "").partition(":")
    if not (dev.isdigit() and ino.isdigit()) or stderr_id is None:
        return False
    return (int(dev), int(ino)) == stderr_id


def stderr_id() -> tuple[int, int] | None:
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return st.st_dev, st.st_ino


def formatter(journald: bool) -> logging.Formatter:
    if journald:
        return logging.Formatter(PLAIN)
    f = logging.Formatter(STAMPED, DATEFMT)
    f.converter = time.gmtime
    return f


def setup_logging(verbosity: int, quiet: bool) -> None:
    level = (
        logging.ERROR
        if quiet
        else {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(under_journald(os.environ, stderr_id())))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
