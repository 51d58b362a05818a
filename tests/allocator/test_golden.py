"""Golden runs: small points whose whole metrics record is pinned in golden.json.

A change that alters any number of these runs fails here; if the change is meant to alter the
model, regenerate the file and say why in the commit:

    PCP_SWEEP_UPDATE_GOLDEN=1 python -m pytest tests/allocator/test_golden.py
"""

import json
import os
from pathlib import Path

import pytest

from allocator import Spec, simulate

GOLDEN = Path(__file__).with_name("golden.json")
SPECS = {
    "kbuild-upstream": Spec(
        cpus=4, mem_bytes=256 << 20, mix="kbuild", policy="upstream", seed=7,
        duration_ns=20_000_000,
    ),
    "kbuild-pcp-buddy": Spec(
        cpus=4, mem_bytes=256 << 20, mix="kbuild", policy="pcp-buddy", seed=7,
        duration_ns=20_000_000,
    ),
    "page_fault1-upstream": Spec(
        cpus=3, mem_bytes=128 << 20, mix="page_fault1", policy="upstream", seed=7,
        duration_ns=10_000_000,
    ),
    "page_fault1-pcp-buddy": Spec(
        cpus=3, mem_bytes=128 << 20, mix="page_fault1", policy="pcp-buddy", seed=7,
        duration_ns=10_000_000,
    ),
}


def _records() -> dict:
    return {name: json.loads(json.dumps(dict(simulate(spec)))) for name, spec in SPECS.items()}


def test_golden_runs_are_unchanged():
    records = _records()
    if os.environ.get("PCP_SWEEP_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(records, indent=1, sort_keys=True) + "\n")
        pytest.skip("golden.json rewritten")
    expected = json.loads(GOLDEN.read_text())
    for name in SPECS:
        dropped = sorted(set(expected[name]) - set(records[name]))
        added = sorted(set(records[name]) - set(expected[name]))
        assert not dropped and not added, f"{name}: fields dropped {dropped}, added {added}"
        changed = {
            k: (expected[name][k], v) for k, v in records[name].items() if expected[name][k] != v
        }
        assert not changed, f"{name}: (golden, now) {changed}"
