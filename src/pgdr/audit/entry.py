"""One audit entry: an immutable object ``audit/<seq, 12 digits>-<digest, 64 hex>``.

The plaintext is canonical JSON (sorted keys, no spaces) with the entry's own ``seq``, the
keys of the entries it follows (``prev``), who/where/when and what. ``digest`` is the
repository's keyed BLAKE3 of that plaintext (the blob-id key; plain BLAKE3 when unencrypted),
so an entry's name commits to its content and each ``prev`` key commits to its predecessor's
content: that is the hash chain. The object is sealed like every other (envelope type AUDIT,
context = object key), so an entry cannot be edited or moved to another name without the
repository's keys.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pgdr.errors import IntegrityError
from pgdr.repo.format import AUDIT_PREFIX, ObjectType
from pgdr.repo.repository import Repository

ENTRY_VERSION = 1
_KEY = re.compile(rf"^{AUDIT_PREFIX}(\d{{12}})-([0-9a-f]{{64}})$")
ACTION = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class AuditEntry:
    key: str
    seq: int
    prev: tuple[str, ...]
    time: str  # ISO 8601, UTC
    action: str
    details: dict[str, Any] = field(default_factory=dict)
    user: str = ""
    uid: int = -1
    host: str = ""
    pid: int = 0
    version: str = ""

    def body(self) -> dict[str, Any]:
        return {
            "v": ENTRY_VERSION,
            "seq": self.seq,
            "prev": list(self.prev),
            "time": self.time,
            "action": self.action,
            "details": self.details,
            "user": self.user,
            "uid": self.uid,
            "host": self.host,
            "pid": self.pid,
            "pgdr": self.version,
        }


def entry_key(seq: int, digest: bytes) -> str:
    return f"{AUDIT_PREFIX}{seq:012d}-{digest.hex()}"


def parse_key(key: str) -> tuple[int, str] | None:
    """(seq, digest hex) of an audit object key, or None when it is not one."""
    m = _KEY.match(key)
    return (int(m.group(1)), m.group(2)) if m else None


def canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def seal_entry(repo: Repository, body: dict[str, Any]) -> tuple[str, bytes]:
    """The object key and sealed bytes of a new entry."""
    plain = canonical(body)
    key = entry_key(int(body["seq"]), repo.blob_id(plain))
    return key, repo.sealer.seal(ObjectType.AUDIT, plain, key.encode())


def open_entry(repo: Repository, key: str, data: bytes) -> AuditEntry:
    """Authenticate and parse one entry; IntegrityError names the entry and what is wrong."""
    parsed = parse_key(key)
    if parsed is None:
        raise IntegrityError(f"{key}: not an audit entry name")
    seq, digest = parsed
    try:
        plain = repo.sealer.open(data, key.encode(), key, ObjectType.AUDIT)
    except IntegrityError as e:
        raise IntegrityError(
            f"{key}: fails authentication (edited, or moved from another name): {e.message}"
        ) from None
    if repo.blob_id(plain).hex() != digest:
        raise IntegrityError(f"{key}: content does not match the digest in its name (edited)")
    try:
        doc = json.loads(plain)
        entry = AuditEntry(
            key=key,
            seq=int(doc["seq"]),
            prev=tuple(str(p) for p in doc["prev"]),
            time=str(doc["time"]),
            action=str(doc["action"]),
            details=dict(doc["details"]),
            user=str(doc["user"]),
            uid=int(doc["uid"]),
            host=str(doc["host"]),
            pid=int(doc["pid"]),
            version=str(doc.get("pgdr", "")),
        )
    except (ValueError, KeyError, TypeError):
        raise IntegrityError(f"{key}: damaged entry body") from None
    if entry.seq != seq:
        raise IntegrityError(f"{key}: body says seq {entry.seq}, name says {seq} (moved)")
    return entry
