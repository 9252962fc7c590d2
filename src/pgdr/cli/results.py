"""Result objects of the repository and key commands, each with a text rendering.
``--json`` renders the same objects as JSON (pgdr.cli.output)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pgdr.humanize import human


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class InitResult:
    url: str
    repo_id: str
    encryption: str
    key_slot: str | None
    key_kind: str | None
    #: The command to run next, with the global options this one was given (--config PATH,
    #: --repo NAME|URL) so that it reaches the same repository.
    next_command: str = ""

    def render_text(self, console: Console) -> None:
        console.print(f"created pgdr repository {self.repo_id} at {self.url}")
        if self.key_slot:
            console.print(
                f"encryption: {self.encryption}, key slot {self.key_slot} ({self.key_kind})"
            )
            console.print("keep the passphrase / key file safe: without it the backups are lost")
        else:
            console.print("[bold red]unencrypted[/] repository (created with --unencrypted)")
        console.print(f"next: {escape(self.next_command or f'pgdr --repo {self.url} repo info')}")


@dataclass
class RepoInfo:
    url: str
    repo_id: str
    created: float
    encryption: str
    format_version: int
    pack_size: int
    compression_level: int
    key_slots: int
    packs: int
    pack_bytes: int
    index_files: int
    blobs: int
    manifests: dict[str, int]
    locks: int
    total_bytes: int
    #: Every lock: id, kind, purpose, holder, since, stale (holder gone or expired), reason.
    lock_list: list[dict[str, Any]] = field(default_factory=list)

    def render_text(self, console: Console) -> None:
        t = Table(show_header=False, box=None, pad_edge=False)
        t.add_column(style="bold")
        t.add_column()
        rows = [
            ("repository", self.url),
            ("id", self.repo_id),
            ("created", _when(self.created)),
            ("format", str(self.format_version)),
            ("encryption", self.encryption),
            ("key slots", str(self.key_slots)),
            ("packs", f"{self.packs} ({human(self.pack_bytes)}, target {human(self.pack_size)})"),
            ("blobs", f"{self.blobs} in {self.index_files} index file(s)"),
            ("manifests", ", ".join(f"{k}: {v}" for k, v in self.manifests.items()) or "none"),
            ("locks", _locks(self.locks, self.lock_list)),
            ("total size", human(self.total_bytes)),
        ]
        for k, v in rows:
            t.add_row(k, escape(v))
        console.print(t)


def _locks(count: int, locks: list[dict[str, Any]]) -> str:
    stale = [lk for lk in locks if lk["stale"]]
    if not locks:
        return str(count)
    lines = [
        f"{lk['id']}: {lk['kind']} ({lk['purpose']}) by {lk['holder']} since {_when(lk['since'])}"
        + (f" — stale: {lk['reason']}" if lk["stale"] else "")
        for lk in locks
    ]
    head = f"{count}" + (f" ({len(stale)} stale; `pgdr repo unlock` removes them)" if stale else "")
    return "\n".join([head, *lines])


@dataclass
class VerifyResult:
    url: str
    ok: bool
    read_data: bool
    checked: dict[str, int]
    problems: list[dict[str, str]]
    unreferenced_packs: int
    bytes_read: int
    seconds: float
    rebuilt_index: dict[str, Any] | None = None
    #: Leftovers of killed runs (stale locks, temporary files): advisory, not damage.
    warnings: list[dict[str, str]] = field(default_factory=list)

    def render_text(self, console: Console) -> None:
        if self.rebuilt_index:
            r = self.rebuilt_index
            console.print(
                f"rebuilt the index from {r['packs_scanned']} pack(s): {r['blobs_indexed']} blob(s)"
                f", replaced {r['old_index_files']} index file(s)"
            )
        counts = ", ".join(f"{v} {k}" for k, v in sorted(self.checked.items()))
        mode = (
            "structure and data"
            if self.read_data
            else "structure (add --read-data to read every pack)"
        )
        console.print(f"checked {mode}: {counts} in {self.seconds:.1f} s")
        if self.unreferenced_packs:
            console.print(
                f"{self.unreferenced_packs} pack(s) not in any index (garbage from an "
                "interrupted write; harmless)"
            )
        for w in self.warnings:
            console.print(f"[yellow]warning[/] {w['object']}: {w['message']}")
        if self.ok:
            console.print("[green]no problems found[/]")
            return
        for p in self.problems:
            console.print(f"[red]damaged[/] {p['object']}: {p['message']}")


@dataclass
class KeyList:
    slots: list[dict[str, Any]] = field(default_factory=list)

    def render_text(self, console: Console) -> None:
        t = Table("slot", "kind", "label", "created", "detail", "")
        for s in self.slots:
            t.add_row(
                escape(s["id"]),
                escape(s.get("kind", "?")),
                escape(s.get("label", "")),  # an operator's words: "[ops] laptop" stays whole
                _when(s["created"]) if "created" in s else "",
                escape(str(s.get("kdf") or s.get("kms_key_id") or s.get("problem", ""))),
                "unlocked with" if s.get("current") else "",
            )
        console.print(t)


@dataclass
class KeyChange:
    action: str
    added: str | None = None
    removed: str | None = None
    data_key: str | None = None
    #: revoke: the new master key's fingerprint, and the other slots it deleted
    master: str | None = None
    also_removed: list[str] | None = None
    #: What the change does not do (printed, and in --json, so scripts see it too).
    note: str | None = None

    def __post_init__(self) -> None:
        if self.note is None:
            self.note = NOT_REVOCATION.get(self.action)

    def render_text(self, console: Console) -> None:
        also = ", ".join(self.also_removed or [])
        lines = [
            (self.added, f"added key slot {self.added}"),
            (self.removed, f"removed key slot {self.removed}"),
            (
                self.master,
                f"new master key {self.master}: the revoked key and the old master key open "
                "nothing written from now on",
            ),
            (self.data_key, f"new data is sealed with the new data key {self.data_key}"),
            (
                also,
                f"also removed key slot(s) {also}: they wrapped the old master key; add those "
                "keys again with `pgdr key add`",
            ),
            (
                self.master,
                "the identity pin here follows the new master key; every other OS user and "
                "host (archive_command's user too) gets exit 44 until it runs `pgdr repo trust`",
            ),
            (
                self.action == "rotate",
                "rotated: no data was re-uploaded; the old key no longer opens the repository",
            ),
            (self.note, f"[yellow]note:[/] {self.note}"),
        ]
        for shown, text in lines:  # each line only when its fact is there, in this order
            if shown:
                console.print(text)


NOT_REVOCATION = {
    "rotate": (
        "this is not a revocation: the master key is unchanged, and whoever unlocked the "
        "repository with the old key may have kept it and can read everything, new data "
        "included; see `pgdr key revoke` and docs/design.md §5"
    ),
    "remove": (
        "the master key is unchanged: removing a slot does not cut off whoever already "
        "unlocked with that key; see `pgdr key revoke`"
    ),
    "revoke": (
        "data written before the revocation stays readable with the old master key by whoever "
        "kept it: `pgdr repo rekey --rewrite` re-encrypts it under the new data key "
        "(docs/design.md §5)"
    ),
}


@dataclass
class TrustResult:
    url: str
    repo_id: str
    master_fingerprint: str
    pin: str
    changed: list[str]
    first: bool

    def render_text(self, console: Console) -> None:
        if self.first:
            console.print(f"pinned repository {self.repo_id} at {self.url} (first use here)")
        elif self.changed:
            console.print(f"accepted the new identity of {self.url}: {'; '.join(self.changed)}")
        else:
            console.print(f"repository {self.repo_id} at {self.url} is the one pinned; unchanged")
        console.print(f"master key fingerprint {self.master_fingerprint}; pin {self.pin}")


@dataclass
class Message:
    text: str

    def render_text(self, console: Console) -> None:
        console.print(self.text)
