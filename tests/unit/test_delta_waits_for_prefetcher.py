"""A delta restore waits for a WAL prefetcher the stopped server left running, before it
removes pgdr_prefetch/ (CI once saw the delta's rmtree fail: "Directory not empty")."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from pgdr.errors import UsageError
from pgdr.proc import PREFETCHER_LOCK, hold_shared
from pgdr.restore.commands import PREFETCH_DIR
from pgdr.restore.delta import check_delta_target


def _pgdata(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    (data / PREFETCH_DIR / "prefetch").mkdir(parents=True)
    (data / "PG_VERSION").write_text("15\n")
    return data


def test_the_delta_starts_only_after_the_prefetcher_let_go(tmp_path: Path) -> None:
    data = _pgdata(tmp_path)
    fd = hold_shared(data / PREFETCH_DIR / PREFETCHER_LOCK)  # a prefetcher at work
    state = {"done": False}

    def finish() -> None:
        state["done"] = True  # set before the lock goes
        os.close(fd)

    timer = threading.Timer(0.3, finish)
    timer.start()
    try:
        check_delta_target(data, prefetcher_wait_s=30)
        assert state["done"], "the delta went ahead while the prefetcher held its lock"
    finally:
        timer.join()


def test_a_prefetcher_that_never_ends_is_named(tmp_path: Path) -> None:
    data = _pgdata(tmp_path)
    fd = hold_shared(data / PREFETCH_DIR / PREFETCHER_LOCK)
    try:
        with pytest.raises(UsageError, match="prefetcher still writes into"):
            check_delta_target(data, prefetcher_wait_s=0.2)
    finally:
        os.close(fd)


def test_no_prefetcher_no_wait(tmp_path: Path) -> None:
    data = _pgdata(tmp_path)
    check_delta_target(data, prefetcher_wait_s=0)  # no lock file: goes ahead at once
    fd = hold_shared(data / PREFETCH_DIR / PREFETCHER_LOCK)
    os.close(fd)  # a finished prefetcher leaves the file, unheld
    check_delta_target(data, prefetcher_wait_s=0)
