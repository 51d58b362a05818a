"""Random alloc / free / drain / reclaim / decay sequences keep every invariant (DESIGN.md 3.6).

A Hypothesis state machine drives the allocator's entry points on a 64 MiB, 3-CPU machine and
runs the pure-Python oracle (invariants.py) after every step. Frees come from any CPU's list,
so pages are often freed on a CPU other than the one that allocated them.
"""

import os
import subprocess
import sys

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from allocator.core.consts import GFP_DIRECT_RECLAIM, GFP_LRU, GFP_MOVABLE_PAGE
from allocator.core.jit import JIT_ENABLED
from allocator.mm.invariants import check_invariants
from allocator.mm.page_alloc import drain_all_pages, shrink_lru
from allocator.mm.vmscan import kswapd_step
from allocator.sim.engine import do_alloc, do_free
from tests.conftest import make_box

CPUS = 3
MIX_LISTS = CPUS * 2  # page_fault1 keeps two lists per CPU


class AllocatorMachine(RuleBasedStateMachine):
    policy = "upstream"
    policy_knobs = st.just({})

    @initialize(
        high_fraction=st.sampled_from([0, 8, 1024]),
        kernel=st.sampled_from(["v6.6", "v6.7", "v6.16", "v7.0"]),
        mem=st.sampled_from([64 << 20, 256 << 20]),
        data=st.data(),
    )
    def start(self, high_fraction, kernel, mem, data):
        knobs = {
            "percpu_pagelist_high_fraction": high_fraction,
            **data.draw(self.policy_knobs),
        }
        self.box = make_box(cpus=CPUS, mem=mem, policy=self.policy, knobs=knobs, kernel=kernel)

    @rule(
        cpu=st.integers(0, CPUS - 1),
        order=st.sampled_from([0, 0, 0, 1, 2, 3, 9, 10]),
        mt=st.integers(0, 2),
        lst=st.integers(0, MIX_LISTS - 1),
        lru=st.booleans(),
        movable=st.booleans(),
        count=st.integers(1, 40),
    )
    def alloc(self, cpu, order, mt, lst, lru, movable, count):
        b = self.box
        gfp = GFP_DIRECT_RECLAIM | (GFP_LRU if lru else 0) | (GFP_MOVABLE_PAGE if movable else 0)
        for _ in range(count):
            b.tick()
            do_alloc(b.zs, b.pss, cpu, order, mt, gfp, lst, b.pol)

    @rule(
        cpu=st.integers(0, CPUS - 1),
        lst=st.integers(0, MIX_LISTS - 1),
        newest=st.booleans(),
        count=st.integers(1, 60),
    )
    def free(self, cpu, lst, newest, count):
        b = self.box
        for _ in range(count):
            b.tick()
            do_free(b.zs, b.pss, cpu, lst, newest, b.pol)

    @rule(cpu=st.integers(0, CPUS - 1))
    def drain_all(self, cpu):
        self.box.tick()
        drain_all_pages(self.box.zs, self.box.pss, cpu, self.box.pol)

    @rule(cpu=st.integers(0, CPUS), nr=st.integers(1, 64))
    def reclaim(self, cpu, nr):
        self.box.tick()
        shrink_lru(self.box.zs, self.box.pss, cpu, 0, nr, self.box.pol)

    @rule(cpu=st.integers(0, CPUS - 1))
    def decay(self, cpu):
        self.box.tick()
        self.box.pol.decay_pcp_high(self.box.z, self.box.ps, cpu)

    @rule()
    def kswapd(self):
        self.box.tick()
        kswapd_step(self.box.zs, self.box.pss, 0, self.box.pol)

    @invariant()
    def invariants_hold(self):
        if hasattr(self, "box"):
            errors = check_invariants(self.box.z)
            errors += self.box.policy.check_invariants(self.box.z, self.box.ps)
            assert errors == []


class PcpBuddyMachine(AllocatorMachine):
    """The same rules for the RFC policy, over its knobs; its own invariants (one owner per
    block, fragment blocks on exactly one list, owned pages on the owner's PCP) hold too."""

    policy = "pcp-buddy"
    policy_knobs = st.fixed_dictionaries(
        {
            "merge_mode": st.sampled_from([0, 1]),
            "owned_list_per_mt": st.sampled_from([0, 1]),
            "remote_free_trylock": st.sampled_from([0, 1]),
            "drain_all_disowns": st.sampled_from([0, 1]),
            "block_fit": st.sampled_from([0, 1]),
        }
    )


def test_state_machines_with_the_jit_off():
    """The same machines interpreted: Python's bounds checks catch an index the compiled
    kernels would silently run past."""
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        pytest.skip("already interpreted")
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__,
         "-k", "TestUpstreamAllocator or TestPcpBuddyAllocator"],
        env=env, capture_output=True, text=True, timeout=1200,
    )
    assert out.returncode == 0, out.stdout[-3000:]


# interpreted kernels are ~100x slower: fewer examples there, the same rules
SETTINGS = settings(
    max_examples=40 if JIT_ENABLED else 8, stateful_step_count=40, deadline=None
)
AllocatorMachine.TestCase.settings = SETTINGS
PcpBuddyMachine.TestCase.settings = SETTINGS
TestUpstreamAllocator = AllocatorMachine.TestCase
TestPcpBuddyAllocator = PcpBuddyMachine.TestCase
