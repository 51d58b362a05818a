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


def _generated(path: Path, want: str, what: str) -> None:
    if os.environ.get("PCP_SWEEP_UPDATE_DOCS") and (not path.exists() or path.read_text() != want):
        path.write_text(want)
    assert path.exists() and path.read_text() == want, \
        f"{path.name} is stale after a change to {what}: rerun with PCP_SWEEP_UPDATE_DOCS=1"


def test_views_sql_is_the_catalogues():
    """views.sql stays a file a plain DuckDB session reads, written from the catalogue."""
    from sweep import views

    _generated(views.VIEWS_SQL, views.render(), "the metric catalogue")


def test_metrics_md_is_the_catalogues():
    from sweep import metrics_doc

    _generated(metrics_doc.METRICS_MD, metrics_doc.render(), "the metric catalogue")


def test_every_record_field_is_documented_once():
    """Each field of a built-in policy's record has exactly one entry: in the catalogue, or in
    the policy's own metrics; and each documented field is in some record."""
    from allocator import Spec, registered_policies, simulate
    from allocator.core import catalogue

    core = [m.name for m in catalogue.CORE]
    seen = set()
    for name, cls in sorted(registered_policies().items()):
        own = [m.name for m in cls.metrics]
        names = core + own
        assert len(names) == len(set(names)), f"{name}: a field documented twice"
        declared = set(cls.event_names) | {f"{g}_mean" for g in cls.gauge_names}
        assert declared == set(own), f"{name}: events/gauges without docs {declared ^ set(own)}"
        spec = Spec(cpus=2, mem_bytes=64 << 20, mix="kbuild", policy=name, duration_ns=2_000_000)
        record = set(simulate(spec).metrics)
        assert record == set(names), (f"{name}: undocumented {sorted(record - set(names))}, "
                                      f"documented but absent {sorted(set(names) - record)}")
        seen |= record
    hidden = {m.name for m in catalogue.EVENTS if not m.record}
    assert not hidden & seen
