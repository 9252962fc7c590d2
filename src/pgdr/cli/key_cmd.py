"""`pgdr key list | add | remove | rotate | revoke | generate-file`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from pgdr.cli import repo_ops
from pgdr.cli.context import get_context
from pgdr.cli.output import emit
from pgdr.cli.repo_open import kdf_n_from_env
from pgdr.errors import UsageError
from pgdr.repo.keys import KeyFile, KeySource, KmsKey, Passphrase

app = typer.Typer(help="Manage the key slots that open the repository.", no_args_is_help=True)

NewKeyFile = Annotated[
    Path | None, typer.Option("--new-key-file", help="Key file for the new slot.")
]
NewKms = Annotated[str | None, typer.Option("--new-kms-key-id", help="KMS key for the new slot.")]
NewPassEnv = Annotated[
    str,
    typer.Option("--new-passphrase-env", help="Environment variable holding the new passphrase."),
]
KmsRegion = Annotated[str | None, typer.Option("--kms-region")]
KmsEndpoint = Annotated[str | None, typer.Option("--kms-endpoint")]
Label = Annotated[str, typer.Option(help="A name for the new slot.")]


def _new_source(
    key_file: Path | None, kms: str | None, pass_env: str, region: str | None, endpoint: str | None
) -> KeySource:
    if key_file and kms:
        raise UsageError("give only one of --new-key-file / --new-kms-key-id")
    if key_file:
        source = KeyFile(key_file)
        source.read()  # fail now, before anything is written
        return source
    if kms:
        return KmsKey(kms, region, endpoint)
    value = os.environ.get(pass_env)
    if value is None:
        if not os.isatty(0):
            raise UsageError(
                f"set {pass_env} to the new passphrase (or give --new-key-file / --new-kms-key-id)"
            )
        value = typer.prompt("new passphrase", hide_input=True, confirmation_prompt=True)
    if len(value) < 8:
        raise UsageError("the new passphrase is too short (at least 8 characters)")
    return Passphrase(value, scrypt_n=kdf_n_from_env())


@app.command("list")
def list_keys(ctx: typer.Context) -> None:
    """List key slots (the one you unlocked with is marked)."""
    cli = get_context(ctx)
    emit(cli, repo_ops.key_list(cli.target()))


@app.command()
def add(
    ctx: typer.Context,
    new_key_file: NewKeyFile = None,
    new_kms_key_id: NewKms = None,
    new_passphrase_env: NewPassEnv = "PGDR_NEW_PASSPHRASE",
    kms_region: KmsRegion = None,
    kms_endpoint: KmsEndpoint = None,
    label: Label = "added",
) -> None:
    """Add a key slot: a passphrase, a key file or a KMS key that also opens the repository."""
    cli = get_context(ctx)
    src = _new_source(new_key_file, new_kms_key_id, new_passphrase_env, kms_region, kms_endpoint)
    emit(cli, repo_ops.key_add(cli.target(), src, label))


@app.command()
def remove(
    ctx: typer.Context,
    slot_id: str,
    force: Annotated[bool, typer.Option(help="Allow removing the slot you unlocked with.")] = False,
) -> None:
    """Remove a key slot (never the last one). Not a revocation: see `pgdr key revoke`."""
    cli = get_context(ctx)
    emit(cli, repo_ops.key_remove(cli.target(), slot_id, force=force))


@app.command()
def rotate(
    ctx: typer.Context,
    new_key_file: NewKeyFile = None,
    new_kms_key_id: NewKms = None,
    new_passphrase_env: NewPassEnv = "PGDR_NEW_PASSPHRASE",
    kms_region: KmsRegion = None,
    kms_endpoint: KmsEndpoint = None,
    label: Label = "rotated",
) -> None:
    """Replace the key you unlock with by a new one. Rewraps the master key; uploads no data.
    Not a revocation: the master key stays, so whoever unlocked with the old key may still
    read everything (see `pgdr key revoke`)."""
    cli = get_context(ctx)
    src = _new_source(new_key_file, new_kms_key_id, new_passphrase_env, kms_region, kms_endpoint)
    emit(cli, repo_ops.key_rotate(cli.target(), src, label))


@app.command()
def revoke(ctx: typer.Context, slot_id: str) -> None:
    """Revoke a key: give the repository a new master key for new data. Only the key you
    unlock with gets a slot for it; every other slot is deleted (add those keys again with
    `pgdr key add`). Whoever kept the old master key cannot read data written afterwards;
    `pgdr repo rekey --rewrite` re-encrypts older data. Other hosts and OS users run
    `pgdr repo trust` once (exit 44 until then)."""
    cli = get_context(ctx)
    emit(cli, repo_ops.key_revoke(cli.target(), slot_id))


@app.command("generate-file")
def generate_file(ctx: typer.Context, path: Path) -> None:
    """Write a new random key file (mode 0600) for use with --new-key-file or key_file."""
    emit(get_context(ctx), repo_ops.key_generate_file(path))
