"""The invariant oracle catches broken states (so the stateful test can fail)."""

from allocator.core.consts import GFP_LRU, LIST_LRU, MIGRATE_MOVABLE, NODE_ALLOC
from allocator.core.layout import PCP_COUNT, PG_NR_LRU, ZC_L_MIX0, ZC_NR_FREE_PAGES
from allocator.core.lists import list_add_tail
from allocator.mm.buddy import __rmqueue_smallest, add_to_free_list, pfn_node
from allocator.mm.invariants import check_invariants
from allocator.sim.engine import do_alloc, do_free

MOVABLE = MIGRATE_MOVABLE


def test_fresh_and_busy_states_are_clean(box):
    assert check_invariants(box.z) == []
    for i in range(100):
        box.tick()
        do_alloc(box.zs, box.pss, i % 2, i % 4, MOVABLE, 1, i % 4, box.pol)
    assert check_invariants(box.z) == []


def test_truncating_page_cache_keeps_the_lru_count(box):
    for i in range(50):
        box.tick()
        do_alloc(box.zs, box.pss, i % 2, 0, MOVABLE, GFP_LRU, LIST_LRU, box.pol)
    assert box.z.pgdat[0, PG_NR_LRU] == 50
    for i in range(20):  # truncation on the other CPU frees the oldest pages
        box.tick()
        assert do_free(box.zs, box.pss, (i + 1) % 2, LIST_LRU, False, box.pol)
    assert box.z.pgdat[0, PG_NR_LRU] == 30
    assert check_invariants(box.z) == []


def test_lost_page_is_reported(box):
    z = box.z
    pfn = __rmqueue_smallest(z, 0, MOVABLE)  # taken, but put on no list
    z.nstate[pfn_node(z, pfn, 0)] = NODE_ALLOC
    errors = check_invariants(z)
    assert any("pages are nowhere" in e for e in errors)
    assert any("on no list" in e for e in errors)


def test_unmerged_buddies_are_reported(box):
    z = box.z
    a = __rmqueue_smallest(z, 0, MOVABLE)
    b = __rmqueue_smallest(z, 0, MOVABLE)
    assert (a, b) == (0, 1)
    # put both back without merging, as a buggy free would
    add_to_free_list(z, pfn_node(z, a, 0), 0, MOVABLE, False)
    add_to_free_list(z, pfn_node(z, b, 0), 0, MOVABLE, False)
    assert any("not merged" in e for e in check_invariants(z))


def test_count_mismatch_is_reported(box):
    z = box.z
    box.tick()
    do_alloc(box.zs, box.pss, 0, 0, MOVABLE, 1, 0, box.pol)
    z.pcp[0, PCP_COUNT] += 1
    assert any("pcp[0].count" in e for e in check_invariants(z))
    z.pcp[0, PCP_COUNT] -= 1
    z.zc[ZC_NR_FREE_PAGES] -= 1
    assert any("NR_FREE_PAGES" in e for e in check_invariants(z))


def test_page_in_two_places_is_reported(box):
    z = box.z
    pfn = __rmqueue_smallest(z, 1, MOVABLE)  # an order-1 entry: pages 0 and 1
    node = pfn_node(z, pfn, 1)
    z.nstate[node] = NODE_ALLOC
    z.norder[node] = 1
    list_add_tail(z, z.zc[ZC_L_MIX0], node)
    assert check_invariants(z) == []
    add_to_free_list(z, pfn_node(z, pfn + 1, 0), 0, MOVABLE, False)  # page 1 freed too
    assert any("also elsewhere" in e for e in check_invariants(z))
