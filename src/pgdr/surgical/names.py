"""Table names as the operator writes them (``schema.name``, parts optionally in double
quotes) and the names pgdr derives from them — pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from pgdr.errors import UsageError

#: PostgreSQL's NAMEDATALEN - 1: longer identifiers are truncated by the server.
MAX_IDENTIFIER_BYTES = 63


@dataclass(frozen=True)
class TableName:
    schema: str
    name: str

    def __str__(self) -> str:
        return f"{quote(self.schema)}.{quote(self.name)}"


def quote(ident: str) -> str:
    """An identifier as SQL text, always double-quoted (never a keyword, never folded)."""
    return '"' + ident.replace('"', '""') + '"'


def _plain(raw: str) -> bool:
    """An identifier PostgreSQL accepts without quotes: a letter or _, then letters,
    digits, _ or $."""
    return (
        bool(raw)
        and (raw[0].isalpha() or raw[0] == "_")
        and all(ch.isalnum() or ch in "_$" for ch in raw)
    )


def _parts(text: str, option: str) -> list[str]:
    parts: list[str] = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == '"':
            j, buf = i + 1, []
            while True:
                k = text.find('"', j)
                if k < 0:
                    raise UsageError(f"{option} {text!r}: unterminated double quote")
                buf.append(text[j:k])
                if text[k + 1 : k + 2] == '"':  # "" inside quotes is one "
                    buf.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            part = "".join(buf)
        else:
            k = text.find(".", i)
            raw = text[i:] if k < 0 else text[i:k]
            if not _plain(raw):
                raise UsageError(
                    f"{option} {text!r}: expected schema.name (double-quote names with spaces "
                    "or capitals)"
                )
            part = raw.lower()  # PostgreSQL folds unquoted identifiers
            i = n if k < 0 else k
        if not part or len(part.encode()) > MAX_IDENTIFIER_BYTES or "\x00" in part:
            raise UsageError(f"{option} {text!r}: not a valid identifier")
        parts.append(part)
        if i == n:
            return parts
        if text[i] != ".":
            raise UsageError(f"{option} {text!r}: expected schema.name")
        i += 1


def parse_table(text: str, option: str = "--table", schema: str = "public") -> TableName:
    """``name`` or ``schema.name``; ``"Mixed Case"`` parts keep their case, others fold to
    lower case as PostgreSQL does. UsageError (exit 2) for anything else."""
    parts = _parts(text.strip(), option)
    if len(parts) > 2:
        raise UsageError(f"{option} {text!r}: expected schema.name")
    return TableName(*parts) if len(parts) == 2 else TableName(schema, parts[0])


def derived(prefix: str, name: str) -> str:
    """The name of an index or constraint of the copy: ``<copy>_<original>``, cut to what
    PostgreSQL keeps (63 bytes, never inside a UTF-8 character)."""
    raw = f"{prefix}_{name}".encode()[:MAX_IDENTIFIER_BYTES]
    return raw.decode(errors="ignore")


def default_copy_name(table: TableName, kind: str, value: str | None) -> TableName:
    """``--as`` left out: ``<table>_restored_<when>`` beside the table — the target time in
    UTC (``20261207T031500``), the LSN (``0_3000028``) or the backup it came from — cut to
    63 bytes from the table's end of the name, so the suffix always shows."""
    if kind == "time" and value:
        when = datetime.fromisoformat(value.strip()).astimezone(UTC)
        stamp = when.strftime("%Y%m%dT%H%M%S")
    else:
        stamp = re.sub(r"[^A-Za-z0-9]+", "_", value or kind).strip("_").lower()
    suffix = f"_restored_{stamp}".encode()[:MAX_IDENTIFIER_BYTES]
    head = table.name.encode()[: MAX_IDENTIFIER_BYTES - len(suffix)]
    return TableName(table.schema, (head + suffix).decode(errors="ignore"))
