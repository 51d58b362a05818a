"""A policy from the user's own module (examples/my_policy.py) runs by `module:Class` name and,
once imported, by its registered name, without editing the project."""

import sys
from pathlib import Path

import pytest

from allocator import Spec, get_policy, simulate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def examples_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    yield
    sys.modules.pop("my_policy", None)


def test_plugin_policy_runs_and_changes_only_its_hook(examples_on_path):
    cls = get_policy("my_policy:UpstreamNoDecay")
    assert cls.name == "upstream-nodecay"
    assert get_policy("upstream-nodecay") is cls  # registered on import
    # long enough for several vmstat intervals (1 s), small enough to be quick
    base = dict(
        cpus=2,
        mem_bytes=256 << 20,
        mix="page_fault1",
        duration_ns=1_000_000_000,
        sample_ns=100_000_000,
        knobs={"vmstat_interval_ms": 100},
        mix_params={"map_bytes": "4MiB"},
    )
    upstream = simulate(Spec(policy="upstream", **base))
    mine = simulate(Spec(policy="my_policy:UpstreamNoDecay", **base))
    assert upstream["pcp_high_decays"] > 0
    assert mine["pcp_high_decays"] == 0
    assert mine["ops"] > 0


def test_the_example_uses_only_the_public_api():
    """A plug-in needs only the facade (hook, register_policy) and the built-in policies."""
    src = (Path(__file__).resolve().parents[2] / "examples" / "my_policy.py").read_text()
    imports = [line for line in src.splitlines() if line.startswith(("from ", "import "))]
    assert imports == ["from allocator import hook, register_policy",
                       "from allocator.policies import Upstream"], imports
