"""`pgdr export expire`: delete what the 7-year rule (``pgdr.export.expiry``) says, with the
deletion protection backups have (docs/design.md §8j "Retention of exports").

Protection is read before anything is deleted: on S3 each object of a candidate export is
asked for its Object Lock retain-until date and legal hold (one HEAD per object, only for
candidates); an export with any protected object is kept whole. A delete S3 refuses anyway
(Object Lock, a policy) is reported and the rest of that export left alone; the next run
retries it.

Delete order makes a crash safe: ``_SUCCESS`` first (from then on the export is incomplete,
never listed as done, and the next run removes what is left), then ``_manifest.json``, then
the parts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pgdr.errors import ObjectLocked, StoragePermissionDenied
from pgdr.export.expiry import ExpiryVerdict, ExportAge, decide_expiry
from pgdr.export.manifest import MANIFEST_NAME, SUCCESS_NAME
from pgdr.export.settings import ExportSettings
from pgdr.export.target import ExportTarget
from pgdr.humanize import human

#: An export's relative object name -> why it must not be deleted (None: deletable).
Protection = Callable[[str, str], str | None]


def no_protection(_export_id: str, _name: str) -> str | None:
    return None


@dataclass
class ExportExpireResult:
    url: str
    dry_run: bool
    now: str
    keep_days: int | None
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    #: export id -> why a delete was refused part way (Object Lock, permission)
    refused: dict[str, str] = field(default_factory=dict)
    deleted_objects: int = 0
    deleted_bytes: int = 0
    seconds: float = 0.0
    action: str = "export-expire"

    def render_text(self, console: Console) -> None:
        if not self.verdicts:
            console.print(f"no exports at {escape(self.url)}")
            return
        t = Table("export", "verdict", "why", box=None)
        for v in self.verdicts:
            verdict = "[red]delete[/]" if v["delete"] else "keep"
            if v["export_id"] in self.refused:
                verdict = "[yellow]refused[/]"
            t.add_row(v["export_id"], verdict, escape(v["reason"]))
        console.print(t)
        what = "would delete" if self.dry_run else "deleted"
        n = len([v for v in self.verdicts if v["delete"]]) if self.dry_run else len(self.deleted)
        console.print(
            f"{what} {n} export(s)"
            + (
                ""
                if self.dry_run
                else f", {self.deleted_objects} object(s), {human(self.deleted_bytes)}"
            )
        )
        for eid, why in self.refused.items():
            console.print(f"[yellow]refused[/] {eid}: {escape(why)} (retried next run)")

    def audit_entry(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "dry_run": self.dry_run,
            "url": self.url,
            "keep_days": self.keep_days,
            "exports_deleted": self.deleted,
            "exports_refused": self.refused,
            "objects_deleted": self.deleted_objects,
            "bytes_deleted": self.deleted_bytes,
        }


def expire_exports(
    target: ExportTarget,
    keep_days: int | None,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    protection: Protection = no_protection,
) -> ExportExpireResult:
    t0 = time.monotonic()
    now = now or datetime.now(UTC)
    listed = target.exports()
    plain = decide_expiry(
        [ExportAge(e.export_id, e.complete, e.modified) for e in listed], now, keep_days
    )
    # deletion protection is asked only of the candidates, then the rule decides again
    guarded = {v.export_id: _protected(target, v.export_id, protection) for v in plain if v.delete}
    verdicts = decide_expiry(
        [ExportAge(e.export_id, e.complete, e.modified, guarded.get(e.export_id)) for e in listed],
        now,
        keep_days,
    )
    res = ExportExpireResult(
        target.url,
        dry_run,
        now.isoformat(),
        keep_days,
        [{"export_id": v.export_id, "delete": v.delete, "reason": v.reason} for v in verdicts],
    )
    if not dry_run:
        for v in verdicts:
            if v.delete:
                _delete_export(target, v, res)
    res.seconds = time.monotonic() - t0
    return res


def _protected(target: ExportTarget, export_id: str, protection: Protection) -> str | None:
    for info in target.objects(export_id):
        why = protection(export_id, info.key)
        if why:
            return f"{info.key}: {why}"
    return None


def _delete_export(target: ExportTarget, v: ExpiryVerdict, res: ExportExpireResult) -> None:
    objects = {o.key: o.size for o in target.objects(v.export_id)}
    first = [n for n in (SUCCESS_NAME, MANIFEST_NAME) if n in objects]
    order = first + sorted(k for k in objects if k not in first)
    for name in order:
        try:
            target.delete(v.export_id, name)
        except (ObjectLocked, StoragePermissionDenied) as e:
            res.refused[v.export_id] = e.message
            return
        res.deleted_objects += 1
        res.deleted_bytes += objects[name]
    res.deleted.append(v.export_id)


def bucket_protection(
    settings: ExportSettings, now: datetime
) -> tuple[Protection, Callable[[], None]]:
    """Deletion protection of the ``[exports]`` target, and how to close what it opened:
    S3 Object Lock retention and legal holds on ``s3://``; nothing protects ``file://``."""
    from pgdr.export.bucket import ExportBucket, s3_location

    loc = s3_location(settings)
    if loc is None:
        return no_protection, lambda: None
    bucket = ExportBucket(loc)
    return (lambda export_id, name: bucket.protection(f"{export_id}/{name}", now)), bucket.close
