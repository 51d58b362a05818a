"""Kernel history (params/history.py): each commit switch changes the mechanism it names, on a
1 GiB, 4-CPU zone (batch 63, high_min 1760, high_max 8192 at v7.0); presets compose; bad
kernels, commits and reverts are refused."""

import pytest

from allocator import Spec, SpecError, simulate
from allocator.core.consts import (
    MIGRATE_MOVABLE,
    MIGRATE_UNMOVABLE,
    NODE_ALLOC,
    PCPF_FREE_HIGH_BATCH,
    PCPF_PREV_FREE_HIGH_ORDER,
    ZONE_BELOW_HIGH,
    ZONE_RECLAIM_ACTIVE,
)
from allocator.core.layout import (
    EV_PCP_DRAIN,
    PCP_ALLOC_FACTOR,
    PCP_COUNT,
    PCP_FLAGS,
    PCP_FREE_COUNT,
    PCP_HIGH,
    PCP_HIGH_MAX,
    PCP_HIGH_MIN,
    ZC_FLAGS,
)
from allocator.mm.locks import pcp_lock_id, spin_trylock
from allocator.mm.pcp import (
    decay_chunks,
    decay_high,
    free_pcp_chunked,
    nr_pcp_alloc,
    nr_pcp_free,
    nr_pcp_high,
    pcp_allowed_order,
    pcp_free_accounting,
    pcp_high_may_grow,
    pcp_list,
)
from allocator.params.costs import C_PCP_LOCK
from allocator.params.history import (
    COMMITS,
    KERNELS,
    commits_in,
    later_than,
    needed_by,
    switch_values,
)
from allocator.policies.upstream import free_frozen_page_commit
from tests.conftest import make_box

BATCH = 63
# v6.7 less the auto-tuning proper: the state of the series after patch 5 (the kbuild step
# table's "patch5" row)
V67_PATCH5 = ("51a755c56dc0", "57c0419c5f0e", "6ccdcb6d3a74")


def box(kernel="v7.0", reverts=(), cpus=4):
    return make_box(cpus=cpus, mem=1 << 30, kernel=kernel, reverts=tuple(reverts))


def test_v7_0_is_every_commit_and_the_default():
    assert Spec(cpus=2, mem_bytes=64 << 20).kernel == "v7.0"
    assert set(switch_values("v7.0").values()) == {1}
    assert "kernel" not in Spec(cpus=2, mem_bytes=64 << 20).to_flat()  # identities stay


@pytest.mark.parametrize("kernel", KERNELS)
def test_presets_compose(kernel):
    """Each release is v7.0 with the later commits reverted."""
    assert switch_values(kernel) == switch_values("v7.0", later_than(kernel))
    assert commits_in(kernel) == commits_in("v7.0", later_than(kernel))


def test_v6_6_runs_as_v7_0_with_the_later_commits_reverted():
    base = dict(cpus=3, mem_bytes=128 << 20, mix="page_fault1", seed=3, duration_ns=30_000_000)
    old = simulate(Spec(**base, kernel="v6.6"))
    reverted = simulate(Spec(**base, reverts=later_than("v6.6")))
    new = simulate(Spec(**base))
    assert dict(old) == dict(reverted)
    assert dict(old) != dict(new)


def test_unknown_kernel_commit_and_unowned_revert_are_refused():
    with pytest.raises(SpecError, match="unknown kernel 'v6.8'; known kernels: v6.6"):
        Spec(cpus=2, mem_bytes=64 << 20, kernel="v6.8")
    with pytest.raises(SpecError, match="unknown commit 'deadbeef0000'.*51a755c56dc0"):
        Spec(cpus=2, mem_bytes=64 << 20, reverts=("deadbeef0000",))
    with pytest.raises(SpecError, match="v6.6 does not have it"):
        Spec(cpus=2, mem_bytes=64 << 20, kernel="v6.6", reverts=("51a755c56dc0",))
    with pytest.raises(SpecError, match="is commit 6ccdcb6d3a74.*not a knob"):
        Spec(cpus=2, mem_bytes=64 << 20, knobs={"free_count": 0})
    with pytest.raises(SpecError, match="needs commit 52166607ecc9"):
        Spec(cpus=2, mem_bytes=64 << 20, kernel="v6.6", knobs={"pcp_batch_scale_max": 3})


def test_a_revert_that_later_code_builds_on_is_refused_naming_it():
    assert set(needed_by("51a755c56dc0")) == {"57c0419c5f0e", "6ccdcb6d3a74", "c544a952ba61",
                                               "9adeb58feed4"}
    with pytest.raises(SpecError, match="57c0419c5f0e, 6ccdcb6d3a74, c544a952ba61, "
                       "9adeb58feed4 build on it"):
        Spec(cpus=2, mem_bytes=64 << 20, reverts=("51a755c56dc0",))
    # within v6.7 the same revert needs only the commits v6.7 has
    Spec(cpus=2, mem_bytes=64 << 20, kernel="v6.7", reverts=V67_PATCH5)


def test_reverts_are_spelt_once_in_history_order():
    spec = Spec.from_flat({"cpus": 2, "mem": "64MiB", "kernel": "v6.7",
                           "revert": "6ccdcb6d3a74 51a755c56dc0,57C0419C5F0E,6ccdcb6d3a74"})
    assert spec.to_flat()["revert"] == "51a755c56dc0,57c0419c5f0e,6ccdcb6d3a74"
    assert Spec.from_flat(spec.to_flat()) == spec


def test_every_commit_is_cited():
    for c in COMMITS:
        assert len(c.id) == 12 and int(c.id, 16) >= 0
        assert c.subject and c.version.startswith("v") and c.source and c.mechanism


# --- one test per switch: the mechanism it names ---------------------------------------------


def test_d8a759b57035_batch_doubles_from_31_to_63():
    assert box("v6.6").machine.batch == BATCH
    m = box("v6.6", ["d8a759b57035"]).machine
    assert m.batch == 31
    # v4.18 as far as the switches go: 6 * 31 pages of high
    m = box("v6.6", ["d8a759b57035", "b92ca18e8ca5"]).machine
    assert (m.batch, m.high_min, m.high_max) == (31, 186, 186)


def test_44042b449872_high_orders_on_the_pcp():
    assert pcp_allowed_order(box().z, 3) and pcp_allowed_order(box().z, 9)
    z = box("v6.6", ["44042b449872"]).z
    assert pcp_allowed_order(z, 0) and not pcp_allowed_order(z, 1)
    assert not pcp_allowed_order(z, 9)


def test_b92ca18e8ca5_high_from_the_zone_not_six_batches():
    assert box("v6.6").machine.high_min == 1760
    m = box("v6.6", ["b92ca18e8ca5"]).machine
    assert m.high_min == m.high_max == 6 * BATCH


def test_3b12e7e97938_drains_grow_with_free_factor():
    z = box("v6.6").z
    high = z.pcp[0, PCP_HIGH]
    freed = [nr_pcp_free(z, 0, BATCH, high, False) for _ in range(4)]
    assert freed == [BATCH, 2 * BATCH, 4 * BATCH, 8 * BATCH]
    assert z.pcp[0, PCP_FREE_COUNT] == 4  # the slot holds free_factor
    z = box("v6.6", ["3b12e7e97938"]).z
    assert [nr_pcp_free(z, 0, BATCH, high, False) for _ in range(4)] == [BATCH] * 4


def test_c49c2c47dab6_reclaim_limits_the_pcp():
    z = box("v6.6").z
    z.zc[ZC_FLAGS] |= ZONE_RECLAIM_ACTIVE
    assert nr_pcp_high(z, 0, BATCH, False) == 4 * BATCH
    z = box("v6.6", ["c49c2c47dab6"]).z
    z.zc[ZC_FLAGS] |= ZONE_RECLAIM_ACTIVE
    assert nr_pcp_high(z, 0, BATCH, False) == 1760


def _high_order_free_after_order0(z, count):
    """An order-1 free whose previous free was order 0, free_count (or free_factor) high."""
    z.pcp[0, PCP_FLAGS] &= ~PCPF_PREV_FREE_HIGH_ORDER
    z.pcp[0, PCP_FREE_COUNT] = 4 * BATCH
    z.pcp[0, PCP_COUNT] = count
    return pcp_free_accounting(z, 0, 1)


def test_ca71fe1ad922_free_high_needs_two_high_order_frees():
    assert not _high_order_free_after_order0(box("v6.7").z, 4 * BATCH)
    z = box("v6.7", ["ca71fe1ad922"]).z
    assert _high_order_free_after_order0(z, 4 * BATCH)


def test_362d37a106dd_free_high_keeps_a_batch_with_a_large_llc_share():
    z = box("v6.7").z
    assert z.pcp[0, PCP_FLAGS] & PCPF_FREE_HIGH_BATCH
    z.pcp[0, PCP_FLAGS] |= PCPF_PREV_FREE_HIGH_ORDER
    z.pcp[0, PCP_FREE_COUNT] = 4 * BATCH
    z.pcp[0, PCP_COUNT] = BATCH - 2
    assert not pcp_free_accounting(z, 0, 1)
    z = box("v6.7", ["362d37a106dd"]).z
    z.pcp[0, PCP_FLAGS] |= PCPF_PREV_FREE_HIGH_ORDER
    z.pcp[0, PCP_FREE_COUNT] = 4 * BATCH
    z.pcp[0, PCP_COUNT] = BATCH - 2
    assert pcp_free_accounting(z, 0, 1)


def test_52166607ecc9_caps_free_factor():
    def factor_after(z):
        for _ in range(12):
            nr_pcp_free(z, 0, 1, 1 << 20, False)
        return z.pcp[0, PCP_FREE_COUNT]

    assert factor_after(box("v6.7", V67_PATCH5).z) == 5  # CONFIG_PCP_BATCH_SCALE_MAX
    reverted = V67_PATCH5 + ("90b41691b988", "c0a242394cb9", "52166607ecc9")
    assert factor_after(box("v6.7", reverted).z) == 12


def test_c0a242394cb9_refills_scale_with_alloc_factor():
    z = box("v6.7", V67_PATCH5).z
    assert [nr_pcp_alloc(z, 0, 0) for _ in range(3)] == [BATCH, 2 * BATCH, 4 * BATCH]
    assert z.pcp[0, PCP_ALLOC_FACTOR] == 3
    assert nr_pcp_alloc(z, 0, 2) == BATCH >> 2
    z = box("v6.6").z
    assert [nr_pcp_alloc(z, 0, 0) for _ in range(3)] == [BATCH] * 3
    assert nr_pcp_alloc(z, 0, 3) == BATCH >> 3
    assert z.pcp[0, PCP_ALLOC_FACTOR] == 0


def test_90b41691b988_the_framework_alone_changes_nothing():
    base = dict(cpus=3, mem_bytes=128 << 20, mix="kbuild", seed=5, duration_ns=30_000_000,
                kernel="v6.7")
    without = simulate(Spec(**base, reverts=V67_PATCH5))
    also = simulate(Spec(**base, reverts=V67_PATCH5 + ("90b41691b988",)))
    assert dict(without) == dict(also)
    with pytest.raises(SpecError, match="51a755c56dc0.*build"):
        Spec(cpus=2, mem_bytes=64 << 20, kernel="v6.7", reverts=("90b41691b988",))


def test_51a755c56dc0_high_tunes_between_bounds_and_decays():
    b = box("v6.7")
    assert (b.machine.high_min, b.machine.high_max) == (1760, 8192)
    b.z.pcp[0, PCP_HIGH] = 4000
    b.z.pcp[0, PCP_COUNT] = 3000
    assert decay_high(b.z, 0) == 3000 - 3500 and b.z.pcp[0, PCP_HIGH] == 4000 - 4000 // 8
    b = box("v6.7", V67_PATCH5)
    assert b.machine.high_min == b.machine.high_max == 1760
    b.z.pcp[0, PCP_COUNT] = 3000
    assert decay_high(b.z, 0) == 0 and b.z.pcp[0, PCP_HIGH] == 1760


def test_57c0419c5f0e_below_the_high_mark_stops_growth():
    z = box("v6.7").z
    z.zc[ZC_FLAGS] |= ZONE_BELOW_HIGH
    assert not pcp_high_may_grow(z, 0)
    z = box("v6.7", ["57c0419c5f0e"]).z
    z.zc[ZC_FLAGS] |= ZONE_BELOW_HIGH
    assert pcp_high_may_grow(z, 0)  # before it only reclaim stopped growth
    z.zc[ZC_FLAGS] |= ZONE_RECLAIM_ACTIVE
    assert not pcp_high_may_grow(z, 0)


def test_6ccdcb6d3a74_free_count_counts_pages_freed():
    z = box("v6.7").z
    pcp_free_accounting(z, 0, 2)
    assert z.pcp[0, PCP_FREE_COUNT] == 4
    z = box("v6.7", ["6ccdcb6d3a74"]).z
    pcp_free_accounting(z, 0, 2)
    assert z.pcp[0, PCP_FREE_COUNT] == 0  # free_factor grows in nr_pcp_free() instead


def test_c544a952ba61_free_high_threshold_adds_half_high_min():
    def fires(z):
        z.pcp[0, PCP_FLAGS] |= PCPF_PREV_FREE_HIGH_ORDER
        z.pcp[0, PCP_FREE_COUNT] = BATCH
        z.pcp[0, PCP_COUNT] = 4 * BATCH
        return pcp_free_accounting(z, 0, 1)

    assert not fires(box("v6.16").z)  # needs 63 + 1760 / 2
    assert fires(box("v6.16", ["c544a952ba61"]).z)
    assert fires(box("v6.15").z)


def test_9adeb58feed4_decay_frees_in_batches():
    assert decay_chunks(box().z, 0, 1000) == BATCH
    assert decay_chunks(box(reverts=["9adeb58feed4"]).z, 0, 1000) == 1000


def test_c5ce37dd3564_drains_in_batch_sized_zone_lock_holds():
    def drains(reverts):
        b = box(reverts=reverts)
        z = b.z
        z.pcp[1, PCP_HIGH_MIN] = z.pcp[1, PCP_HIGH_MAX] = z.pcp[1, PCP_HIGH] = 1 << 20
        for _ in range(6 * BATCH):  # CPU 0 allocates, CPU 1 frees: CPU 1's PCP fills
            b.tick()
            node = b.pol.rmqueue_pcplist(z, b.ps, 0, 0, MIGRATE_MOVABLE)
            z.nstate[node] = NODE_ALLOC
            b.tick()
            free_frozen_page_commit(z, 1, 1, node, 0, MIGRATE_MOVABLE)
        assert z.pcp[1, PCP_COUNT] >= 5 * BATCH
        before = z.ev[EV_PCP_DRAIN]
        assert spin_trylock(z, pcp_lock_id(1), 1, z.cost[C_PCP_LOCK])
        assert free_pcp_chunked(z, 1, 1, 5 * BATCH, 0)
        return z.ev[EV_PCP_DRAIN] - before

    assert drains(()) == 5
    assert drains(["c5ce37dd3564"]) == 1



def _fallback_choice(reverts):
    """Every page allocated, then two UNMOVABLE blocks given back: 128 aligned pages of block
    A (one order-7 buddy) and one page of block B. A MOVABLE order-0 request must fall back
    to UNMOVABLE; order 7 may try a claim (>= pageblock_order / 2) but A is an eighth free
    and holds nothing movable, so the claim fails. Returns the block the page came from."""
    from allocator.mm.buddy import __free_one_page, __rmqueue, __rmqueue_smallest

    z = make_box(cpus=2, mem=64 << 20, kernel="v6.15", reverts=tuple(reverts)).z
    pfns = []
    while (pfn := __rmqueue_smallest(z, 0, MIGRATE_MOVABLE)) >= 0:
        pfns.append(pfn)
    a, b = 3, 7  # two pageblocks
    z.pb_mt[a] = z.pb_mt[b] = MIGRATE_UNMOVABLE
    for pfn in range(a << 9, (a << 9) + 128):
        __free_one_page(z, pfn, 0, MIGRATE_UNMOVABLE, False)
    __free_one_page(z, (b << 9) + 5, 0, MIGRATE_UNMOVABLE, False)
    assert z.nr_free[7, MIGRATE_UNMOVABLE] == 1 and z.nr_free[0, MIGRATE_UNMOVABLE] == 1
    pfn, _ = __rmqueue(z, 0, MIGRATE_MOVABLE, 0)
    assert int(z.pb_mt[pfn >> 9]) == MIGRATE_UNMOVABLE  # stolen, not claimed
    return pfn >> 9


def test_c2f6ea38fc1b_no_single_page_from_the_biggest_buddy():
    assert _fallback_choice(()) == 7  # the smallest fallback buddy
    assert _fallback_choice(("c2f6ea38fc1b", "90abee6d7895")) == 3  # split the largest


def test_90abee6d7895_refills_keep_the_rmqueue_mode():
    """A refill that had to steal steals on: with the mode kept, later pages of the same
    rmqueue_bulk() skip the claim search (no further watermark boosts)."""
    from allocator.core.layout import EV_BOOST
    from allocator.mm.buddy import __free_one_page, __rmqueue_smallest
    from allocator.mm.pcp import rmqueue_bulk

    def boosts(reverts):
        z = make_box(cpus=2, mem=64 << 20, kernel="v6.15", reverts=tuple(reverts)).z
        while __rmqueue_smallest(z, 0, MIGRATE_MOVABLE) >= 0:
            pass
        z.pb_mt[3] = z.pb_mt[7] = MIGRATE_UNMOVABLE
        for pfn in range(3 << 9, (3 << 9) + 128):
            __free_one_page(z, pfn, 0, MIGRATE_UNMOVABLE, False)
        for i in range(8):
            __free_one_page(z, (7 << 9) + 2 * i, 0, MIGRATE_UNMOVABLE, False)
        before = z.ev[EV_BOOST]
        rmqueue_bulk(z, 0, 0, 6, pcp_list(z, 0, 1), MIGRATE_MOVABLE)
        return z.ev[EV_BOOST] - before

    assert boosts(()) == 1
    assert boosts(("90abee6d7895",)) == 6


def test_ca71fe1ad922_exits_no_longer_drain_on_the_pgd_free():
    """kbuild's exits free data pages, then the order-1 PGD: before ca71fe1ad922 that one
    high-order free after a run of frees drained the PCP (free_high); with it, never."""
    base = dict(cpus=4, mem_bytes=1 << 30, mix="kbuild", seed=2, duration_ns=3_000_000_000)
    before = simulate(Spec(**base, kernel="v6.6"))
    after = simulate(Spec(**base, kernel="v6.7", reverts=SERIES_AFTER_PATCH1))
    assert before["pcp_free_high_drains"] > 0 == after["pcp_free_high_drains"]


SERIES_AFTER_PATCH1 = ("362d37a106dd", "52166607ecc9", "c0a242394cb9", "90b41691b988",
                       "51a755c56dc0", "57c0419c5f0e", "6ccdcb6d3a74")


def test_3b12e7e97938_reproduces_mel_gormans_unmap_trace():
    """published-results.md row 31 (Q17), a debugging trace of an unmap: before the series,
    `free 63 ... high 378`; with it, at high 814, drains of 126 -> 252 -> 504 -> 751 pages
    ("patterns like" it: the first drain of 63 is before the excerpt's lines)."""
    z = make_box(cpus=4, mem=1 << 30, kernel="v6.6", knobs={"pcp_high": 814}).z
    assert z.pcp[0, PCP_HIGH] == 814
    assert [nr_pcp_free(z, 0, BATCH, 814, False) for _ in range(6)] == [
        63, 126, 252, 504, 751, 751]
    b = make_box(cpus=4, mem=1 << 30, kernel="v6.6", reverts=("b92ca18e8ca5", "3b12e7e97938"))
    high = b.z.pcp[0, PCP_HIGH]
    assert high == b.machine.high_max == 378
    assert [nr_pcp_free(b.z, 0, BATCH, high, False) for _ in range(3)] == [63, 63, 63]
