"""`pgdr export expire` against moto's S3 over real HTTP, in a bucket with Object Lock: an
export under a legal hold or an unexpired retention is kept whole (asked before anything is
deleted), the others past seven years go, the newest complete export stays; and a delete S3
refuses anyway is reported as refused, never counted as deleted."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from pgdr.export.expire import bucket_protection, expire_exports, no_protection
from pgdr.export.settings import ExportSettings
from pgdr.export.target import ExportTarget, open_target
from tests.fixtures.moto_server import bucket_url, make_bucket, s3_client

pytestmark = pytest.mark.component

NOW = datetime.now(UTC)
SEVEN_YEARS = 2557
OLD = {
    "held": "20150105T040000Z-aaaaaa",  # a legal hold on one part
    "retained": "20150205T040000Z-bbbbbb",  # Object Lock retention until next year
    "plain": "20150305T040000Z-cccccc",  # nothing protects it
}
NEWEST = f"{NOW - timedelta(days=3):%Y%m%dT%H%M%SZ}-dddddd"


def write_export(target: ExportTarget, export_id: str) -> None:
    """A complete export as `export list` sees one: parts, manifest, _SUCCESS = its SHA-256."""
    raw = b'{"format": "pgdr-export/1"}\n'
    target.put(export_id, "app/public.users/part-00000.parquet", b"PAR1" + export_id.encode())
    target.put(export_id, "app/public.users/part-00001.parquet", b"PAR1 second")
    target.put(export_id, "_manifest.json", raw)
    target.put(export_id, "_SUCCESS", (hashlib.sha256(raw).hexdigest() + "\n").encode())


@pytest.fixture
def exports(moto_endpoint: str) -> tuple[ExportSettings, ExportTarget, str]:
    bucket = make_bucket(moto_endpoint, locked=True)
    settings = ExportSettings(url=bucket_url(moto_endpoint, bucket, "exports"))
    target = open_target(settings)
    for export_id in (*OLD.values(), NEWEST):
        write_export(target, export_id)
    s3 = s3_client(moto_endpoint)
    s3.put_object_legal_hold(
        Bucket=bucket,
        Key=f"exports/{OLD['held']}/app/public.users/part-00001.parquet",
        LegalHold={"Status": "ON"},
    )
    s3.put_object_retention(
        Bucket=bucket,
        Key=f"exports/{OLD['retained']}/_SUCCESS",
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": NOW + timedelta(days=365)},
    )
    return settings, target, bucket


def test_protected_exports_are_kept_whole(
    exports: tuple[ExportSettings, ExportTarget, str],
) -> None:
    settings, target, _bucket = exports
    protection, close = bucket_protection(settings, NOW)
    try:
        dry = expire_exports(target, SEVEN_YEARS, now=NOW, dry_run=True, protection=protection)
        res = expire_exports(target, SEVEN_YEARS, now=NOW, protection=protection)
    finally:
        close()
    why = {v["export_id"]: v["reason"] for v in res.verdicts}
    assert [v["export_id"] for v in dry.verdicts if v["delete"]] == [OLD["plain"]]
    assert res.deleted == [OLD["plain"]] and res.refused == {}
    assert res.deleted_objects == 4
    assert "legal hold" in why[OLD["held"]] and "part-00001" in why[OLD["held"]]
    assert "Object Lock retention until" in why[OLD["retained"]]
    assert "newest complete export" in why[NEWEST]
    left = {e.export_id: (e.complete, e.objects) for e in target.exports()}
    assert left == {OLD["held"]: (True, 4), OLD["retained"]: (True, 4), NEWEST: (True, 4)}


def test_a_refused_delete_is_reported_not_counted(
    exports: tuple[ExportSettings, ExportTarget, str],
) -> None:
    """Without the protection check (a hold set between check and delete), S3 refuses the
    delete of the held part: the export is reported as refused and retried next run."""
    _settings, target, _bucket = exports
    res = expire_exports(target, SEVEN_YEARS, now=NOW, protection=no_protection)
    assert set(res.refused) == {OLD["held"], OLD["retained"]}, res.refused
    assert res.deleted == [OLD["plain"]]
    left = {e.export_id: e for e in target.exports()}
    assert not left[OLD["held"]].complete  # _SUCCESS went first: never listed as done
    assert any(o.key.endswith("part-00001.parquet") for o in target.objects(OLD["held"]))
    assert left[NEWEST].complete
