"""Issue #16: a corpus of bad command lines (bad_command_lines.txt), each through the CLI as a
user types it: exit 2, nothing on stdout, one line on stderr saying what is wrong, and nothing
written."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from .cli_run import run
from .synth import write_sweep

HERE = Path(__file__).parent
REPO = HERE.parents[1]


def _cases() -> list[tuple[str, str]]:
    out = []
    for line in (HERE / "bad_command_lines.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            args, _, needle = line.partition(" => ")
            out.append((args.strip(), needle.strip()))
    return out


def _tree(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*"))}


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    (tmp / "afile").write_text("x\n")
    (tmp / "empty").mkdir()
    write_sweep(tmp / "store", mixes=("purge",), cpus=(8, 16), mems=(1 << 30,), seeds=2)
    return tmp


@pytest.mark.parametrize(("args", "needle"), _cases(), ids=[a for a, _ in _cases()])
def test_bad_command_line(args, needle, place, capsys, monkeypatch):
    monkeypatch.chdir(place)
    argv = shlex.split(args.format(tmp=place, repo=REPO))
    before = _tree(place)
    code, out, err = run(argv, capsys)
    assert code == 2, (code, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err
    assert _tree(place) == before  # nothing half-written, no results directory made


def test_the_corpus_covers_every_verb():
    from sweep.cli import app

    verbs = {c.name or c.callback.__name__ for c in app.registered_commands}
    used = {shlex.split(a)[0] for a, _ in _cases()}
    missing = {v.rstrip("_") for v in verbs} - used - {"trace"} - {"index"}
    assert "trace" in used and "index" in used
    assert not missing, missing
