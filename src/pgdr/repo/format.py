"""Constants of repository format version 1. docs/design.md is the normative description;
tests/component/test_design_doc.py checks that the two agree."""

from __future__ import annotations

from enum import IntEnum

FORMAT_VERSION = 1
MAGIC = b"PGDR"
PACK_MAGIC = b"PGDP"


class ObjectType(IntEnum):
    CONFIG = 1
    KEY = 2
    KEYRING = 3
    PACK = 4
    BLOB = 5
    INDEX = 6
    MANIFEST = 7
    WAL = 8
    AUDIT = 9


# Envelope flags.
FLAG_ENCRYPTED = 0x01
FLAG_ZSTD = 0x02
#: config and key slots: a plaintext checksum in the header (pgdr.repo.public_sum)
FLAG_PUBLIC_SUM = 0x04

# Layout: object keys relative to the repository root.
CONFIG_KEY = "config"
KEYS_PREFIX = "keys/"
KEYRING_PREFIX = "keyring/"
DATA_PREFIX = "data/"
INDEX_PREFIX = "index/"
MANIFESTS_PREFIX = "manifests/"
LOCKS_PREFIX = "locks/"
WAL_PREFIX = "wal/"
PLANS_PREFIX = "plans/"  # garbage-collection deletion plans (docs/design.md §10)
AUDIT_PREFIX = "audit/"

ID_LEN = 32  # blob, pack and index ids: 32 bytes, 64 hex characters in object names
TAG_LEN = 16
NONCE_LEN = 12
KEY_ID_LEN = 8

DEFAULT_PACK_SIZE = 16 * 1024 * 1024
MAX_BLOB_SIZE = 64 * 1024 * 1024


def pack_key(pack_id: bytes) -> str:
    h = pack_id.hex()
    return f"{DATA_PREFIX}{h[:2]}/{h}"


def index_key(index_id: bytes) -> str:
    return f"{INDEX_PREFIX}{index_id.hex()}"


def manifest_key(kind: str, manifest_id: str) -> str:
    return f"{MANIFESTS_PREFIX}{kind}/{manifest_id}"
