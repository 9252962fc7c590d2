"""`pgdr report cost`, `pgdr gameday` and `pgdr report compliance` as an operator runs them,
without PostgreSQL: the cost report's bytes equal the bucket's own listing by storage class
(moto, mixed classes), and each game day fails naming its broken precondition with its own
exit code (the healthy game days that restore are in tests/pg/test_evidence_walk.py)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pgdr.cli.repo_target import open_repository, target_from_settings
from pgdr.config import load_config, resolve_repository
from pgdr.repo.keys import generate_key_file
from pgdr.repo.repository import Repository
from tests.e2e.cli import one_line_error, pgdr
from tests.fixtures.moto_server import bucket_url, make_bucket, s3_client

pytestmark = pytest.mark.e2e
GB = 1024**3


def write_cfg(tmp: Path, main: str, *, replica: str | None = None, extra: str = "") -> Path:
    key = tmp / "repo.key"
    if not key.exists():
        generate_key_file(key)
    text = f'[repositories.main]\nurl = "{main}"\nkey_file = "{key}"\n'
    if replica:
        text += 'replicate_to = ["dr"]\n'
    text += extra
    if replica:
        text += f'[repositories.dr]\nurl = "{replica}"\nkey_file = "{key}"\n'
    cfg = tmp / "pgdr.toml"
    cfg.write_text(text)
    return cfg


def ok(*args: str | Path) -> str:
    r = pgdr(*args)
    assert r.returncode == 0, r.stderr
    return r.stdout


def init(cfg: Path) -> None:
    """`pgdr repo init`, in-process (setup, not what these tests are about: each CLI run
    costs seconds on a loaded machine)."""
    from pgdr.cli.repo_target import backend, key_source

    target = target_from_settings(resolve_repository(load_config(cfg), "main")[1])
    Repository.init(backend(target), key_source(target))


def open_main(cfg: Path) -> Repository:
    return open_repository(target_from_settings(resolve_repository(load_config(cfg), "main")[1]))


def fake_backup(repo: Repository, bid: str) -> None:
    """A backup manifest as the catalog lists it: the game days that need no restore only
    list, stat and try to delete it."""
    repo.put_manifest("backup", bid, {"id": bid, "note": "written by the test"})


def listing_by_class(moto: str, url: str) -> dict[str, int]:
    parts = urlsplit(url)
    out: dict[str, int] = defaultdict(int)
    pages = s3_client(moto).get_paginator("list_objects_v2")
    for page in pages.paginate(Bucket=parts.netloc, Prefix=parts.path.lstrip("/") + "/"):
        for o in page.get("Contents", []):
            out[o.get("StorageClass", "STANDARD")] += int(o["Size"])
    return dict(out)


def test_cost_bytes_by_class_equal_the_buckets_own_listing(
    moto_endpoint: str, tmp_path: Path
) -> None:
    main = bucket_url(moto_endpoint, make_bucket(moto_endpoint), "prod")
    dr = bucket_url(moto_endpoint, make_bucket(moto_endpoint), "dr")
    prices = (
        '[costs]\nprices_as_of = "2026-11-01"\n'
        "per_gb_month = { STANDARD = 0.023, STANDARD_IA = 0.0125, GLACIER = 0.0036 }\n"
        '[repositories.dr.s3]\nstorage_class = "STANDARD_IA"\n'
    )
    exports = bucket_url(moto_endpoint, make_bucket(moto_endpoint), "exports")
    cfg = write_cfg(tmp_path, main, replica=dr)
    cfg.write_text(cfg.read_text() + prices + f'[exports]\nurl = "{exports}"\n')
    # two export files, one already moved to Glacier by the exports' lifecycle rule
    ex = urlsplit(exports)
    for name, size, cls in (("a.parquet", 5000, "STANDARD"), ("b.parquet", 7000, "GLACIER")):
        s3_client(moto_endpoint).put_object(
            Bucket=ex.netloc,
            Key=f"exports/20261101T040000Z-abcdef/{name}",
            Body=b"x" * size,
            StorageClass=cls,
        )
    init(cfg)
    repo = open_main(cfg)
    for i in range(3):
        fake_backup(repo, f"2026120{i}T030000ZF-0000{i}")
    ok("--config", cfg, "repo", "replicate")
    # a lifecycle rule moved two objects of the primary to colder classes
    parts = urlsplit(main)
    s3 = s3_client(moto_endpoint)
    for bid, cls in (
        ("20261200T030000ZF-00000", "GLACIER"),
        ("20261201T030000ZF-00001", "DEEP_ARCHIVE"),
    ):
        key = f"prod/manifests/backup/{bid}"
        s3.copy_object(
            Bucket=parts.netloc,
            Key=key,
            CopySource={"Bucket": parts.netloc, "Key": key},
            StorageClass=cls,
        )
    truth = {
        "main": listing_by_class(moto_endpoint, main),
        "dr": listing_by_class(moto_endpoint, dr),
        "exports": listing_by_class(moto_endpoint, exports),
    }
    assert truth["exports"] == {"STANDARD": 5000, "GLACIER": 7000}
    assert set(truth["main"]) == {"STANDARD", "GLACIER", "DEEP_ARCHIVE"} and set(truth["dr"]) == {
        "STANDARD_IA"
    }

    doc = json.loads(ok("--config", cfg, "report", "cost", "--json"))
    got: dict[str, dict[str, int]] = defaultdict(dict)
    for ln in doc["lines"]:
        got[ln["location"]][ln["storage_class"]] = ln["bytes"]
        price = {"STANDARD": 0.023, "STANDARD_IA": 0.0125, "GLACIER": 0.0036}.get(
            ln["storage_class"]
        )
        assert ln["price_per_gb_month"] == price
        assert ln["monthly_cost"] == (
            None if price is None else pytest.approx(ln["bytes"] / GB * price)
        )
    assert dict(got) == truth
    assert doc["unpriced"] == ["DEEP_ARCHIVE"] and doc["complete"] is False
    assert doc["total_bytes"] == sum(sum(v.values()) for v in truth.values())
    assert doc["prices_as_of"] == "2026-11-01"
    assert not any("exports" in n for n in doc["not_covered"])


def test_region_failure_fails_on_an_empty_then_a_stale_replica(
    moto_endpoint: str, tmp_path: Path
) -> None:
    main = bucket_url(moto_endpoint, make_bucket(moto_endpoint), "prod")
    dr = bucket_url(moto_endpoint, make_bucket(moto_endpoint), "dr")
    cfg = write_cfg(tmp_path, main, replica=dr)
    init(cfg)
    fake_backup(open_main(cfg), "20261206T030000ZF-aaaa")
    r = pgdr("--config", cfg, "gameday", "region-failure")
    one_line_error(r, 121, "replica dr is empty")
    assert "FAIL replica present and fresh" in r.stdout
    ok("--config", cfg, "repo", "replicate")
    fake_backup(open_main(cfg), "20261207T030000ZF-bbbb")  # newer than the replica's copy
    r = pgdr("--config", cfg, "gameday", "region-failure", "--json")
    one_line_error(r, 121, "replica dr is stale", "lacks backup 20261207T030000ZF-bbbb")
    rec = json.loads(r.stdout)
    assert rec["result"] == "failed" and rec["exit_code"] == 121
    # the failed game day is evidence too: recorded and audited
    assert rec["id"] in open_main(cfg).list_manifests("gameday")
    from pgdr.audit.verify import read_log

    entries = read_log(open_main(cfg), use_checkpoint=False).entries
    assert any(e.action == "gameday" and e.details["outcome"] == "failed" for e in entries)


def test_malicious_deletion_needs_object_lock_covering_the_window(
    moto_endpoint: str, tmp_path: Path
) -> None:
    plain = bucket_url(moto_endpoint, make_bucket(moto_endpoint), "prod")
    cfg = write_cfg(tmp_path, plain)
    init(cfg)
    one_line_error(
        pgdr("--config", cfg, "gameday", "malicious-deletion"),
        122,
        "Object Lock is off",
        "no s3.object_lock_mode",
    )

    locked = bucket_url(moto_endpoint, make_bucket(moto_endpoint, locked=True), "prod")
    short = tmp_path / "short"
    short.mkdir()
    cfg = write_cfg(
        short,
        locked,
        extra='[repositories.main.s3]\nobject_lock_mode = "GOVERNANCE"\nobject_lock_days = 7\n',
    )
    init(cfg)
    one_line_error(
        pgdr("--config", cfg, "gameday", "malicious-deletion"),
        122,
        "covers 7 days, less than the 35-day window",
    )

    healthy = tmp_path / "healthy"
    healthy.mkdir()
    locked = bucket_url(moto_endpoint, make_bucket(moto_endpoint, locked=True), "prod")
    cfg = write_cfg(
        healthy,
        locked,
        extra='[repositories.main.s3]\nobject_lock_mode = "GOVERNANCE"\nobject_lock_days = 40\n',
    )
    init(cfg)
    fake_backup(open_main(cfg), "20261207T030000ZF-cccc")
    out = ok("--config", cfg, "gameday", "malicious-deletion")
    assert (
        "PASSED" in out
        and "delete of manifests/backup/20261207T030000ZF-cccc refused by Object Lock" in out
    )
    assert "20261207T030000ZF-cccc" in open_main(cfg).list_manifests("backup")  # still there


def test_complete_loss_fails_naming_the_missing_key(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, f"file://{tmp_path}/repo")
    init(cfg)
    (tmp_path / "repo.key").rename(tmp_path / "elsewhere.key")
    r = pgdr("--config", cfg, "gameday", "complete-loss")
    one_line_error(r, 123, f"key file {tmp_path}/repo.key of repository main is missing")
    one_line_error(pgdr("--config", cfg, "gameday", "flood"), 2, "unknown game day 'flood'")
    (tmp_path / "elsewhere.key").rename(tmp_path / "repo.key")
    # the point-in-time game days need a backup in the window: none yet
    one_line_error(
        pgdr("--config", cfg, "gameday", "corruption"), 120, "no backup in repository main"
    )


def test_compliance_not_met_when_the_audit_log_is_tampered(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path, f"file://{tmp_path}/repo")
    init(cfg)
    from pgdr import audit

    audit.record(open_main(cfg), "init", {"by": "the test"}, strict=True)
    doc = json.loads(ok("--config", cfg, "report", "compliance", "--json"))
    state = {c["id"]: c for c in doc["report"]["controls"]}
    assert state["audit-log-intact"]["state"] == "met"
    assert state["restore-drill-passed"]["state"] == "not met"
    assert "no drill recorded in the last 8 days" in state["restore-drill-passed"]["why"]
    entries = sorted((tmp_path / "repo" / "audit").rglob("*"))
    first = next(p for p in entries if p.is_file())
    first.chmod(0o600)
    first.write_bytes(first.read_bytes()[:-1] + bytes([first.read_bytes()[-1] ^ 1]))  # one bit
    html = tmp_path / "compliance.html"
    doc = json.loads(ok("--config", cfg, "report", "compliance", "--json", "--html", html))
    audit = next(c for c in doc["report"]["controls"] if c["id"] == "audit-log-intact")
    assert audit["state"] == "not met" and first.name in audit["why"], audit
    assert html.stat().st_mode & 0o077 == 0 and "not met" in html.read_text()
