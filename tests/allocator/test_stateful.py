"""Random alloc / free / drain / reclaim / decay sequences keep every invariant (DESIGN.md 3.6).

A Hypothesis state machine drives the allocator's entry points on a 64 MiB, 3-CPU machine and
runs the pure-Python oracle (invariants.py) after every step. Frees come from any CPU's list,
so pages are often freed on a CPU other than the one that allocated them.
"""

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from allocator.consts import GFP_DIRECT_RECLAIM, GFP_LRU, GFP_MOVABLE_PAGE
from allocator.engine import do_alloc, do_free
from allocator.invariants import check_invariants
from allocator.page_alloc import drain_all_pages, shrink_lru
from allocator.vmscan import kswapd_step
from tests.conftest import make_box

CPUS = 3
MIX_LISTS = CPUS * 2  # page_fault1 keeps two lists per CPU


class AllocatorMachine(RuleBasedStateMachine):
    policy = "upstream"

    @initialize(
        high_fraction=st.sampled_from([0, 8, 1024]),
        drain_in_batches=st.sampled_from([0, 1]),
    )
    def start(self, high_fraction, drain_in_batches):
        self.box = make_box(
            cpus=CPUS,
            mem=64 << 20,
            policy=self.policy,
            knobs={
                "percpu_pagelist_high_fraction": high_fraction,
                "drain_in_batches": drain_in_batches,
            },
        )
        self.allocated = 0

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
            do_alloc(b.z, b.ps, cpu, order, mt, gfp, lst, b.pol)

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
            do_free(b.z, b.ps, cpu, lst, newest, b.pol)

    @rule(cpu=st.integers(0, CPUS - 1))
    def drain_all(self, cpu):
        self.box.tick()
        drain_all_pages(self.box.z, self.box.ps, cpu, self.box.pol)

    @rule(cpu=st.integers(0, CPUS), nr=st.integers(1, 64))
    def reclaim(self, cpu, nr):
        self.box.tick()
        shrink_lru(self.box.z, self.box.ps, cpu, nr, self.box.pol)

    @rule(cpu=st.integers(0, CPUS - 1))
    def decay(self, cpu):
        self.box.tick()
        self.box.pol.decay_pcp_high(self.box.z, self.box.ps, cpu)

    @rule()
    def kswapd(self):
        self.box.tick()
        kswapd_step(self.box.z, self.box.ps, self.box.pol)

    @invariant()
    def invariants_hold(self):
        if hasattr(self, "box"):
            errors = check_invariants(self.box.z)
            errors += self.box.policy.check_invariants(self.box.z, self.box.ps)
            assert errors == []


AllocatorMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=40, deadline=None
)
TestUpstreamAllocator = AllocatorMachine.TestCase
