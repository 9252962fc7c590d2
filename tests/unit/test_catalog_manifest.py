"""Parsing a backup manifest document once (pgdr.catalog.manifest): table tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pgdr.catalog.manifest import BackupManifest, BackupStats, ManifestError, PageErrors
from tests.fixtures.manifests import manifest_doc

pytestmark = pytest.mark.unit


def test_a_full_document_is_typed() -> None:
    doc = manifest_doc(
        id="20261124T030000ZF-abcdef",
        start_time="2026-11-24T03:00:00+00:00",
        stop_time="2026-11-24T03:00:07.5+00:00",
        start_lsn="0/2000028",
        stop_lsn="0/3000100",
        annotations={"pgdr.job": "backup_full"},
        page_checksum_errors=[{"file": "base/1/2", "blocks": [3, 4]}],
        stats={"bytes": 10, "new_bytes": 5, "stored_bytes": 3, "files": 2},
        databases=["postgres"],
        data_checksums=True,
    )
    m = BackupManifest.from_doc(doc, "20261124T030000ZF-abcdef")
    assert m.stop_time == datetime(2026, 11, 24, 3, 0, 7, 500000, tzinfo=UTC)
    assert (m.start_lsn, m.stop_lsn_text, m.seconds) == (0x2000028, "0/3000100", 7.5)
    assert m.page_checksum_errors == (PageErrors("base/1/2", (3, 4)),)
    assert m.stats == BackupStats(10, 5, 3, 2) and m.databases == ("postgres",)
    assert m.annotations == {"pgdr.job": "backup_full"} and m.data_checksums is True
    assert m.without_contents().files == ()


def test_a_time_without_zone_is_utc() -> None:
    m = BackupManifest.from_doc(manifest_doc(stop_time="2026-11-24T03:00:00"))
    assert m.stop_time.tzinfo is UTC


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"id": None}, "not text"),
        ({"stop_time": "yesterday"}, "Invalid isoformat"),
        ({"start_lsn": "nowhere"}, "LSN"),
        ({"timeline": "1"}, "not a count"),
        ({"timeline": -1}, "not a count"),
        ({"wal": [1]}, "not text"),
    ],
)
def test_unusable_documents_are_refused(change: dict[str, object], why: str) -> None:
    with pytest.raises(ManifestError, match=why):
        BackupManifest.from_doc(manifest_doc(**change))


@pytest.mark.parametrize("key", ["id", "type", "start_time", "stop_time", "start_lsn", "timeline"])
def test_required_fields(key: str) -> None:
    doc = manifest_doc()
    del doc[key]
    with pytest.raises(ManifestError, match=f"no '{key}'"):
        BackupManifest.from_doc(doc)


def test_a_document_stored_under_another_name_is_not_that_backup() -> None:
    for doc in (manifest_doc(id="A"), ["not", "a", "dict"]):
        with pytest.raises(ManifestError, match="not a backup manifest"):
            BackupManifest.from_doc(doc, "B")
