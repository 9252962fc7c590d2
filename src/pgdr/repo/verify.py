"""Repository verification and index rebuild.

``verify`` checks structure (every object decodes and authenticates, every index entry points
into an existing pack, every manifest reference is indexed); with ``read_data`` it also reads
every pack, checks its name against its content, authenticates every blob and re-derives its
id. Problems are collected, each naming the damaged object; nothing is repaired.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from pgdr.errors import IntegrityError, ObjectNotFound, PgdrError, VerifyFailed
from pgdr.repo import format as fmt
from pgdr.repo.format import ObjectType
from pgdr.repo.index import BlobIndex, IndexFile, Location
from pgdr.repo.keys import decode_slot
from pgdr.repo.leftovers import stale_locks, temp_files
from pgdr.repo.pack import pack_id_of, scan_pack
from pgdr.repo.repository import Manifest, Repository, active_index_ids
from pgdr.storage.base import ObjectInfo

Progress = Callable[[str, int, int], None]


@dataclass
class Problem:
    object: str
    message: str


@dataclass
class VerifyReport:
    read_data: bool
    checked: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    problems: list[Problem] = field(default_factory=list)
    #: Advisory findings (leftovers of killed runs): named, never a failure.
    warnings: list[Problem] = field(default_factory=list)
    unreferenced_packs: int = 0
    superseded_index_files: int = 0
    bytes_read: int = 0
    #: The listing of ``wal/`` verify checked (the WAL coverage check reuses it).
    wal_listing: list[ObjectInfo] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, obj: str, err: Exception | str) -> None:
        msg = err.message if isinstance(err, PgdrError) else str(err)
        # Messages usually start with the object's name already; avoid saying it twice.
        if msg.startswith(obj + ":"):
            msg = msg[len(obj) + 1 :].strip()
        self.problems.append(Problem(obj, msg))


def damage_found(problems: Sequence[Problem]) -> VerifyFailed:
    """The error of a verify that found ``problems`` (at least one): the first named, the
    others counted."""
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return VerifyFailed(f"verify found damage: {first.object}: {first.message}{more}")


def verify(
    repo: Repository,
    *,
    read_data: bool = False,
    progress: Progress | None = None,
    seen: Callable[[str, str, Manifest], None] | None = None,
) -> VerifyReport:
    """``seen(kind, id, manifest)`` gets every manifest this verify read and authenticated,
    so a caller that also judges the backups (WAL coverage) does not read them again."""
    rep = VerifyReport(read_data=read_data)
    b = repo.backend
    # config
    try:
        _cfg, signed, tag = Repository.read_config(b)
        repo.check_config(signed, tag)
    except PgdrError as e:
        rep.add(fmt.CONFIG_KEY, e)
    rep.checked["config"] += 1
    for lock in stale_locks(b):
        rep.warnings.append(
            Problem(
                f"{fmt.LOCKS_PREFIX}{lock.id}", f"stale lock ({lock.reason}): `pgdr repo unlock`"
            )
        )
    for tmp in temp_files(b):
        rep.warnings.append(
            Problem(tmp.key, "temporary file of an interrupted write: `pgdr repo gc` removes it")
        )
    # versioned storage (S3): an object hidden by a delete marker is gone for every reader
    hidden = getattr(b, "hidden_objects", None)
    if callable(hidden):
        for info in hidden():
            rep.checked["hidden"] += 1
            rep.add(info.key, _hidden_message(info.key))
    # key slots and keyring
    if repo.master is not None:
        for info in b.list(fmt.KEYS_PREFIX):
            rep.checked["key"] += 1
            try:
                _slot, signed, mac = decode_slot(b.get(info.key), info.key)
                if repo.master.mac(signed) != mac:
                    rep.add(info.key, "authentication failed (damaged or forged)")
            except PgdrError as e:
                rep.add(info.key, e)
        for info in b.list(fmt.KEYRING_PREFIX):
            rep.checked["keyring"] += 1
            try:  # another master key's keyring (retired by `key revoke`, §5) is skipped
                repo.open_keyring_object(info.key, b.get(info.key))
            except PgdrError as e:
                rep.add(info.key, e)
    # index files; one superseded by another present index object (garbage collection or a
    # rebuild wrote its replacement, deletion pending) is checked but not used
    index = BlobIndex()
    files: dict[bytes, IndexFile] = {}
    for key in list(repo.iter_index_keys()):
        rep.checked["index"] += 1
        try:
            files[bytes.fromhex(key[len(fmt.INDEX_PREFIX) :])] = repo.read_index_file(key)
        except (PgdrError, ValueError) as e:
            rep.add(key, e)
    for index_id in active_index_ids(files):
        index.load(index_id, files[index_id])
    rep.superseded_index_files = len(files) - len(index.index_ids)
    # packs: existence, size, and with read_data full content
    packs = {i.key: i.size for i in b.list(fmt.DATA_PREFIX)}
    by_pack: dict[bytes, list[tuple[bytes, Location]]] = defaultdict(list)
    for bid, loc in index.items():
        by_pack[loc.pack_id].append((bid, loc))
    for pack_id, entries in by_pack.items():
        key = fmt.pack_key(pack_id)
        size = packs.get(key)
        if size is None:
            rep.add(key, f"missing, but the index lists {len(entries)} blob(s) in it")
        elif any(loc.offset + loc.length > size for _, loc in entries):
            rep.add(key, "shorter than the index says (truncated)")
    rep.unreferenced_packs = sum(
        1 for k in packs if bytes.fromhex(k.rsplit("/", 1)[1]) not in by_pack
    )
    found: set[bytes] = set()
    if read_data:
        found = _read_packs(repo, packs, by_pack, rep, progress)
    # WAL objects: envelopes bound to their key; authenticated when reading data
    rep.wal_listing = list(b.list(fmt.WAL_PREFIX))
    for info in rep.wal_listing:
        rep.checked["wal"] += 1
        if read_data:
            try:
                repo.sealer.open(b.get(info.key), info.key.encode(), info.key, ObjectType.WAL)
                rep.bytes_read += info.size
            except PgdrError as e:
                rep.add(info.key, e)

    # manifests: decode and check every reference is indexed (or, reading data, found intact
    # in a pack: a damaged index is reported once, not again for every manifest)
    def known_ids() -> np.ndarray:
        ids = index.blob_ids()
        return np.union1d(ids, np.array(sorted(found), dtype="S32")) if found else ids

    known = known_ids()
    relisted = False
    for kind in repo.manifest_kinds():
        for mid in repo.list_manifests(kind):
            key = fmt.manifest_key(kind, mid)
            rep.checked["manifest"] += 1
            try:
                m = repo.get_manifest(kind, mid)
            except ObjectNotFound:
                continue  # listed, then deleted (expire or delete-backup meanwhile)
            except PgdrError as e:
                rep.add(key, e)
                continue
            if seen is not None:
                seen(kind, mid, m)
            refs = np.unique(np.frombuffer(m.refs, dtype="S32"))
            missing = _not_in(known, refs)
            if len(missing) and not relisted:
                # A backup that finished while this verify ran wrote its index object after
                # the index was read above (then its manifest): read the index objects that
                # are new since, once, before calling anything missing.
                relisted = True
                if _load_new_index_objects(repo, files, index):
                    known = known_ids()
                    missing = _not_in(known, refs)
            if len(missing):
                rep.add(
                    key,
                    f"references {len(missing)} blob(s) not in the index, "
                    f"e.g. {bytes(missing[0]).hex()}",
                )
    return rep


def _not_in(known: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """The ids of sorted unique ``refs`` that sorted ``known`` lacks."""
    if not len(known):
        return refs
    pos = np.searchsorted(known, refs)
    pos[pos >= len(known)] = 0
    missing: np.ndarray = refs[known[pos] != refs]
    return missing


def _load_new_index_objects(
    repo: Repository, files: dict[bytes, IndexFile], index: BlobIndex
) -> bool:
    """Read index objects written since ``files`` was listed into ``index``; True if any.
    One that cannot be read is left to the next verify (it was not there to report)."""
    new = False
    for key in list(repo.iter_index_keys()):
        index_id = bytes.fromhex(key[len(fmt.INDEX_PREFIX) :])
        if index_id in files:
            continue
        try:
            files[index_id] = repo.read_index_file(key)
        except (PgdrError, ValueError):
            continue
        new = True
    for index_id in active_index_ids(files):
        if index_id not in index.index_ids:
            index.load(index_id, files[index_id])
    return new


def _hidden_message(key: str) -> str:
    what = "backup" if key.startswith(fmt.MANIFESTS_PREFIX + "backup/") else "object"
    return (
        f"hidden by a delete marker (a delete without a version id): the {what} is missing "
        "for every reader while the storage retains its older version; remove the marker to "
        "bring it back"
    )


def _read_packs(
    repo: Repository,
    packs: dict[str, int],
    by_pack: dict[bytes, list[tuple[bytes, Location]]],
    rep: VerifyReport,
    progress: Progress | None,
) -> set[bytes]:
    """Read every pack; returns the ids of all blobs found intact."""
    keys = sorted(packs)
    intact: set[bytes] = set()
    total = sum(packs.values())

    def check(key: str) -> tuple[str, list[str], int, list[bytes]]:
        errs: list[str] = []
        good: list[bytes] = []
        try:
            data = repo.backend.get(key)
        except PgdrError as e:
            return key, [e.message], 0, good
        pack_id = bytes.fromhex(key.rsplit("/", 1)[1])
        if pack_id_of(data) != pack_id:
            errs.append("content does not match its name (damaged)")
        expected = {bid: loc for bid, loc in by_pack.get(pack_id, [])}
        try:
            for rec in scan_pack(data, key):
                env = memoryview(data)[rec.offset : rec.offset + rec.length]
                try:
                    repo.open_blob(rec.blob_id, env, f"{key}@{rec.offset}")
                    good.append(rec.blob_id)
                except IntegrityError as e:
                    errs.append(e.message.split(": ", 1)[-1] + f" (blob at offset {rec.offset})")
                loc = expected.pop(rec.blob_id, None)
                if loc is not None and (loc.offset, loc.length) != (rec.offset, rec.length):
                    errs.append(f"index entry for blob {rec.blob_id.hex()[:16]} has wrong position")
        except IntegrityError as e:
            errs.append(e.message.split(": ", 1)[-1])
        if expected:
            errs.append(f"{len(expected)} indexed blob(s) not found in the pack")
        return key, errs, len(data), good

    done = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        for key, errs, n, good in pool.map(check, keys):
            rep.checked["pack"] += 1
            rep.checked["blob"] += len(good)
            intact.update(good)
            rep.bytes_read += n
            done += n
            for e in dict.fromkeys(errs):
                rep.add(key, e)
            if progress:
                progress("read-data", done, total)
    return intact


@dataclass
class RebuildReport:
    packs_scanned: int
    blobs_indexed: int
    damaged_packs: list[str]
    old_index_files: int


def rebuild_index(repo: Repository) -> RebuildReport:
    """Scan every pack and write a fresh index that supersedes all existing index files.
    Damaged records are left out (and reported); the old index objects are deleted only
    after the new one is durable."""
    old = [bytes.fromhex(k[len(fmt.INDEX_PREFIX) :]) for k in repo.iter_index_keys()]
    items: list[tuple[bytes, Location]] = []
    damaged: list[str] = []
    packs = [i.key for i in repo.backend.list(fmt.DATA_PREFIX)]

    def scan(key: str) -> tuple[str, list[tuple[bytes, Location]], bool]:
        data = repo.backend.get(key)
        pack_id = bytes.fromhex(key.rsplit("/", 1)[1])
        found: list[tuple[bytes, Location]] = []
        bad = pack_id_of(data) != pack_id
        try:
            for rec in scan_pack(data, key):
                env = memoryview(data)[rec.offset : rec.offset + rec.length]
                try:
                    plain = repo.open_blob(rec.blob_id, env, key)
                except IntegrityError:
                    bad = True
                    continue
                found.append((rec.blob_id, Location(pack_id, rec.offset, rec.length, len(plain))))
        except IntegrityError:
            bad = True
        return key, found, bad

    with ThreadPoolExecutor(max_workers=4) as pool:
        for key, found, bad in pool.map(scan, packs):
            items.extend(found)
            if bad:
                damaged.append(key)
    chunk = 1 << 20
    for i in range(0, max(len(items), 1), chunk):
        repo.write_index(items[i : i + chunk], supersedes=old if i == 0 else [])
    new_keys = set(repo.iter_index_keys())
    for index_id in old:
        key = fmt.index_key(index_id)
        if key in new_keys:
            repo.backend.delete(key)
    repo.invalidate_index()
    return RebuildReport(len(packs), len(items), damaged, len(old))
