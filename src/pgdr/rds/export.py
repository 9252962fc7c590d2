"""``pgdr rds export``: StartExportTask of the chosen tables of a snapshot into a staging
prefix of the exports bucket, waited for; then normalised into pgdr's export format so
``pgdr export list/verify/ddl`` read it like their own (docs/design.md §8l).

Normalising, in the export format's write order: each data file is copied (server-side)
to ``<prefix>/<export_id>/<database>/<schema>.<table>/…`` and read once there (SHA-256, size,
and row count and Arrow schema from its Parquet footer); then ``_manifest.json``; then
``_SUCCESS`` (the manifest's SHA-256), last; then the staged originals are deleted. A crash
before ``_SUCCESS`` leaves an incomplete export no reader lists as done.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pgdr.config_rds import RdsSettings
from pgdr.errors import AwsNotFound, ConfigError, UnsafeManifest
from pgdr.rds.client import Aws
from pgdr.rds.export_manifest import (
    ArrowField,
    DataFile,
    manifest,
    pg_version_num,
    safe_relative,
    tables_from_info,
)
from pgdr.rds.snapshot import pgdr_snapshots
from pgdr.rds.wait import Waiting, wait_for

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ExportResult:
    export_id: str
    task: str
    snapshot: str
    location: str
    tables: list[str]
    rows: int
    bytes: int

    def render_text(self, console: Any) -> None:
        console.print(
            f"export {self.export_id} (RDS task {self.task}) of {self.snapshot}: "
            f"{len(self.tables)} table(s), {self.rows} rows, {self.bytes} bytes -> {self.location}"
        )


def new_export_id(now: datetime) -> str:
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def task_id(export_id: str) -> str:
    """RDS wants a letter first: ``pgdr-20261207t130000z-a1b2c3``."""
    return f"pgdr-{export_id.lower()}"


def run_export(
    aws: Aws,
    s: RdsSettings,
    *,
    now: datetime,
    waiting: Waiting,
    snapshot: str | None = None,
    tables: list[str] | None = None,
    export_id: str | None = None,
) -> ExportResult:
    ex = s.exports
    if not ex.bucket or not ex.iam_role_arn or not ex.kms_key_id:
        raise ConfigError("[rds.exports] needs bucket, iam_role_arn and kms_key_id for an export")
    snap = _source_snapshot(aws, s, snapshot)
    export_id = export_id or new_export_id(now)
    task = task_id(export_id)
    only = tables if tables is not None else ex.tables
    params: dict[str, Any] = {
        "ExportTaskIdentifier": task,
        "SourceArn": snap["DBSnapshotArn"],
        "S3BucketName": ex.bucket,
        "S3Prefix": ex.staging_prefix,
        "IamRoleArn": ex.iam_role_arn,
        "KmsKeyId": ex.kms_key_id,
    }
    if only:
        params["ExportOnly"] = only
    aws.rds(s.region, "StartExportTask", **params)
    wait_for(
        f"export task {task}",
        lambda: _task(aws, s, task).get("Status", "").upper(),
        {"COMPLETE"},
        {"FAILED", "CANCELED", "CANCELING"},
        waiting,
    )
    info = _task(aws, s, task)
    finished = datetime.now(UTC)
    return normalise(
        aws,
        s,
        export_id=export_id,
        task=task,
        snapshot=snap,
        created=now,
        finished=finished,
        snapshot_time=info.get("SnapshotTime") or snap.get("SnapshotCreateTime") or now,
    )


def _source_snapshot(aws: Aws, s: RdsSettings, name: str | None) -> dict[str, Any]:
    """The named snapshot, else the newest available one pgdr took."""
    if name is None:
        ready = [
            x for x in pgdr_snapshots(aws, s) if x.region == s.region and x.status == "available"
        ]
        if not ready:
            raise AwsNotFound(
                f"no available pgdr snapshot of {s.instance} in {s.region}: "
                "run `pgdr rds snapshot` or pass --snapshot"
            )
        name = max(ready, key=lambda x: (x.created, x.identifier)).identifier
    out = aws.rds(s.region, "DescribeDBSnapshots", DBSnapshotIdentifier=name)
    snap: dict[str, Any] = out["DBSnapshots"][0]
    return snap


def _task(aws: Aws, s: RdsSettings, task: str) -> dict[str, Any]:
    out = aws.rds(s.region, "DescribeExportTasks", ExportTaskIdentifier=task)
    tasks = out.get("ExportTasks", [])
    if not tasks:
        raise AwsNotFound(f"export task {task} not found in {s.region}")
    found: dict[str, Any] = tasks[0]
    return found


def normalise(
    aws: Aws,
    s: RdsSettings,
    *,
    export_id: str,
    task: str,
    snapshot: dict[str, Any],
    created: datetime,
    finished: datetime,
    snapshot_time: datetime,
) -> ExportResult:
    ex = s.exports
    bucket = ex.bucket or ""
    staged = f"{ex.staging_prefix.strip('/')}/{task}/"
    target = f"{ex.prefix.strip('/')}/{export_id}/"
    keys = _list(aws, s.region, bucket, staged)
    info_docs = [
        _json(k, _get(aws, s.region, bucket, k))
        for k in keys
        if k[len(staged) :].startswith("export_tables_info_") and k.endswith(".json")
    ]
    if not info_docs:
        raise AwsNotFound(
            f"export task {task}: no export_tables_info file under s3://{bucket}/{staged}"
        )
    tables = tables_from_info(info_docs)
    files: list[DataFile] = []
    for key in keys:
        rel = key[len(staged) :]
        if "/" not in rel:  # export_info_*.json, export_tables_info_*.json
            continue
        safe_relative(rel)
        aws.call(
            "s3",
            s.region,
            "CopyObject",
            Bucket=bucket,
            Key=target + rel,
            CopySource={"Bucket": bucket, "Key": key},
        )
        files.append(_read_file(aws, s.region, bucket, target + rel, rel))
    doc = manifest(
        export_id=export_id,
        snapshot_arn=str(snapshot["DBSnapshotArn"]),
        snapshot_time=snapshot_time,
        created=created,
        finished=finished,
        pg_version=pg_version_num(snapshot.get("EngineVersion")),
        tables=tables,
        files=files,
    )
    raw = (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode()
    _put(aws, s.region, bucket, target + "_manifest.json", raw)
    _put(aws, s.region, bucket, target + "_SUCCESS", hashlib.sha256(raw).hexdigest().encode())
    for key in keys:
        aws.call("s3", s.region, "DeleteObject", Bucket=bucket, Key=key)
    return ExportResult(
        export_id,
        task,
        str(snapshot["DBSnapshotIdentifier"]),
        f"s3://{bucket}/{target}",
        [f"{t['database']}.{t['schema']}.{t['table']}" for t in doc["tables"]],
        sum(int(t["rows"]) for t in doc["tables"]),
        sum(int(t["bytes"]) for t in doc["tables"]),
    )


def _json(key: str, raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise UnsafeManifest(f"RDS export: {key} is not JSON") from None


def _list(aws: Aws, region: str, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    token: str | None = None
    while True:
        extra = {"ContinuationToken": token} if token else {}
        out = aws.call("s3", region, "ListObjectsV2", Bucket=bucket, Prefix=prefix, **extra)
        keys += [str(o["Key"]) for o in out.get("Contents", [])]
        if not out.get("IsTruncated"):
            return sorted(keys)
        token = out.get("NextContinuationToken")


def _get(aws: Aws, region: str, bucket: str, key: str) -> bytes:
    body = aws.call("s3", region, "GetObject", Bucket=bucket, Key=key)["Body"]
    data: bytes = body.read()
    return data


def _put(aws: Aws, region: str, bucket: str, key: str, data: bytes) -> None:
    aws.call("s3", region, "PutObject", Bucket=bucket, Key=key, Body=data)


def _read_file(aws: Aws, region: str, bucket: str, key: str, rel: str) -> DataFile:
    """Hash the copied file while spooling it to a private temporary file, then read its
    Parquet footer (rows, Arrow schema) from there: memory stays bounded by the chunk."""
    import pyarrow.parquet as pq

    body = aws.call("s3", region, "GetObject", Bucket=bucket, Key=key)["Body"]
    digest, size = hashlib.sha256(), 0
    with tempfile.TemporaryFile() as tmp:
        while chunk := body.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            tmp.write(chunk)
        tmp.seek(0)
        try:
            meta = pq.read_metadata(tmp)
            schema = meta.schema.to_arrow_schema()
        except Exception as e:  # pyarrow raises several kinds for a file that is not Parquet
            raise UnsafeManifest(
                f"RDS export: {rel} is not a readable Parquet file ({type(e).__name__}); "
                "no manifest written"
            ) from None
    fields = tuple(ArrowField(f.name, str(f.type), bool(f.nullable)) for f in schema)
    return DataFile(rel, size, digest.hexdigest(), int(meta.num_rows), fields)
