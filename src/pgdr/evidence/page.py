"""A small self-contained HTML page (no scripts, no external assets): the runbook and the
compliance report, readable on one screen per section."""

from __future__ import annotations

from html import escape

CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{padding:12px 24px;background:#1d2330;color:#fff}
header h1{font-size:20px;margin:0} header p{margin:4px 0 0;color:#c9cfdb;font-size:13px}
section{background:#fff;margin:16px 24px;padding:14px 20px;border-radius:6px;
  box-shadow:0 1px 3px #0002;max-width:1100px}
section h2{font-size:18px;margin:0 0 6px}
pre{background:#0f1420;color:#e6edf3;padding:10px 12px;border-radius:4px;overflow-x:auto;
  font-size:12.5px;white-space:pre-wrap;word-break:break-all;margin:6px 0}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
td,th{border-bottom:1px solid #e3e6eb;padding:3px 10px 3px 0;text-align:left;vertical-align:top}
td.met,td.not-met,td.not-configured{white-space:nowrap}
.met,.passed{color:#146c2e;font-weight:600} .not-met,.failed,.stale{color:#b42318;font-weight:600}
.not-configured,.none{color:#8a6d00;font-weight:600}
.label{color:#5b6474;font-size:12px;text-transform:uppercase;letter-spacing:.04em;margin-top:8px}
"""


def page(title: str, subtitle: str, sections: list[str]) -> str:
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>\n"
        f"<header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )


def code(lines: list[str]) -> str:
    return f"<pre>{escape(chr(10).join(lines))}</pre>" if lines else ""


def label(text: str) -> str:
    return f"<div class=label>{escape(text)}</div>"
