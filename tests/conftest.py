"""Shared helpers: small machines whose state the tests drive through the kernels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from allocator import Spec
from allocator.core.consts import MIGRATE_MOVABLE, NODE_ALLOC
from allocator.core.layout import E_GMIN, E_NOW
from allocator.mm.buddy import node_pfn
from allocator.sim.simulate import setup


@dataclass
class Box:
    """A machine at time 0: the zones and their policy states, the policy's hooks, the mix
    state. `z` and `ps` are the first zone's (the only one unless knob.symmetric_nodes = 0)."""

    zs: Any
    pss: Any
    pol: Any
    ms: Any
    machine: Any
    policy: Any

    @property
    def z(self) -> Any:
        return self.zs[0]

    @property
    def ps(self) -> Any:
        return self.pss[0]

    def tick(self, ns: int = 100) -> None:
        """Advance time: the running CPU's cursor, and with it the earliest clock that lets
        locks forget sections in the past."""
        self.z.eng[E_NOW] += ns
        self.z.eng[E_GMIN] = self.z.eng[E_NOW]


def make_box(cpus: int = 2, mem: int = 64 << 20, mix: str = "page_fault1", zones: str = "normal",
             **kw: Any) -> Box:
    """The unit tests' machine: one ZONE_NORMAL holding all of `mem` (zones = "normal"), so
    the sizes the tests derive by hand stay those of one zone; the x86-64 layout's own
    arithmetic is pinned in test_machine.py and test_describe_table.py."""
    zs, pss, ms, policy, _mix, machine = setup(
        Spec(cpus=cpus, mem_bytes=mem, mix=mix, zones=zones, **kw))
    return Box(zs=zs, pss=pss, pol=policy.hooks, ms=ms, machine=machine, policy=policy)


def alloc_page(b: Box, cpu: int, order: int = 0) -> int:
    """A MOVABLE allocation through the policy's PCP on `cpu`, a moment later; its pfn."""
    b.tick()
    node = b.pol.rmqueue_pcplist(b.z, b.ps, cpu, order, MIGRATE_MOVABLE)
    assert node >= 0
    b.z.nstate[node] = NODE_ALLOC
    return node_pfn(b.z, node)


def free_page(b: Box, cpu: int, pfn: int, order: int = 0) -> None:
    """Free `pfn` through the policy's free path on `cpu`, a moment later."""
    b.tick()
    b.pol.free_pcp(b.z, b.ps, cpu, pfn, order)


@pytest.fixture
def box() -> Box:
    return make_box()
