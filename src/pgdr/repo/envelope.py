"""The object envelope: a 28-byte authenticated header, then the payload.

    offset size  field
    0      4     magic "PGDR"
    4      1     format version
    5      1     object type (format.ObjectType)
    6      1     flags: 0x01 AES-256-GCM encrypted, 0x02 zstd-compressed
    7      1     reserved, 0
    8      8     key id of the data key (zeros when unencrypted)
    16     12    nonce (zeros when unencrypted)
    28     n     payload, then a 16-byte tag

Encrypted: payload||tag = AES-256-GCM(key, nonce, plaintext, aad = header || context).
Unencrypted: tag = BLAKE3(header || context || payload)[:16], an integrity checksum only.
``context`` binds an object to where it belongs (its object key, or the blob id for blobs in
packs) so that a valid object cannot be swapped in for another.
"""

from __future__ import annotations

import os
import struct
import threading
from dataclasses import dataclass

import blake3
import zstandard
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pgdr.errors import IntegrityError, UnsupportedFormat
from pgdr.repo.format import (
    FLAG_ENCRYPTED,
    FLAG_ZSTD,
    FORMAT_VERSION,
    KEY_ID_LEN,
    MAGIC,
    NONCE_LEN,
    TAG_LEN,
    ObjectType,
)

HEADER = struct.Struct("<4sBBBB8s12s")
HEADER_LEN = HEADER.size  # 28
OVERHEAD = HEADER_LEN + TAG_LEN
NO_KEY_ID = bytes(KEY_ID_LEN)
NO_NONCE = bytes(NONCE_LEN)
# Largest plaintext we will decompress: guards against decompression bombs in damaged objects.
MAX_PLAIN = 1 << 31


@dataclass(frozen=True, slots=True)
class Header:
    version: int
    type: ObjectType
    flags: int
    key_id: bytes
    nonce: bytes


def parse_header(data: bytes | memoryview, what: str) -> Header:
    if len(data) < OVERHEAD:
        raise IntegrityError(f"{what}: truncated object ({len(data)} bytes)")
    magic, version, otype, flags, _res, key_id, nonce = HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise IntegrityError(f"{what}: not a pgdr object (bad magic)")
    if version > FORMAT_VERSION:
        raise UnsupportedFormat(
            f"{what}: written by a newer pgdr (format {version}, this pgdr reads up to "
            f"{FORMAT_VERSION}); upgrade pgdr"
        )
    try:
        kind = ObjectType(otype)
    except ValueError:
        raise IntegrityError(f"{what}: unknown object type {otype}") from None
    return Header(version, kind, flags, key_id, nonce)


class Sealer:
    """Seals and opens envelopes with the repository's current data key (or none)."""

    def __init__(
        self,
        data_keys: dict[bytes, bytes] | None,
        current_key_id: bytes | None,
        compression_level: int = 1,
    ) -> None:
        self.encrypted = data_keys is not None
        self._aeads = {kid: AESGCM(k) for kid, k in (data_keys or {}).items()}
        self._key_id = current_key_id if current_key_id is not None else NO_KEY_ID
        self._level = compression_level
        self._local = threading.local()  # zstd contexts are costly to create, not thread-safe

    def _compressor(self) -> zstandard.ZstdCompressor:
        c = getattr(self._local, "c", None)
        if c is None:
            c = self._local.c = zstandard.ZstdCompressor(level=self._level)
        return c

    def _decompressor(self) -> zstandard.ZstdDecompressor:
        d = getattr(self._local, "d", None)
        if d is None:
            d = self._local.d = zstandard.ZstdDecompressor()
        return d

    def seal(
        self,
        otype: ObjectType,
        plaintext: bytes | memoryview,
        context: bytes,
        compress: bool = True,
    ) -> bytes:
        flags = 0
        payload: bytes | memoryview = plaintext
        if compress and len(plaintext) > 0:
            packed = self._compressor().compress(plaintext)
            if len(packed) < len(plaintext):
                payload, flags = packed, FLAG_ZSTD
        if self.encrypted:
            flags |= FLAG_ENCRYPTED
            nonce = os.urandom(NONCE_LEN)
            header = HEADER.pack(MAGIC, FORMAT_VERSION, otype, flags, 0, self._key_id, nonce)
            return header + self._aeads[self._key_id].encrypt(nonce, payload, header + context)
        header = HEADER.pack(MAGIC, FORMAT_VERSION, otype, flags, 0, NO_KEY_ID, NO_NONCE)
        return b"".join((header, payload, _checksum(header, context, payload)))

    @property
    def current_key_id(self) -> bytes:
        return self._key_id

    def reseal(
        self, data: bytes | memoryview, context: bytes, what: str, expect: ObjectType | None = None
    ) -> bytes:
        """The same object sealed under the current data key: authenticated with whichever
        key sealed it, re-encrypted without decompressing (its flags are kept). Unencrypted
        objects are checked and returned as they are."""
        h = parse_header(data, what)
        if expect is not None and h.type != expect:
            raise IntegrityError(f"{what}: expected a {expect.name} object, found {h.type.name}")
        if not (h.flags & FLAG_ENCRYPTED) or not self.encrypted:
            self.open(data, context, what, expect)
            return bytes(data)
        aead = self._aeads.get(h.key_id)
        if aead is None:
            raise IntegrityError(f"{what}: sealed with unknown data key {h.key_id.hex()}")
        header = bytes(data[:HEADER_LEN])
        try:
            payload = aead.decrypt(h.nonce, bytes(data[HEADER_LEN:]), header + context)
        except InvalidTag:
            raise IntegrityError(f"{what}: authentication failed (damaged or forged)") from None
        nonce = os.urandom(NONCE_LEN)
        new = HEADER.pack(MAGIC, FORMAT_VERSION, h.type, h.flags, 0, self._key_id, nonce)
        return new + self._aeads[self._key_id].encrypt(nonce, payload, new + context)

    def open(
        self,
        data: bytes | memoryview,
        context: bytes,
        what: str,
        expect: ObjectType | None = None,
    ) -> bytes:
        """Authenticate and decode an envelope. Raises IntegrityError; never returns
        bytes that differ from what was sealed."""
        h = parse_header(data, what)
        if expect is not None and h.type != expect:
            raise IntegrityError(f"{what}: expected a {expect.name} object, found {h.type.name}")
        header = bytes(data[:HEADER_LEN])
        body = data[HEADER_LEN:]
        if h.flags & FLAG_ENCRYPTED:
            if not self.encrypted:
                raise IntegrityError(f"{what}: encrypted object in an unencrypted repository")
            aead = self._aeads.get(h.key_id)
            if aead is None:
                raise IntegrityError(f"{what}: sealed with unknown data key {h.key_id.hex()}")
            try:
                payload = aead.decrypt(h.nonce, bytes(body), header + context)
            except InvalidTag:
                raise IntegrityError(f"{what}: authentication failed (damaged or forged)") from None
        else:
            if self.encrypted:
                raise IntegrityError(f"{what}: unencrypted object in an encrypted repository")
            payload = bytes(body[:-TAG_LEN])
            if _checksum(header, context, payload) != bytes(body[-TAG_LEN:]):
                raise IntegrityError(f"{what}: checksum mismatch (damaged)")
        if h.flags & FLAG_ZSTD:
            try:
                return self._decompressor().decompress(payload, max_output_size=MAX_PLAIN)
            except zstandard.ZstdError as e:
                raise IntegrityError(f"{what}: cannot decompress: {e}") from None
        return payload


def key_id_of(data: bytes | memoryview, what: str) -> bytes:
    """The data key id in an envelope's header (zeros when unencrypted)."""
    return parse_header(data, what).key_id


def _checksum(header: bytes, context: bytes, payload: bytes | memoryview) -> bytes:
    h = blake3.blake3(header)
    h.update(context)
    h.update(payload)
    return h.digest(length=TAG_LEN)
