"""Issue #17: the README and the CLI cannot drift (sqlite-utils' docs test is the model).
The README's command reference is the CLI's own command tree: every command, its one-line
help and every option, generated here and compared; PCP_SWEEP_UPDATE_README=1 rewrites the
section. And every command's --help exits 0 and names each of its options."""

import os
import re
from pathlib import Path

import pytest
import typer.main

from sweep.cli import app

from .cli_run import run

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- cli-reference -->", "<!-- /cli-reference -->"


def _commands(group=None, prefix=""):
    group = group or typer.main.get_command(app)
    for name in sorted(group.commands):
        sub = group.commands[name]
        full = f"{prefix} {name}".strip()
        if hasattr(sub, "commands"):  # a group (typer vendors its own click: no isinstance)
            yield from _commands(sub, full)
        else:
            yield full, sub


def reference() -> str:
    lines = ["| command | what it does | options |", "|---|---|---|"]
    for name, cmd in _commands():
        args = " ".join(p.name.upper() for p in cmd.params
                        if p.param_type_name == "argument")
        opts = " ".join(f"`{o}`" for p in cmd.params if p.param_type_name == "option"
                        for o in p.opts if o.startswith("--") and o != "--help")
        first = " ".join((cmd.help or "").strip().split("\n\n")[0].split())
        lines.append(f"| `sweep {name}{' ' + args if args else ''}` | {first} | {opts} |")
    return "\n".join(lines)


def test_the_readme_reference_is_the_cli():
    text = README.read_text()
    assert BEGIN in text and END in text, "README has no command reference section"
    want = reference()
    have = text.split(BEGIN)[1].split(END)[0].strip()
    if os.environ.get("PCP_SWEEP_UPDATE_README") and have != want:
        head, rest = text.split(BEGIN, 1)
        README.write_text(f"{head}{BEGIN}\n{want}\n{END}{rest.split(END, 1)[1]}")
        have = want
    assert have == want, "README's command reference is stale: rerun with " \
        "PCP_SWEEP_UPDATE_README=1"


@pytest.mark.parametrize("name", [n for n, _ in _commands()])
def test_every_command_has_help_naming_its_options(name, capsys):
    cmd = dict(_commands())[name]
    code, out, err = run([*name.split(), "--help"], capsys)
    assert code == 0, err
    flat = re.sub(r"\s+", " ", out)
    for p in cmd.params:
        if p.param_type_name == "option":
            assert any(o in flat for o in p.opts), (name, p.opts)
