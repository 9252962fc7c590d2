"""One fault per check, each broken in what gets restored and nothing else: the drill fails
with that check (and only that one), the message says why, the local webhook receives the
failure, and the sandbox is gone.

One source cluster serves every fault to save time: each fault is committed, its moment
recorded, and then reverted, so a point-in-time drill to that moment sees exactly one fault.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pgdr.backup.run import take_backup
from pgdr.demo import reference_db
from pgdr.drill.settings import AssertionSpec, DatabaseChecks, DrillSettings, QuerySpec
from pgdr.notify.base import build_notifiers
from pgdr.notify.settings import WebhookSettings
from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import process_in_dir
from tests.fixtures.pg import FAST_SETTINGS
from tests.pg.archiving import _archive_setup
from tests.pg.drilling import Receiver, archiving_settings, drill, open_repo, switch_and_wait

pytestmark = [pytest.mark.pg, pytest.mark.slow]

FAST_FN = "CREATE OR REPLACE FUNCTION report_fn() RETURNS bigint LANGUAGE sql AS $$SELECT count(*) FROM recalls WHERE severity >= 3$$"
SLOW_FN = "CREATE OR REPLACE FUNCTION report_fn() RETURNS bigint LANGUAGE sql AS $$SELECT count(*) FROM recalls, pg_sleep(0.05) WHERE severity >= 3$$"

#: fault -> (statements that break it, statements that repair it)
FAULTS: dict[str, tuple[list[str], list[str]]] = {
    "none": ([], []),
    "indexes": (
        ["DROP INDEX recalls_brand_idx"],
        ["CREATE INDEX recalls_brand_idx ON recalls (brand)"],
    ),
    "orphans": (
        [
            "CREATE TABLE saved_users AS SELECT * FROM users WHERE id IN (SELECT user_id FROM family_members LIMIT 3)",
            "SET session_replication_role = replica; DELETE FROM users WHERE id IN (SELECT id FROM saved_users)",
        ],
        [
            "SET session_replication_role = replica; INSERT INTO users SELECT * FROM saved_users; DROP TABLE saved_users"
        ],
    ),
    "recency": (
        ["UPDATE recalls SET updated_at = updated_at - interval '10 days'"],
        ["UPDATE recalls SET updated_at = updated_at + interval '10 days'"],
    ),
    "performance": ([SLOW_FN], [FAST_FN]),
    "rows": (
        ["CREATE TABLE saved_subs AS SELECT * FROM subscriptions", "DELETE FROM subscriptions"],
        ["INSERT INTO subscriptions SELECT * FROM saved_subs", "DROP TABLE saved_subs"],
    ),
    "constraints": (
        ["ALTER TABLE users ADD CONSTRAINT users_all_pro CHECK (plan = 'pro') NOT VALID"],
        ["ALTER TABLE users DROP CONSTRAINT users_all_pro"],
    ),
    "assertion": (
        ["UPDATE recalls SET recall_number = '' WHERE id = 1"],
        ["UPDATE recalls SET recall_number = 'R-0000001' WHERE id = 1"],
    ),
    "connectivity": (["DROP DATABASE reports"], ["CREATE DATABASE reports"]),
    "tables": (["DROP TABLE family_members"], []),  # last: never repaired
}
#: which checks each fault must fail (a check's name up to its first colon)
EXPECTED = {
    "none": set(),
    "indexes": {"indexes"},
    "orphans": {"orphans"},
    "recency": {"recency"},
    "performance": {"performance"},
    "rows": {"rows"},
    "constraints": {"constraints"},
    "assertion": {"assertion"},
    "connectivity": {"connectivity"},
    "tables": {"tables"},
    "integrity": {"amcheck", "checksums"},
}


def settings(base: Path) -> DrillSettings:
    app = DatabaseChecks(
        critical_tables=list(reference_db.TABLES),
        recency=["recalls.updated_at"],
        queries=[QuerySpec(name="severe recalls", sql="SELECT report_fn()", runs=3)],
        assertions=[
            AssertionSpec(
                name="every recall has a number",
                sql="SELECT NOT EXISTS (SELECT 1 FROM recalls WHERE recall_number = '')",
            )
        ],
    )
    return DrillSettings(
        state_dir=base / "state",
        sandbox_dir=base / "sandboxes",
        databases={"postgres": app, "reports": DatabaseChecks()},
        performance_baseline="production",
    )


def _run(c: Cluster, statements: list[str]) -> None:
    with c.connect() as conn:
        for s in statements:
            conn.execute(s)  # type: ignore[arg-type]


def _now(c: Cluster) -> str:
    return str(c.sql("SELECT clock_timestamp()::text")[0][0]).replace(" ", "T")


def _corrupt_heap_page(c: Cluster) -> None:
    """Garbage in the middle of block 1 of audit_blobs, on disk, with the server stopped
    (so no buffer overwrites it). WAL never carries it: only a backup taken now can."""
    rel = c.sql("SELECT pg_relation_filepath('audit_blobs')")[0][0]
    c.sql("CHECKPOINT")
    c.stop("fast")
    with open(c.data_dir / str(rel), "r+b") as f:
        f.seek(8192 + 4000)
        f.write(b"\xde\xad\xbe\xef" * 8)
    c.start()


@pytest.fixture(scope="module")
def faulty(pg_bindir: Path, pg_base_dir: Path) -> Iterator[dict[str, Any]]:
    setup = _archive_setup(pg_base_dir)
    base = Path(setup["root"])
    src = Cluster.create(
        base / "src",
        bindir=pg_bindir,
        settings={**FAST_SETTINGS, **archiving_settings(setup), "autovacuum": "off"},
    )
    hook = Receiver()
    hook.thread.start()
    try:
        src.start()
        with src.connect() as conn:
            reference_db.load(conn, scale=0.01)
            conn.execute(FAST_FN)
            conn.execute(
                "CREATE TABLE audit_blobs AS SELECT g, md5(g::text) AS h FROM generate_series(1, 3000) g"
            )
            conn.execute("CREATE DATABASE reports")
        take_backup(open_repo(setup), src.conninfo(), label="clean")
        targets: dict[str, str] = {}
        for name, (breaks, repairs) in FAULTS.items():
            if name == "connectivity":  # the physical fault goes before the irreversible ones
                _corrupt_heap_page(src)
                take_backup(open_repo(setup), src.conninfo(), label="corrupt")
                src.sql("SELECT txid_current()")
                targets["integrity"] = _now(src)
                src.sql("CREATE TABLE after_corrupt ()")
            _run(src, breaks)
            targets[name] = _now(src)
            _run(src, repairs or ["CREATE TABLE IF NOT EXISTS after_last ()"])
        switch_and_wait(src)
        yield {"setup": setup, "src": src, "targets": targets, "hook": hook, "base": base}
    finally:
        hook.server.shutdown()
        src.destroy()


_seen = itertools.count()


@pytest.mark.parametrize("fault", list(EXPECTED))
def test_fault_fails_exactly_its_check(faulty: dict[str, Any], fault: str) -> None:
    src: Cluster = faulty["src"]
    hook: Receiver = faulty["hook"]
    path = f"/hook/{fault}"
    notifiers = build_notifiers(
        {"hook": WebhookSettings(type="webhook", url=_url_ref(faulty["base"], hook.url + path))}
    )
    rec = drill(
        faulty["setup"],
        settings(faulty["base"]),
        notifiers=notifiers,
        production=lambda db: src.conninfo(db),
        target=faulty["targets"][fault],
        backup="corrupt" if fault == "integrity" else "clean",
    )
    failed = {c.name.split(":")[0] for c in rec.checks if c.status == "fail"}
    detail = "; ".join(f"{c.name}: {c.detail}" for c in rec.checks if c.status != "pass")
    assert rec.error is None, rec.error
    assert failed == EXPECTED[fault], detail
    if fault == "none":
        assert rec.result in ("passed", "warning") and "passed" in rec.message
    else:
        assert rec.result == "failed" and rec.message.startswith("drill failed: ")
        for name in EXPECTED[fault]:
            assert name in rec.message
    # the notification reached the local receiver
    (event,) = hook.bodies(path)
    assert event["details"]["drill_id"] == rec.id
    assert event["status"] == ("ok" if fault == "none" else "failure")
    assert rec.notifications == [
        {"channel": "hook", "ok": True, "seconds": rec.notifications[0]["seconds"], "error": None}
    ]
    # the sandbox is gone: no directory, no server
    sandbox = Path(rec.sandbox["dir"])
    assert not sandbox.exists()
    assert not process_in_dir(rec.pid, sandbox / "data")
    assert not list((faulty["base"] / "state" / "sandboxes").glob("*.json"))
    # and the record is in the repository
    stored = open_repo(faulty["setup"]).get_manifest("drill", rec.id).doc
    assert stored["result"] == rec.result and stored["rto_seconds"] == rec.total_seconds


def _url_ref(base: Path, url: str) -> str:
    """Webhook URLs are secrets: configured by reference (file:), never inline."""
    p = base / f"url-{next(_seen)}"
    p.write_text(url)
    return f"file:{p}"
