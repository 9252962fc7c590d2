"""`--help` of every command and subcommand (walked from the command tree, not listed by
hand) renders its own text: exit 0, config sections in brackets kept, each command's line in
its group's listing its whole first sentence, flags and counts without a value placeholder."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pgdr.cli.command_tree import build_command, first_paragraph, walk
from pgdr.cli.main import app, run

pytestmark = pytest.mark.unit

TREE = list(walk(build_command(app)))
SECTION = re.compile(r"\[[a-z_.]+\]")  # a config section as help strings name it: [web]


def render_help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        run([*path, "--help"])
    out, err = capsys.readouterr()
    assert exited.value.code == 0, (path, err)
    return out


def listing(help_out: str) -> dict[str, str]:
    """The "Commands:" section of a group's help: name -> its text, wrapped lines joined."""
    entries: dict[str, str] = {}
    name = None
    for line in help_out.split("Commands:\n", 1)[1].splitlines():
        m = re.match(r"^  (\S+)\s+(.*)$", line)
        if m:
            name, entries[m.group(1)] = m.group(1), m.group(2)
        elif line.startswith("   ") and name:
            entries[name] += " " + line.strip()
        else:
            name = None
    return entries


def option_line(help_out: str, opt: str) -> re.Match[str] | None:
    return re.search(rf"^  (?:-\w, )?{re.escape(opt)}(?: (<[^>]+>|\S+))?(?:  |$)", help_out, re.M)


def squash(text: str) -> str:
    return "".join(text.split())  # wrapping may break lines at spaces and after hyphens


@pytest.mark.parametrize(("path", "cmd"), TREE, ids=[" ".join(p) or "pgdr" for p, _ in TREE])
def test_help_renders_its_own_text(
    path: tuple[str, ...], cmd: Any, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = render_help(path, capsys)
    sources = [cmd.help or "", *(getattr(p, "help", None) or "" for p in cmd.params)]
    for section in {s for text in sources for s in SECTION.findall(text)}:
        assert section in out, (path, section)
    for param in cmd.params:
        if param.param_type_name != "option" or param.name == "help":
            continue
        long_opt = next(o for o in param.opts if o.startswith("--"))
        m = option_line(out, long_opt)
        assert m is not None, (path, long_opt, out)
        placeholder = m.group(1)
        if param.is_flag or param.count:
            assert placeholder is None, (path, long_opt, placeholder)
        else:
            assert placeholder and placeholder != "<bool>", (path, long_opt, placeholder)
            # a repeatable option takes one value each time, not a list
            assert not placeholder.startswith("<list"), (path, long_opt, placeholder)
    assert "<bool>" not in out, path
    usage = out.splitlines()[0]
    assert usage.startswith("Usage: pgdr") and "{" not in usage, usage  # {X} reads as a choice
    if hasattr(cmd, "commands"):
        shown = listing(out)
        for name, sub in cmd.commands.items():
            if sub.hidden:
                assert name not in shown, (path, name)
                continue
            first = first_paragraph(sub.help)
            assert squash(shown[name]) == squash(first), (path, name, shown[name])
            # a whole sentence: the first paragraph is one sentence, ended
            assert first.endswith((".", ")")) and "..." not in shown[name], (path, name, first)


def test_dev_is_hidden_but_callable(capsys: pytest.CaptureFixture[str]) -> None:
    assert "dev" not in listing(render_help((), capsys))
    assert "Store files as a named file set" in render_help(("dev",), capsys)


def test_exit_codes_reachable_from_help(capsys: pytest.CaptureFixture[str]) -> None:
    out = render_help((), capsys)
    assert "Exit codes:" in out and "pgdr exit-codes" in out
