"""`pgdr key list | add | remove | rotate | revoke | generate-file` (key slots), and data-key
rotation: `pgdr key rotate-data`, `pgdr repo rekey` (registered in pgdr.cli.main)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from pgdr.cli import repo_actions
from pgdr.cli.context import CliContext, get_context
from pgdr.cli.options import flag
from pgdr.cli.output import emit
from pgdr.cli.repo_target import RepoTarget, kdf_n_from_env, open_repository
from pgdr.cli.retention_cmd import Wait, gc_options
from pgdr.errors import UsageError
from pgdr.repo.keys import KeyFile, KeySource, KmsKey, Passphrase
from pgdr.repo.repository import Repository
from pgdr.retention.results import record_audit

app = typer.Typer(help="Manage the key slots that open the repository.", no_args_is_help=True)

NewKeyFile = Annotated[
    Path | None, typer.Option("--new-key-file", help="Key file for the new slot.")
]
NewKms = Annotated[str | None, typer.Option("--new-kms-key-id", help="KMS key for the new slot.")]
NewPassEnv = Annotated[
    str,
    typer.Option("--new-passphrase-env", help="Environment variable holding the new passphrase."),
]
KmsRegion = Annotated[
    str | None, typer.Option("--kms-region", help="Region of --new-kms-key-id's KMS.")
]
KmsEndpoint = Annotated[
    str | None, typer.Option("--kms-endpoint", help="KMS endpoint URL (default: AWS's).")
]
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
    emit(cli, repo_actions.key_list(cli.target()))


def _new_key_command(
    action: Callable[[RepoTarget, KeySource, str], Any], default_label: str, doc: str
) -> Callable[..., None]:
    """`key add` and `key rotate` take the same new-key options; they differ in what they do
    with the new key."""

    def command(
        ctx: typer.Context,
        new_key_file: NewKeyFile = None,
        new_kms_key_id: NewKms = None,
        new_passphrase_env: NewPassEnv = "PGDR_NEW_PASSPHRASE",
        kms_region: KmsRegion = None,
        kms_endpoint: KmsEndpoint = None,
        label: Label = default_label,
    ) -> None:
        cli = get_context(ctx)
        src = _new_source(
            new_key_file, new_kms_key_id, new_passphrase_env, kms_region, kms_endpoint
        )
        emit(cli, action(cli.target(), src, label))

    command.__doc__ = doc
    return command


app.command("add")(
    _new_key_command(
        repo_actions.key_add,
        "added",
        "Add a key slot: a passphrase, a key file or a KMS key that also opens the repository.",
    )
)
app.command("rotate")(
    _new_key_command(
        repo_actions.key_rotate,
        "rotated",
        """Replace the key you unlock with by a new one.

        Rewraps the master key; uploads no data. Not a revocation: the master key stays, so
        whoever unlocked with the old key may still read everything (see `pgdr key revoke`).""",
    )
)


@app.command()
def remove(
    ctx: typer.Context,
    slot_id: str,
    force: Annotated[bool, flag("--force", "Allow removing the slot you unlocked with.")] = False,
) -> None:
    """Remove a key slot (never the last one).

    Not a revocation: see `pgdr key revoke`."""
    cli = get_context(ctx)
    emit(cli, repo_actions.key_remove(cli.target(), slot_id, force=force))


@app.command()
def revoke(ctx: typer.Context, slot_id: str) -> None:
    """Revoke a key: give the repository a new master key for new data.

    Only the key you
    unlock with gets a slot for it; every other slot is deleted (add those keys again with
    `pgdr key add`). Whoever kept the old master key cannot read data written afterwards;
    `pgdr repo rekey --rewrite` re-encrypts older data. Other hosts and OS users run
    `pgdr repo trust` once (exit 44 until then)."""
    cli = get_context(ctx)
    emit(cli, repo_actions.key_revoke(cli.target(), slot_id))


@app.command("generate-file")
def generate_file(ctx: typer.Context, path: Path) -> None:
    """Write a new random key file (mode 0600) for use with --new-key-file or key_file."""
    emit(get_context(ctx), repo_actions.key_generate_file(path))


def _emit_audited(cli: CliContext, repo: Repository, result: Any) -> None:
    """Key operations live in the repository layer, below the audit log: record them here.
    (expire, delete-backup and gc record themselves, so daemon runs are audited too.)"""
    emit(cli, record_audit(repo, result))


def rekey(
    ctx: typer.Context,
    rewrite: Annotated[
        bool,
        typer.Option("--rewrite", help="Re-encrypt everything older data keys sealed."),
    ] = False,
    wait: Wait = 0.0,
) -> None:
    """Show objects sealed with older data keys; with --rewrite, re-encrypt them under the
    current data key (see `pgdr key rotate-data`)."""
    from pgdr.repo.rekey import remaining_old
    from pgdr.repo.rekey import rewrite as do_rewrite
    from pgdr.retention.results import RekeyResult

    cli = get_context(ctx)
    repo = open_repository(cli.target())
    if repo.keyring is None:
        raise UsageError("an unencrypted repository has no data keys; nothing to rekey")
    if rewrite:
        _emit_audited(
            cli, repo, RekeyResult.of(repo.backend.url, do_rewrite(repo, gc_options(cli, wait)))
        )
    else:
        emit(
            cli,
            RekeyResult.pending(repo.backend.url, repo.sealer.current_key_id, remaining_old(repo)),
        )


def rotate_data(ctx: typer.Context) -> None:
    """Rotate the data key: new data is sealed with a new key, old data stays readable.

    `pgdr repo rekey --rewrite` re-encrypts the old data."""
    from pgdr.repo.rekey import rotate_data_key
    from pgdr.retention.results import DataKeyResult

    cli = get_context(ctx)
    repo = open_repository(cli.target())
    _emit_audited(cli, repo, DataKeyResult.of(repo.backend.url, rotate_data_key(repo)))
