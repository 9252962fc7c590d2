"""Packs: many sealed blobs in one immutable object, named by the BLAKE3 hash of its bytes.

    pack   = "PGDP" version u8, 3 reserved bytes, record*
    record = envelope length u32le || blob id (32) || envelope (type BLOB, context = blob id)

Every record is self-delimiting, so the index can be rebuilt by scanning packs alone.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

import blake3

from pgdr.errors import IntegrityError
from pgdr.repo.format import FORMAT_VERSION, ID_LEN, PACK_MAGIC

PACK_HEADER = PACK_MAGIC + bytes([FORMAT_VERSION, 0, 0, 0])
RECORD_HEAD = struct.Struct("<I32s")


@dataclass(frozen=True, slots=True)
class PackedBlob:
    blob_id: bytes
    offset: int  # of the envelope within the pack
    length: int  # of the envelope


class PackBuilder:
    """Accumulates records in memory; ``finish`` returns (pack id, bytes, entries)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = [PACK_HEADER]
        self._size = len(PACK_HEADER)
        self.entries: list[tuple[bytes, int, int, int]] = []  # id, offset, length, raw length
        self._ids: set[bytes] = set()

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def size(self) -> int:
        return self._size

    def __contains__(self, blob_id: bytes) -> bool:
        return blob_id in self._ids

    def add(self, blob_id: bytes, envelope: bytes, raw_length: int) -> None:
        self._parts.append(RECORD_HEAD.pack(len(envelope), blob_id))
        self._parts.append(envelope)
        offset = self._size + RECORD_HEAD.size
        self.entries.append((blob_id, offset, len(envelope), raw_length))
        self._ids.add(blob_id)
        self._size = offset + len(envelope)

    def finish(self) -> tuple[bytes, bytes]:
        data = b"".join(self._parts)
        return pack_id_of(data), data


def pack_id_of(data: bytes | memoryview) -> bytes:
    return blake3.blake3(data).digest()


def scan_pack(data: bytes | memoryview, what: str) -> Iterator[PackedBlob]:
    """Walk a pack's records without decrypting them. Raises IntegrityError on a
    malformed pack (a damaged length field or truncated record)."""
    if bytes(data[:4]) != PACK_MAGIC:
        raise IntegrityError(f"{what}: not a pgdr pack (bad magic)")
    pos = len(PACK_HEADER)
    end = len(data)
    while pos < end:
        if pos + RECORD_HEAD.size > end:
            raise IntegrityError(f"{what}: truncated record header at offset {pos}")
        length, blob_id = RECORD_HEAD.unpack_from(data, pos)
        start = pos + RECORD_HEAD.size
        if length < 44 or start + length > end:
            raise IntegrityError(f"{what}: bad record length {length} at offset {pos}")
        yield PackedBlob(bytes(blob_id), start, length)
        pos = start + length
    assert len(blob_id) == ID_LEN
