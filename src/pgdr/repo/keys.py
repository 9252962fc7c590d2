"""Key hierarchy.

    key-encryption key (KEK) ── wraps ──▶ master key M (32 random bytes, one per repository)
      passphrase → scrypt                  │ HKDF-SHA256
      key file   → HKDF                    ├─▶ id key      keyed BLAKE3 for blob ids
      AWS KMS    → Encrypt/Decrypt         ├─▶ mac key     MAC of config and key slots
                                           └─▶ keyring key encrypts the keyring: data keys by id

A key slot (``keys/<slot-id>``) holds M wrapped by one KEK. Adding, removing or rotating a
KEK writes or deletes slots only; no data is re-uploaded. Data keys live in the keyring
(``keyring/<id>``) so new data keys can be introduced without touching the slots. Revocation
replaces M (pgdr.repo.master_rekey); the new M's keyring inherits the first M's id key.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import blake3
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from pgdr.errors import IntegrityError, KeyMissing, WrongKey
from pgdr.repo import public_sum
from pgdr.repo.envelope import HEADER, HEADER_LEN, NO_KEY_ID, NO_NONCE, parse_header
from pgdr.repo.format import FORMAT_VERSION, KEY_ID_LEN, MAGIC, ObjectType
from pgdr.repo.kdf_bounds import check_kdf_params

MAC_LEN = 32
DEFAULT_SCRYPT_N = 1 << 17  # 128 MiB with r=8: ~0.3 s here
SCRYPT_R = 8
SCRYPT_P = 1


def hkdf(secret: bytes, info: str, length: int = 32, salt: bytes | None = None) -> bytes:
    return HKDF(hashes.SHA256(), length, salt, info.encode()).derive(secret)


@dataclass(frozen=True)
class MasterKey:
    secret: bytes

    @property
    def id_key(self) -> bytes:
        return hkdf(self.secret, "pgdr blob-id v1")

    @property
    def mac_key(self) -> bytes:
        return hkdf(self.secret, "pgdr object-mac v1")

    @property
    def keyring_key(self) -> bytes:
        return hkdf(self.secret, "pgdr keyring v1")

    @property
    def fingerprint(self) -> str:
        """A one-way name of the master key, safe to store locally (the identity pin, §5):
        derived like the other keys, so it reveals nothing about them."""
        return hkdf(self.secret, "pgdr master-key fingerprint v1", 16).hex()

    def mac(self, data: bytes) -> bytes:
        return blake3.blake3(data, key=self.mac_key).digest()


# --- key sources (what the operator offers to unlock or to add a slot) -----------------------


@dataclass(frozen=True)
class Passphrase:
    value: str = field(repr=False)
    scrypt_n: int = DEFAULT_SCRYPT_N
    kind: str = "passphrase"

    def __post_init__(self) -> None:
        if not self.value:  # an empty passphrase would open the repository for everyone
            raise KeyMissing("the passphrase is empty; refusing it")


@dataclass(frozen=True)
class KeyFile:
    path: Path
    kind: str = "keyfile"

    def read(self) -> bytes:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            raise KeyMissing(f"key file {self.path} does not exist") from None
        except OSError as e:
            raise KeyMissing(f"cannot read key file {self.path}: {e.strerror}") from None
        if len(data) < 32:
            raise WrongKey(f"key file {self.path} is too short (needs at least 32 bytes)")
        return data


@dataclass(frozen=True)
class KmsKey:
    key_id: str
    region: str | None = None
    endpoint: str | None = None
    kind: str = "kms"
    #: The repository's own credentials (``[repositories.X.s3]``), when configured; else the
    #: AWS chain. A server pgdr starts gets no AWS_* variables (§11), so its archive_command
    #: must find the KMS credentials the way it finds the bucket's.
    access_key_id: str | None = field(default=None, repr=False, compare=False)
    secret_access_key: str | None = field(default=None, repr=False, compare=False)


KeySource = Passphrase | KeyFile | KmsKey


def kms_key_ref(key_id: str) -> tuple[str, str]:
    """``("key", id)`` or ``("alias", name)`` for a key id, key ARN, alias name or alias ARN."""
    if key_id.startswith("arn:"):
        kind, _, name = key_id.split(":", 5)[-1].partition("/")
        return kind, name
    if key_id.startswith("alias/"):
        return "alias", key_id.removeprefix("alias/")
    return "key", key_id


def may_be_same_kms_key(recorded: str, configured: str) -> bool:
    """False when two KMS key references certainly name different keys. An alias and a key
    id cannot be compared without KMS: such a slot is tried, with the configured KeyId passed
    to Decrypt, which KMS refuses for a ciphertext of another key."""
    a, b = kms_key_ref(recorded), kms_key_ref(configured)
    return a[0] != b[0] or a == b


def generate_key_file(path: Path) -> None:
    """Write 64 random bytes (base64) to a new file readable only by its owner."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(base64.b64encode(os.urandom(64)) + b"\n")
        f.flush()
        os.fsync(f.fileno())


# --- key slots -------------------------------------------------------------------------------

KmsWrap = Callable[[KmsKey, bytes, dict[str, str]], bytes]
KmsUnwrap = Callable[[KmsKey, bytes, dict[str, str]], bytes]


@dataclass
class KeySlot:
    slot_id: str
    kind: str
    label: str
    created: float
    params: dict[str, Any]
    wrapped: bytes

    def describe(self) -> dict[str, Any]:
        info = {"id": self.slot_id, "kind": self.kind, "label": self.label, "created": self.created}
        if self.kind == "passphrase":
            info["kdf"] = f"scrypt n={self.params['n']} r={self.params['r']} p={self.params['p']}"
        if self.kind == "kms":
            info["kms_key_id"] = self.params["key_id"]
        return info


def _slot_body(slot: KeySlot, repo_id: str) -> bytes:
    doc = {
        "id": slot.slot_id,
        "repo_id": repo_id,
        "kind": slot.kind,
        "label": slot.label,
        "created": slot.created,
        "params": slot.params,
        "wrapped": base64.b64encode(slot.wrapped).decode(),
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def encode_slot(slot: KeySlot, repo_id: str, master: MasterKey) -> bytes:
    header = HEADER.pack(MAGIC, FORMAT_VERSION, ObjectType.KEY, 0, 0, NO_KEY_ID, NO_NONCE)
    body = _slot_body(slot, repo_id)
    framed = public_sum.stamp(header + struct.pack("<I", len(body)) + body)
    return framed + master.mac(framed)


def decode_slot(data: bytes, what: str) -> tuple[KeySlot, bytes, bytes]:
    """Parse a slot object; returns (slot, signed part, mac). The MAC can only be checked
    once the master key is known; the plaintext checksum (pgdr.repo.public_sum) is checked
    first, so a damaged slot is never taken for a wrong key."""
    h = parse_header(data, what)
    if h.type != ObjectType.KEY:
        raise IntegrityError(f"{what}: not a key slot")
    try:
        (n,) = struct.unpack_from("<I", data, HEADER_LEN)
    except struct.error:
        raise IntegrityError(f"{what}: damaged key slot (truncated)") from None
    if len(data) != HEADER_LEN + 4 + n + MAC_LEN:
        raise IntegrityError(f"{what}: damaged key slot (bad length)")
    signed, mac = data[: HEADER_LEN + 4 + n], data[HEADER_LEN + 4 + n :]
    public_sum.check(signed, f"{what}: key slot")
    try:
        doc = json.loads(signed[HEADER_LEN + 4 :])
        slot = KeySlot(
            slot_id=str(doc["id"]),
            kind=str(doc["kind"]),
            label=str(doc["label"]),
            created=float(doc["created"]),
            params=doc["params"],
            wrapped=base64.b64decode(doc["wrapped"], validate=True),
        )
        _check_params(slot)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise IntegrityError(f"{what}: damaged key slot") from None
    return slot, signed, mac


def _check_params(slot: KeySlot) -> None:
    """The settings a slot's kind needs are there, with their types (raises ValueError):
    a slot is never half-read (KeyError: 'salt' was a traceback)."""
    p = slot.params
    if not isinstance(p, dict):
        raise ValueError("params")
    if slot.kind == "passphrase":
        base64.b64decode(p["salt"], validate=True)
        if not all(isinstance(p[k], int) and p[k] > 0 for k in ("n", "r", "p")):
            raise ValueError("scrypt settings")
    elif slot.kind == "keyfile":
        base64.b64decode(p["salt"], validate=True)
    elif slot.kind == "kms" and not isinstance(p["key_id"], str):
        raise ValueError("key id")


def _kek_for(source: KeySource, params: dict[str, Any], repo_id: str) -> bytes:
    if isinstance(source, Passphrase):
        salt = base64.b64decode(params["salt"])
        kdf = Scrypt(salt=salt, length=32, n=params["n"], r=params["r"], p=params["p"])
        return kdf.derive(source.value.encode())
    if isinstance(source, KeyFile):
        return hkdf(source.read(), "pgdr key-file kek v1", salt=base64.b64decode(params["salt"]))
    raise TypeError(source)


def make_slot(
    source: KeySource,
    master: MasterKey,
    repo_id: str,
    label: str,
    kms_wrap: KmsWrap | None = None,
) -> KeySlot:
    slot_id = os.urandom(8).hex()
    params: dict[str, Any]
    if isinstance(source, KmsKey):
        if kms_wrap is None:
            raise KeyMissing("no KMS client available")
        params = {"key_id": source.key_id, "region": source.region}
        context = {"pgdr-repo": repo_id, "pgdr-slot": slot_id}
        wrapped = kms_wrap(source, master.secret, context)
        return KeySlot(slot_id, "kms", label, time.time(), params, wrapped)
    salt = base64.b64encode(os.urandom(16)).decode()
    if isinstance(source, Passphrase):
        params = {"kdf": "scrypt", "n": source.scrypt_n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": salt}
    else:
        params = {"kdf": "hkdf-sha256", "salt": salt}
    check_kdf_params(params, "new key slot", 0)  # never write a slot that would be refused
    kek = _kek_for(source, params, repo_id)
    nonce = os.urandom(12)
    wrapped = nonce + AESGCM(kek).encrypt(nonce, master.secret, f"{repo_id}/{slot_id}".encode())
    return KeySlot(slot_id, source.kind, label, time.time(), params, wrapped)


def unwrap_slot(
    slot: KeySlot, source: KeySource, repo_id: str, kms_unwrap: KmsUnwrap | None = None
) -> MasterKey | None:
    """Try to open one slot; None if this source does not fit it. Only the configured key
    is ever used: a KMS slot recorded for another key is not tried, and Decrypt is told the
    configured KeyId (the slot's own record is storage an attacker may write). Raises
    KdfOutOfBounds, before any KDF runs, for parameters outside pgdr's bounds."""
    if slot.kind != source.kind:
        return None
    if isinstance(source, KmsKey):
        if kms_unwrap is None:
            raise KeyMissing("no KMS client available")
        if not may_be_same_kms_key(str(slot.params.get("key_id", "")), source.key_id):
            return None
        context = {"pgdr-repo": repo_id, "pgdr-slot": slot.slot_id}
        return MasterKey(kms_unwrap(source, slot.wrapped, context))
    min_n = min(DEFAULT_SCRYPT_N, source.scrypt_n) if isinstance(source, Passphrase) else 0
    check_kdf_params(slot.params, f"key slot {slot.slot_id}", min_n)
    kek = _kek_for(source, slot.params, repo_id)
    nonce, ct = slot.wrapped[:12], slot.wrapped[12:]
    try:
        return MasterKey(AESGCM(kek).decrypt(nonce, ct, f"{repo_id}/{slot.slot_id}".encode()))
    except InvalidTag:
        return None


# --- keyring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inherited:
    """What a keyring of a later master key (``key revoke``, docs/design.md §5) keeps from
    the repository's first master key: its blob-id key (blob ids are content names, so
    deduplication goes on across the change) and the BLAKE3 of the ``config`` object, which
    stays tagged under the first master key (objects are never rewritten)."""

    id_key: bytes = field(repr=False)
    config_sum: bytes

    def to_doc(self) -> dict[str, str]:
        return {"id_key": base64.b64encode(self.id_key).decode(), "config": self.config_sum.hex()}

    @classmethod
    def from_doc(cls, doc: dict[str, str]) -> Inherited:
        out = cls(base64.b64decode(doc["id_key"], validate=True), bytes.fromhex(doc["config"]))
        if len(out.id_key) != 32 or len(out.config_sum) != 32:
            raise ValueError("inherited keys")
        return out


@dataclass
class Keyring:
    """Data keys by id; ``current`` seals new objects, all of them open old ones.
    ``inherited`` is set exactly in keyrings of a later master key."""

    keys: dict[bytes, bytes]
    current: bytes
    created: float = field(default_factory=time.time)
    inherited: Inherited | None = None

    @classmethod
    def new(cls) -> Keyring:
        kid = os.urandom(KEY_ID_LEN)
        return cls({kid: os.urandom(32)}, kid)

    def to_json(self) -> bytes:
        doc: dict[str, Any] = {
            "current": self.current.hex(),
            "created": self.created,
            "keys": {k.hex(): base64.b64encode(v).decode() for k, v in self.keys.items()},
        }
        if self.inherited is not None:  # absent in first-master keyrings: format 1 unchanged
            doc["inherited"] = self.inherited.to_doc()
        return json.dumps(doc, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Keyring:
        doc = json.loads(data)
        keys = {bytes.fromhex(k): base64.b64decode(v) for k, v in doc["keys"].items()}
        inherited = Inherited.from_doc(doc["inherited"]) if "inherited" in doc else None
        return cls(keys, bytes.fromhex(doc["current"]), float(doc["created"]), inherited)

    @staticmethod
    def merge(rings: list[Keyring]) -> Keyring:
        """Several keyring objects may exist after concurrent rotations: all keys stay
        usable; the newest ring's current key seals new data."""
        newest = max(rings, key=lambda r: r.created)
        keys: dict[bytes, bytes] = {}
        for r in rings:
            keys.update(r.keys)
        inherited = next((r.inherited for r in rings if r.inherited is not None), None)
        return Keyring(keys, newest.current, newest.created, newest.inherited or inherited)
