"""The upstream PCP's sizing on hand-built situations (nr_pcp_alloc, nr_pcp_high,
nr_pcp_free, free_high, decay_pcp_high), on a 1 GiB, 4-CPU machine: batch 63, high_min 1760,
high_max 8192 (see test_machine.py)."""

from allocator.core.consts import MIGRATE_MOVABLE, NODE_ALLOC, ZONE_BELOW_HIGH
from allocator.core.layout import (
    EV_PCP_DRAIN,
    EV_PCP_REFILL_PAGES,
    PCP_ALLOC_FACTOR,
    PCP_COUNT,
    PCP_FREE_COUNT,
    PCP_HIGH,
    ZC_FLAGS,
)
from allocator.mm.buddy import node_pfn
from tests.conftest import make_box

MOVABLE = MIGRATE_MOVABLE


def machine():
    b = make_box(cpus=4, mem=1 << 30)
    assert (b.machine.batch, b.machine.high_min, b.machine.high_max) == (63, 1760, 8192)
    return b


def alloc(b, cpu, order=0):
    b.tick()
    node = b.pol.rmqueue_pcplist(b.z, b.ps, cpu, order, MOVABLE)
    assert node >= 0
    b.z.nstate[node] = NODE_ALLOC
    return node


def free(b, cpu, node, order=0):
    b.tick()
    b.pol.free_pcp(b.z, b.ps, cpu, node_pfn(b.z, node), order)


def test_refills_grow_while_only_allocating():
    b = machine()
    z = b.z
    alloc(b, 0)
    # nr_pcp_alloc: batch << alloc_factor(0) = 63 pages; high grows by that batch
    assert z.ev[EV_PCP_REFILL_PAGES] == 63
    assert z.pcp[0, PCP_COUNT] == 62
    assert z.pcp[0, PCP_ALLOC_FACTOR] == 1
    assert z.pcp[0, PCP_HIGH] == 1760 + 63
    for _ in range(62):
        alloc(b, 0)
    alloc(b, 0)  # the list ran dry: the second refill doubles
    assert z.ev[EV_PCP_REFILL_PAGES] == 63 + 126
    assert z.pcp[0, PCP_ALLOC_FACTOR] == 2


def test_a_free_halves_alloc_factor_and_counts_frees():
    b = machine()
    z = b.z
    nodes = [alloc(b, 1) for _ in range(200)]
    factor = z.pcp[1, PCP_ALLOC_FACTOR]
    free(b, 1, nodes.pop())
    assert z.pcp[1, PCP_ALLOC_FACTOR] == factor >> 1
    assert z.pcp[1, PCP_FREE_COUNT] == 1


def test_steady_frees_raise_high_then_drain_in_batches():
    b = machine()
    z = b.z
    nodes = [alloc(b, 0) for _ in range(6000)]  # allocated on CPU 0 ...
    assert z.pcp[1, PCP_HIGH] == 1760
    drains = z.ev[EV_PCP_DRAIN]
    for node in nodes:
        free(b, 1, node)  # ... freed on CPU 1, whose PCP only ever frees
    # count reached high: nr_pcp_high() raised CPU 1's high to free_count + batch (capped
    # at high_max) and the frees drained in free_pcppages_bulk calls
    assert z.pcp[1, PCP_HIGH] > 1760
    assert z.pcp[1, PCP_HIGH] <= 8192
    assert z.ev[EV_PCP_DRAIN] > drains
    assert z.pcp[1, PCP_COUNT] < z.pcp[1, PCP_HIGH]


def test_free_high_drains_a_run_of_high_order_frees():
    b = machine()
    z = b.z
    nodes = [alloc(b, 2, order=3) for _ in range(300)]
    drains = z.ev[EV_PCP_DRAIN]
    for node in nodes:
        free(b, 2, node, order=3)
    # free_count passes batch + high_min / 2 = 943 after ~118 order-3 frees, with the
    # previous free high-order too: free_high drains the PCP though count < high
    assert z.ev[EV_PCP_DRAIN] > drains
    assert z.pcp[2, PCP_COUNT] < 300 * 8


def test_decay_lowers_high_by_an_eighth_and_drains_the_rest():
    b = machine()
    z = b.z
    nodes = [alloc(b, 3) for _ in range(6000)]
    for node in nodes:
        free(b, 3, node)
    high = int(z.pcp[3, PCP_HIGH])
    count = int(z.pcp[3, PCP_COUNT])
    b.pol.decay_pcp_high(z, b.ps, 3)
    expected = max(count - (63 << 5), high - (high >> 3), 1760)
    assert z.pcp[3, PCP_HIGH] == expected
    assert z.pcp[3, PCP_COUNT] <= expected


def test_below_high_watermark_shrinks_high():
    b = machine()
    z = b.z
    nodes = [alloc(b, 0) for _ in range(4000)]
    for node in nodes[:3000]:
        free(b, 0, node)
    high = int(z.pcp[0, PCP_HIGH])
    z.zc[ZC_FLAGS] |= ZONE_BELOW_HIGH
    free(b, 0, nodes[3000])
    # ZONE_BELOW_HIGH: high drops by max(free_count, batch), not below high_min
    assert z.pcp[0, PCP_HIGH] < high
    assert z.pcp[0, PCP_HIGH] >= 1760
