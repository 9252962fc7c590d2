"""AWS KMS as a key-encryption key: the master key is encrypted by KMS with an encryption
context naming the repository and slot, so a wrapped key cannot be moved between slots."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from pgdr.errors import KmsError, WrongKey
from pgdr.repo.keys import KmsKey, kms_key_ref


def _client(key: KmsKey) -> Any:
    cfg = Config(
        connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}
    )
    return boto3.client(
        "kms",
        region_name=key.region,
        endpoint_url=key.endpoint,
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
        config=cfg,
    )


def kms_wrap(key: KmsKey, plaintext: bytes, context: dict[str, str]) -> bytes:
    try:
        resp = _client(key).encrypt(
            KeyId=key.key_id, Plaintext=plaintext, EncryptionContext=context
        )
    except EndpointConnectionError as e:
        raise KmsError(f"cannot reach KMS: {e}") from None
    except ClientError as e:
        raise KmsError(f"KMS refused to encrypt with {key.key_id}: {_msg(e)}") from None
    except BotoCoreError as e:
        raise KmsError(f"KMS error: {e}") from None
    return bytes(resp["CiphertextBlob"])


def kms_unwrap(key: KmsKey, wrapped: bytes, context: dict[str, str]) -> bytes:
    """Decrypt with the configured key only: ``KeyId`` is passed (KMS refuses a ciphertext
    of another key) and the key KMS reports is checked against it (§5)."""
    client = _client(key)
    try:
        resp = client.decrypt(CiphertextBlob=wrapped, EncryptionContext=context, KeyId=key.key_id)
        used = str(resp.get("KeyId", ""))
        if not _is_configured_key(client, key, used):
            raise WrongKey(f"KMS opened this key slot with {used}, not the configured {key.key_id}")
    except EndpointConnectionError as e:
        raise KmsError(f"cannot reach KMS: {e}") from None
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        if code in ("InvalidCiphertextException", "IncorrectKeyException"):
            raise WrongKey(f"KMS key {key.key_id} does not open this key slot") from None
        raise KmsError(f"KMS refused to decrypt with {key.key_id}: {_msg(e)}") from None
    except BotoCoreError as e:
        raise KmsError(f"KMS error: {e}") from None
    return bytes(resp["Plaintext"])


def _is_configured_key(client: Any, key: KmsKey, used: str) -> bool:
    """Decrypt reports the key ARN; the configuration may name a key id, a key ARN or an
    alias (resolved with DescribeKey, only in that case)."""
    if not used:
        return False
    kind, _name = kms_key_ref(key.key_id)
    if kind == "alias":
        arn = str(client.describe_key(KeyId=key.key_id)["KeyMetadata"]["Arn"])
        return used == arn or kms_key_ref(used) == kms_key_ref(arn)
    return used == key.key_id or kms_key_ref(used) == kms_key_ref(key.key_id)


def _msg(e: ClientError) -> str:
    err = e.response.get("Error", {})
    return f"{err.get('Code', '?')}: {err.get('Message', '')}".strip()
