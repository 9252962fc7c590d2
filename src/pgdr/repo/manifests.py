"""Manifests (``manifests/<kind>/<id>``): a JSON document and the blob ids it references,
sealed with the current data key under the object's own name (docs/design.md §8)."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

from pgdr.errors import IntegrityError
from pgdr.repo import format as fmt
from pgdr.repo.envelope import Sealer
from pgdr.repo.format import ObjectType
from pgdr.storage.base import Backend


@dataclass(frozen=True)
class Manifest:
    kind: str
    manifest_id: str
    doc: dict[str, Any]
    refs: bytes  # concatenated 32-byte blob ids

    def ref(self, i: int) -> bytes:
        return self.refs[i * fmt.ID_LEN : (i + 1) * fmt.ID_LEN]

    def ref_count(self) -> int:
        return len(self.refs) // fmt.ID_LEN


class Manifests:
    """Manifest storage; mixed into Repository (which provides ``backend`` and ``sealer``)."""

    backend: Backend
    sealer: Sealer

    def put_manifest(
        self, kind: str, manifest_id: str, doc: dict[str, Any], refs: bytes = b""
    ) -> str:
        """Store a manifest under a new name: raises ObjectExists, replacing nothing, when
        ``manifests/<kind>/<manifest_id>`` is taken (§9: objects are never overwritten).
        Callers MUST have made every referenced blob durable and indexed first
        (BlobWriter.flush)."""
        if len(refs) % fmt.ID_LEN:
            raise ValueError("refs must be a concatenation of 32-byte ids")
        key = fmt.manifest_key(kind, manifest_id)
        body = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        plain = struct.pack("<I", len(body)) + body + refs
        self.backend.put_new(key, self.sealer.seal(ObjectType.MANIFEST, plain, key.encode()))
        return key

    def get_manifest(self, kind: str, manifest_id: str) -> Manifest:
        key = fmt.manifest_key(kind, manifest_id)
        plain = self.sealer.open(self.backend.get(key), key.encode(), key, ObjectType.MANIFEST)
        try:
            (n,) = struct.unpack_from("<I", plain, 0)
            doc = json.loads(plain[4 : 4 + n])
        except (ValueError, struct.error):
            raise IntegrityError(f"{key}: damaged manifest body") from None
        refs = plain[4 + n :]
        if len(refs) % fmt.ID_LEN:
            raise IntegrityError(f"{key}: damaged manifest reference table")
        return Manifest(kind, manifest_id, doc, refs)

    def list_manifests(self, kind: str) -> list[str]:
        prefix = fmt.manifest_key(kind, "")
        return [info.key[len(prefix) :] for info in self.backend.list(prefix)]

    def manifest_kinds(self) -> list[str]:
        kinds = {i.key.split("/")[1] for i in self.backend.list(fmt.MANIFESTS_PREFIX)}
        return sorted(kinds)

    def delete_manifest(self, kind: str, manifest_id: str) -> None:
        self.backend.delete(fmt.manifest_key(kind, manifest_id))
