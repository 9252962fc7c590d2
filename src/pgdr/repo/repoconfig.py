"""The ``config`` object: what a reader must know before anything else.

    header (28 bytes, type CONFIG, flags 0) || body length u32le || JSON body || tag (32 bytes)

The body is plaintext so the format version and encryption mode can be read before a key is
offered. The tag is keyed BLAKE3 under the master key's MAC key for encrypted repositories
(checked right after unlocking) and plain BLAKE3 for unencrypted ones.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import asdict, dataclass
from typing import Any

import blake3

from pgdr.errors import IntegrityError, UnsupportedFormat
from pgdr.repo import public_sum
from pgdr.repo.envelope import HEADER, HEADER_LEN, NO_KEY_ID, NO_NONCE, parse_header
from pgdr.repo.format import FORMAT_VERSION, MAGIC, ObjectType
from pgdr.repo.keys import MAC_LEN, MasterKey

#: What Repository.init generates (16 random bytes, hex). The id names local state files
#: (audit checkpoints, WAL-ingest notes), so anything else read from storage is refused.
REPO_ID = re.compile(r"[0-9a-f]{32}")


def check_repo_id(repo_id: object) -> str:
    if not isinstance(repo_id, str) or not REPO_ID.fullmatch(repo_id):
        raise IntegrityError("config: repository id is not 32 hex digits (damaged or forged)")
    return repo_id


@dataclass(frozen=True)
class RepoConfig:
    repo_id: str
    created: float
    encryption: str  # "aes-256-gcm" | "none"
    pack_size: int
    compression_level: int
    format_version: int = FORMAT_VERSION

    @property
    def encrypted(self) -> bool:
        return self.encryption != "none"


def encode_config(cfg: RepoConfig, master: MasterKey | None) -> bytes:
    header = HEADER.pack(MAGIC, cfg.format_version, ObjectType.CONFIG, 0, 0, NO_KEY_ID, NO_NONCE)
    body = json.dumps(asdict(cfg), sort_keys=True).encode()
    signed = public_sum.stamp(header + struct.pack("<I", len(body)) + body)
    return signed + _tag(signed, master)


def _tag(signed: bytes, master: MasterKey | None) -> bytes:
    return master.mac(signed) if master else blake3.blake3(signed).digest()


def decode_config(data: bytes) -> tuple[RepoConfig, bytes, bytes]:
    """Parse without a key; returns (config, signed part, tag) for ``check_config_tag``."""
    h = parse_header(data, "config")
    if h.type != ObjectType.CONFIG:
        raise IntegrityError("config: not a repository config object")
    try:
        (n,) = struct.unpack_from("<I", data, HEADER_LEN)
    except struct.error:
        raise IntegrityError("config: damaged repository config (truncated)") from None
    if len(data) != HEADER_LEN + 4 + n + MAC_LEN:
        raise IntegrityError("config: damaged repository config (bad length)")
    signed, tag = data[: HEADER_LEN + 4 + n], data[HEADER_LEN + 4 + n :]
    _refuse_newer(signed[HEADER_LEN + 4 :])  # a newer format may checksum differently
    public_sum.check(signed, "config: repository config")
    try:
        doc: dict[str, Any] = json.loads(signed[HEADER_LEN + 4 :])
        cfg = RepoConfig(**doc)
        check_repo_id(cfg.repo_id)  # names a forged id (it becomes a local path)
        _check_types(cfg)
    except (ValueError, TypeError):
        raise IntegrityError("config: damaged repository config") from None
    return cfg, signed, tag


def _refuse_newer(body: bytes) -> None:
    try:
        version = json.loads(body).get("format_version")
    except (ValueError, AttributeError):
        return  # damaged: the checksum names it
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise UnsupportedFormat(
            f"repository format {version} is newer than this pgdr supports "
            f"({FORMAT_VERSION}); upgrade pgdr"
        )


def _check_types(cfg: RepoConfig) -> None:
    ints = (cfg.pack_size, cfg.compression_level, cfg.format_version)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints):
        raise ValueError("config numbers")
    if not isinstance(cfg.repo_id, str) or cfg.encryption not in ("aes-256-gcm", "none"):
        raise ValueError("config strings")
    float(cfg.created)


def check_config_tag(signed: bytes, tag: bytes, master: MasterKey | None) -> None:
    if _tag(signed, master) != tag:
        raise IntegrityError("config: authentication failed (damaged or forged)")
