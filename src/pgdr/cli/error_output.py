"""How an error reaches the operator: one line (plus an optional hint) on stderr, an exit
code, and with --json an error document on stdout. Used by both entry paths."""

from __future__ import annotations

import json
import sys

from pgdr.errors import PgdrError


def report_error(err: PgdrError, as_json: bool) -> int:
    print(f"pgdr: error: {err.message}", file=sys.stderr)
    if err.hint:
        print(f"pgdr: hint: {err.hint}", file=sys.stderr)
    if as_json:
        doc = {
            "kind": err.kind,
            "message": err.message,
            "exit_code": err.exit_code,
            "retryable": err.retryable,
        }
        print(json.dumps({"error": doc}))
    return err.exit_code
