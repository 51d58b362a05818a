"""The README's table of grids ("Which grid to run where") against the scenario files it
names: the point counts and caps it states are the files' own, so the two cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

from sweep.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


def _rows() -> list[tuple[list[str], list[int], str]]:
    text = (ROOT / "README.md").read_text()
    table = text.split("### Which grid to run where", 1)[1].split("\n\n", 2)[1]
    rows = []
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        names = re.findall(r"`([\w-]+\.toml)`", cells[0])
        counts = [int(n.replace(",", "")) for n in re.findall(r"[\d,]+", cells[1])]
        rows.append((names, counts, cells[2]))
    return rows


def test_the_readme_states_each_grids_own_size_and_cap():
    rows = _rows()
    assert {n for names, _, _ in rows for n in names} >= {
        "scaling-laptop.toml", "scaling.toml", "rfc-choices.toml", "sensitivity.toml"}
    for names, counts, where in rows:
        assert len(names) == len(counts), (names, counts)
        for name, count in zip(names, counts, strict=True):
            scenario = load_scenario(ROOT / "scenarios" / name)
            assert len(scenario.points) == count, name
            cap = re.search(r"cap (\d+) s", where)
            if cap and len(names) == 1:
                caps = {p.spec.duration_ns for p in scenario.points if p.spec.auto_duration}
                assert caps == {int(cap.group(1)) * 1_000_000_000}, (name, caps)
