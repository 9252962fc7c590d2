"""What `pgdr repo …` and `pgdr key …` do, as plain functions returning result objects.
The Typer commands in repo_cmd.py / key_cmd.py only parse arguments and call these."""

from __future__ import annotations

import logging
import shlex
import time
from collections import Counter
from pathlib import Path

from pgdr import audit
from pgdr.catalog.load import CatalogBuilder
from pgdr.cli.repo_target import RepoTarget, backend, key_source, open_repository
from pgdr.cli.results import (
    InitResult,
    KeyChange,
    KeyList,
    Message,
    RepoInfo,
    TrustResult,
    VerifyResult,
)
from pgdr.errors import ConfigError, UsageError, VerifyFailed
from pgdr.repo import format as fmt
from pgdr.repo import identity
from pgdr.repo.keys import KeySource, generate_key_file
from pgdr.repo.locks import LockManager
from pgdr.repo.repository import Repository
from pgdr.repo.verify import Problem, Progress, damage_found, rebuild_index, verify
from pgdr.restore.coverage import check_coverage

log = logging.getLogger(__name__)


def again(config_path: Path | None, repo: str | None, command: str) -> str:
    """``command`` as the user would type it next: with the --config / --repo they gave."""
    parts = ["pgdr"]
    if config_path is not None:
        parts += ["--config", str(config_path)]
    if repo is not None:
        parts += ["--repo", repo]
    return " ".join(shlex.quote(p) for p in parts) + f" {command}"


def init(target: RepoTarget, label: str = "initial", next_command: str = "") -> InitResult:
    kwargs = {}
    if target.pack_size:
        kwargs["pack_size"] = target.pack_size
    if target.compression_level is not None:
        kwargs["compression_level"] = target.compression_level
    src = key_source(target)
    repo = Repository.init(
        backend(target), src, unencrypted=target.unencrypted, label=label, **kwargs
    )  # type: ignore[arg-type]
    _pin_created(repo)
    slots = repo.key_slots()
    slot = slots[0][1] if slots else None
    audit.record(
        repo,
        "repo-init",
        {"encryption": repo.config.encryption, "key_kind": slot.kind if slot else None},
    )
    return InitResult(
        url=repo.backend.url,
        repo_id=repo.config.repo_id,
        encryption=repo.config.encryption,
        key_slot=slot.slot_id if slot else None,
        key_kind=slot.kind if slot else None,
        next_command=next_command,
    )


def _pin_created(repo: Repository) -> None:
    """`repo init` pins what it creates (replacing a pin of an earlier repository at the
    same URL: creating one there is the operator's explicit act)."""
    try:
        identity.write_pin(identity.identity_of(repo))
    except OSError as e:
        log.warning("repository identity not pinned for %s: %s", repo.backend.url, e)


def trust(target: RepoTarget) -> TrustResult:
    """Accept the repository as it is now (after it was replaced legitimately): unlock it
    with the configured key and pin its id and master-key fingerprint."""
    repo = open_repository(target, check_identity=False)
    seen = identity.identity_of(repo)
    try:
        before = identity.read_pin(seen.url)
    except (OSError, ValueError, KeyError, TypeError):
        before = None
    try:
        path = identity.write_pin(seen)
    except OSError as e:
        raise ConfigError(
            f"cannot pin the repository identity in the state directory (PGDR_STATE_DIR): {e}"
        ) from None
    changed = identity.differences(before.identity, seen) if before else []
    audit.record(repo, "repo-trust", {"changed": changed, "first": before is None})
    return TrustResult(seen.url, seen.repo_id, seen.master, str(path), changed, before is None)


def info(target: RepoTarget) -> RepoInfo:
    repo = open_repository(target)
    b = repo.backend
    sizes: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    manifests: Counter[str] = Counter()
    for obj in b.list():
        top = obj.key.split("/", 1)[0]
        sizes[top] += obj.size
        counts[top] += 1
        if top == "manifests":
            manifests[obj.key.split("/")[1]] += 1
    cfg = repo.config
    return RepoInfo(
        url=b.url,
        repo_id=cfg.repo_id,
        created=cfg.created,
        encryption=cfg.encryption,
        format_version=cfg.format_version,
        pack_size=cfg.pack_size,
        compression_level=cfg.compression_level,
        key_slots=counts["keys"],
        packs=counts["data"],
        pack_bytes=sizes["data"],
        index_files=counts["index"],
        blobs=len(repo.index),
        manifests=dict(sorted(manifests.items())),
        locks=counts["locks"],
        total_bytes=sum(sizes.values()),
        lock_list=[
            {
                "id": lk.id,
                "kind": lk.kind,
                "purpose": lk.purpose,
                "holder": f"{lk.user}@{lk.host} pid {lk.pid}",
                "since": lk.created,
                "stale": lk.stale,
                "reason": lk.reason,
            }
            for lk in LockManager(b).list_locks()
        ],
    )


def run_verify(
    target: RepoTarget, *, read_data: bool, rebuild: bool, progress: Progress | None = None
) -> VerifyResult:
    t0 = time.monotonic()
    repo = open_repository(target)
    rebuilt = None
    if rebuild:
        with LockManager(repo.backend).acquire("exclusive", "rebuild-index"):
            r = rebuild_index(repo)
        rebuilt = {
            "packs_scanned": r.packs_scanned,
            "blobs_indexed": r.blobs_indexed,
            "old_index_files": r.old_index_files,
            "damaged_packs": r.damaged_packs,
        }
    backups = CatalogBuilder(refs_budget=0)  # from the manifests verify reads anyway
    rep = verify(repo, read_data=read_data, progress=progress, seen=backups.seen)
    check_coverage(repo, backups.done(), rep)  # backups a restore would refuse for WAL
    result = VerifyResult(
        url=repo.backend.url,
        ok=rep.ok,
        read_data=read_data,
        checked=dict(rep.checked),
        problems=[{"object": p.object, "message": p.message} for p in rep.problems],
        unreferenced_packs=rep.unreferenced_packs,
        bytes_read=rep.bytes_read,
        seconds=time.monotonic() - t0,
        rebuilt_index=rebuilt,
        warnings=[{"object": w.object, "message": w.message} for w in rep.warnings],
    )
    return result


def verify_failed(result: VerifyResult) -> VerifyFailed:
    return damage_found([Problem(p["object"], p["message"]) for p in result.problems])


def unlock(target: RepoTarget, *, remove_all: bool) -> Message:
    locks = LockManager(backend(target))
    removed = locks.remove_all(force=True) if remove_all else locks.remove_stale()
    return Message(f"removed {len(removed)} lock(s)")


def key_list(target: RepoTarget) -> KeyList:
    repo = open_repository(target)
    out = []
    for key, slot in repo.key_slots():
        if slot is None:
            out.append({"id": key.removeprefix(fmt.KEYS_PREFIX), "problem": "damaged"})
            continue
        d = slot.describe()
        d["current"] = slot.slot_id == repo.unlocked_slot
        out.append(d)
    return KeyList(out)


def key_add(target: RepoTarget, new: KeySource, label: str) -> KeyChange:
    repo = open_repository(target)
    slot = repo.add_key(new, label)
    audit.record(repo, "key-add", {"slot": slot.slot_id, "kind": slot.kind, "label": label})
    return KeyChange("add", added=slot.slot_id)


def key_remove(target: RepoTarget, slot_id: str, *, force: bool) -> KeyChange:
    repo = open_repository(target)
    repo.remove_key(slot_id, allow_current=force)
    audit.record(repo, "key-remove", {"slot": slot_id, "forced": force})
    return KeyChange("remove", removed=slot_id)


def key_rotate(target: RepoTarget, new: KeySource, label: str) -> KeyChange:
    """Replace the key-encryption key we unlocked with: add the new slot, prove it opens the
    repository, then delete the old slot. No data object is rewritten."""
    repo = open_repository(target)
    old = repo.unlocked_slot
    if old is None:
        raise UsageError("an unencrypted repository has no keys to rotate")
    slot = repo.add_key(new, label)
    check = Repository.open(repo.backend, new)
    if check.master != repo.master:
        repo.remove_key(slot.slot_id, allow_current=True)
        raise UsageError("the new key did not open the repository; nothing changed")
    repo.remove_key(old, allow_current=True)
    audit.record(repo, "key-rotate", {"added": slot.slot_id, "kind": slot.kind, "removed": old})
    return KeyChange("rotate", added=slot.slot_id, removed=old)


def key_revoke(target: RepoTarget, slot_id: str) -> KeyChange:
    """Revoke a key-encryption key by giving the repository a new master key for new data
    (docs/design.md §5 "Revocation"): only the key we unlocked with gets a slot for it."""
    from pgdr.repo.master_rekey import change_master_key

    repo = open_repository(target)
    source = key_source(target)
    if repo.keyring is None or source is None:
        raise UsageError("an unencrypted repository has no keys to revoke")
    slots = {s.slot_id: s for _key, s in repo.key_slots() if s is not None}
    if slot_id not in slots:
        raise UsageError(f"no key slot {slot_id}; see `pgdr key list`")
    if slot_id == repo.unlocked_slot:
        raise UsageError(
            f"slot {slot_id} is the one you unlocked with: unlock with another key to revoke "
            "it (the new master key is wrapped for the key you unlock with)"
        )
    mine = slots.get(repo.unlocked_slot or "")
    with LockManager(repo.backend).acquire("delete", "key-revoke"):  # one revoke/rekey at once
        change = change_master_key(repo, source, mine.label if mine else "revoke")
    _pin_created(repo)
    others = [s for s in change.removed if s not in (slot_id, mine.slot_id if mine else None)]
    audit.record(
        repo,
        "key-revoke",
        {
            "slot": slot_id,
            "data_key": change.data_key.hex(),
            "master": change.fingerprint,
            "new_slot": change.slot.slot_id,
            "removed": change.removed,
        },
    )
    return KeyChange(
        "revoke",
        added=change.slot.slot_id,
        removed=slot_id,
        data_key=change.data_key.hex(),
        master=change.fingerprint,
        also_removed=others,
    )


def key_generate_file(path: Path) -> Message:
    if path.exists():
        raise UsageError(f"{path} already exists; refusing to overwrite a key file")
    generate_key_file(path)
    return Message(f"wrote a new key file {path} (mode 0600); store a copy somewhere safe")
