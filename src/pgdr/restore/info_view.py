"""`pgdr info` as text that fits the terminal: whole backup ids always (a line is wrapped,
never an id cut), start and stop times in UTC, database and stored size per backup; the
details of each backup on an indented line below it, as many as the width allows per line.

Times are shown to the second, rounded so that they stay true as restore targets: a backup's
start and the window's end are rounded down, a backup's stop and the window's start up (a
``--time`` at or after the shown stop, and inside the shown window, is restorable)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.text import Text

from pgdr.humanize import duration, human, utc

if TYPE_CHECKING:
    from pgdr.restore.info import Info, WalRange

INDENT = "  "
_GAP = "  "


def info_lines(info: Info, width: int) -> list[str]:
    """The text of `pgdr info` (rich markup), no line wider than ``width`` unless a single
    word (an id, a WAL name) is."""
    width = max(width, 40)
    out: list[str] = []
    if info.backups:
        out += _backup_lines(info.backups, width)
    for b in info.backups:
        if not b["restorable"]:
            out += _fit(
                f"[red]backup {b['id']} is not restorable[/]:", [escape(b["problem"])], width
            )
    for w in info.wal:
        out += _wal_lines(w, width)
    for bid, why in sorted(info.damaged.items()):
        out += _fit(f"[red]backup {bid}: damaged manifest:[/]", [escape(why)], width)
    if info.window_start:
        tl = f" on timeline {info.production_timeline}" if info.production_timeline else ""
        span = f"{_up(info.window_start)} .. {utc(info.window_end or info.window_start)}"
        out += _fit(f"recoverable window{tl}:", [span], width)
    elif info.damaged and not info.backups:
        out.append("[red]nothing restorable: every backup manifest is damaged[/]")
    elif info.not_restorable:
        out += _fit("[red]nothing restorable[/]:", [escape(info.not_restorable)], width)
    else:
        out.append("[yellow]nothing restorable yet: no backup[/]")
    return out


def _backup_lines(backups: list[dict[str, Any]], width: int) -> list[str]:
    heads = ("backup", "type", "started (UTC)", "stopped", "db size")
    rows = [
        (b["id"], b["type"], _down(b["start_time"]), _stop(b), human(b["bytes"])) for b in backups
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]

    def line(cells: tuple[str, ...]) -> str:
        left = _GAP.join(c.ljust(w) for c, w in zip(cells[:-1], widths, strict=False))
        return f"{left}{_GAP}{cells[-1].rjust(widths[-1])}"

    out = [f"[bold]{escape(line(heads))}[/]"]
    for b, row in zip(backups, rows, strict=True):
        out.append(escape(line(row)))
        out += _wrap(INDENT, _details(b), width)
    return out


def _details(b: dict[str, Any]) -> list[str]:
    parts = [
        f"stored {human(b['stored_bytes'])}",
        f"{b['files']} files",
        f"took {duration(b['seconds'])}",
        f"timeline {b['timeline']}",
        f"LSN {b['start_lsn']} .. {b['stop_lsn']}",
    ]
    if b.get("wal_start") and b.get("wal_stop"):
        wal = (
            b["wal_start"]
            if b["wal_start"] == b["wal_stop"]
            else (f"{b['wal_start']} .. {b['wal_stop']}")
        )
        parts.append(f"WAL {wal}")
    bad = sum(len(e["blocks"]) for e in b["page_checksum_errors"])
    if bad:
        parts.append(f"[red]{bad} page(s) failed their checksum[/]")
    if b["label"] and b["label"] != f"pgdr {b['id']}":  # the default label repeats the id
        parts.append(f"label {escape(b['label'])}")
    return parts


def _wal_lines(w: WalRange, width: int) -> list[str]:
    role = "[bold]production[/]" if w.role == "production" else escape(w.role)
    head = f"WAL timeline {w.timeline} ({role}): {w.segments} segments,"
    out = _fit(head, [f"{w.first} .. {w.last}" if w.first != w.last else w.first], width)
    if w.gaps:
        names = [f"[red]{g}[/]" for g in w.gaps[:3]] + (["…"] if len(w.gaps) > 3 else [])
        names[0] = f"[red]{len(w.gaps)} missing: {w.gaps[0]}[/]"
        out += _wrap(INDENT, names, width)
    return out


def _fit(head: str, parts: list[str], width: int) -> list[str]:
    """``head`` and ``parts`` on one line when it fits, else the parts wrapped below it."""
    one = " ".join([head, *parts])
    if _len(one) <= width:
        return [one]
    return [head, *_wrap(INDENT, parts, width)]


def _wrap(indent: str, parts: list[str], width: int) -> list[str]:
    """Parts joined by ", " into lines of at most ``width`` (a part is never split; a line
    that continues below ends with the comma)."""
    lines: list[str] = []
    cur = ""
    for i, p in enumerate(parts):
        cand = f"{cur}, {p}" if cur else p
        more = "," if i < len(parts) - 1 else ""
        if cur and _len(indent + cand + more) > width:
            lines.append(f"{indent}{cur},")
            cand = p
        cur = cand
    if cur:
        lines.append(indent + cur)
    return lines


def _len(markup: str) -> int:
    return Text.from_markup(markup).cell_len


def _stop(b: dict[str, Any]) -> str:
    """The stop time, rounded up: the time of day on the start's date, else with month-day."""
    stop = _ceil(datetime.fromisoformat(b["stop_time"]))
    text = utc(stop).removesuffix(" UTC")
    same_day = text[:10] == _down(b["start_time"])[:10]
    return text[11:] if same_day else text[5:]


def _down(iso: str) -> str:
    return utc(iso).removesuffix(" UTC")


def _up(iso: str) -> str:
    return utc(_ceil(datetime.fromisoformat(iso)))


def _ceil(dt: datetime) -> datetime:
    whole = dt.replace(microsecond=0)
    return whole if whole == dt else whole + timedelta(seconds=1)
