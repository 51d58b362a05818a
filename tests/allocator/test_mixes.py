"""Each mix's generated stream, measured from the run's own kmem events against its parameters:
order histogram, share of frees on a CPU other than the allocating one, lifetimes, footprint."""

from collections import Counter
from statistics import median

import numpy as np
import pytest

from allocator import Spec, SpecError, simulate
from allocator.core.consts import GFP_LRU, MIGRATE_MOVABLE
from allocator.core.layout import (
    T_ARG,
    T_CPU,
    T_EVENT,
    T_MT,
    T_ORDER,
    T_PFN,
    T_TIME,
    TR_ALLOC,
    TR_FREE,
)


def stream(mix, cpus=8, mem=1 << 30, duration_ms=40, **params):
    r = simulate(
        Spec(cpus=cpus, mem_bytes=mem, mix=mix, seed=5, duration_ns=duration_ms * 1_000_000,
             mix_params=params),
        trace_events=2_000_000,
    )
    assert r.trace_lost == 0
    allocs = r.trace[(r.trace[:, T_EVENT] == TR_ALLOC) & (r.trace[:, T_PFN] >= 0)]
    frees = r.trace[r.trace[:, T_EVENT] == TR_FREE]
    born = {}
    pairs = []  # (alloc cpu, free cpu, lifetime ns, order)
    for row in r.trace:
        if row[T_EVENT] == TR_ALLOC and row[T_PFN] >= 0:
            born[row[T_PFN]] = (row[T_CPU], row[T_TIME], row[T_ORDER])
        elif row[T_EVENT] == TR_FREE and row[T_PFN] in born:
            cpu, t, order = born.pop(row[T_PFN])
            pairs.append((cpu, row[T_CPU], row[T_TIME] - t, order))
    return r, allocs, frees, pairs


def remote_share(pairs):
    return sum(a != f for a, f, _, _ in pairs) / len(pairs)


def test_page_fault1_orders_and_footprint():
    r, allocs, frees, pairs = stream("page_fault1", map_bytes="4MiB", duration_ms=20)
    orders = Counter(allocs[:, T_ORDER].tolist())
    assert set(orders) == {0}
    # one PTE page per 512 faults: 1024 pages per mapping, 2 of them page tables
    data = sum(1 for row in allocs if row[T_ORDER] == 0)
    assert data > 5000
    assert remote_share(pairs) == 0
    # no CPU ever holds more than its mapping (1024 pages) plus its 2 page tables
    outstanding = Counter()
    peak = 0
    for row in r.trace:
        if row[T_EVENT] == TR_ALLOC and row[T_PFN] >= 0:
            outstanding[row[T_CPU]] += 1
            peak = max(peak, outstanding[row[T_CPU]])
        elif row[T_EVENT] == TR_FREE:
            outstanding[row[T_CPU]] -= 1
    assert peak <= 1024 + 2


def test_page_fault1_tasks_run_on_the_first_cpus_and_the_rest_idle():
    r, allocs, _, _ = stream("page_fault1", map_bytes="4MiB", duration_ms=20, tasks=3)
    assert set(allocs[:, T_CPU].tolist()) == {0, 1, 2}
    full = simulate(Spec(cpus=8, mem_bytes=1 << 30, mix="page_fault1", seed=5,
                         duration_ns=20_000_000, mix_params={"map_bytes": "4MiB"}))
    # three busy CPUs of eight: kernel time outside the allocator is theirs only
    busy = 3 / 8
    assert r["kernel_sys_frac"] <= busy + 1e-9 < full["kernel_sys_frac"]
    assert 0.25 < r["throughput_ops_per_s"] / full["throughput_ops_per_s"] < 0.5


def test_page_fault1_tasks_must_fit_the_machine_and_split_over_nodes():
    with pytest.raises(SpecError, match="tasks must be at most the machine's 8 CPUs"):
        Spec(cpus=8, mem_bytes=1 << 30, mix="page_fault1", mix_params={"tasks": 9})
    with pytest.raises(SpecError, match=r"tasks must be a multiple of nodes \(2\)"):
        Spec(cpus=8, mem_bytes=1 << 30, nodes=2, mix="page_fault1", mix_params={"tasks": 3})
    Spec(cpus=8, mem_bytes=1 << 30, nodes=2, mix="page_fault1", mix_params={"tasks": 4})


def test_page_fault2_brings_each_file_page_in_once_and_frees_only_the_copies():
    r, allocs, frees, pairs = stream("page_fault2", cpus=4, map_bytes="4MiB", duration_ms=30,
                                     tasks=3)
    assert set(allocs[:, T_ORDER].tolist()) == {0}
    assert set(allocs[:, T_CPU].tolist()) == {0, 1, 2}
    file = allocs[(allocs[:, T_ARG] & GFP_LRU) != 0]
    # each task's 1024-page file comes into the page cache once, never freed by the loop
    assert Counter(file[:, T_CPU].tolist()) == {0: 1024, 1: 1024, 2: 1024}
    assert r["lru_pages_peak"] == 3 * 1024
    live_file = set()
    for row in r.trace:
        if row[T_EVENT] == TR_ALLOC and row[T_PFN] >= 0 and row[T_ARG] & GFP_LRU:
            live_file.add(row[T_PFN])
        elif row[T_EVENT] == TR_FREE:
            assert row[T_PFN] not in live_file
    assert len(live_file) == 3 * 1024
    # the copies cycle as page_fault1's pages do: several whole mappings per task, freed
    # by the CPU that faulted them
    copies = len(allocs) - len(file)
    assert copies > 3 * 3 * 1024
    assert remote_share(pairs) == 0
    # a file page's fault is followed by its copy on the same CPU: the copies of the first
    # pass interleave with the file pages one for one
    first = [row for row in allocs if row[T_CPU] == 0][:200]
    kinds = [bool(row[T_ARG] & GFP_LRU) for row in first if row[T_MT] == MIGRATE_MOVABLE]
    assert all(kinds[i] != kinds[i + 1] for i in range(len(kinds) - 1))


def test_kbuild_orders_and_local_frees():
    _, allocs, _, pairs = stream("kbuild", duration_ms=40, slab_frac=0.05)
    orders = Counter(allocs[:, T_ORDER].tolist())
    high = sum(orders[o] for o in (1, 2, 3))
    share = high / sum(orders.values())
    # slab steps (5%) allocate order 1-3 (at most half of them, the others free the oldest
    # once 64 are kept), plus the order-1 PGD of each job
    assert 0.005 < share < 0.06
    assert orders[0] / sum(orders.values()) > 0.9
    assert remote_share(pairs) == 0  # a build frees on the CPU that allocated


def test_kbuild_tree_bounds_the_page_cache_by_truncating_the_oldest():
    tree = 2048  # pages: 8 MiB, filled in a few ms by 8 CPUs writing 30% of their steps
    r, _, _, pairs = stream("kbuild", duration_ms=40, file_frac=0.3, tree_bytes=tree * 4096)
    assert tree <= r["lru_pages_peak"] <= tree + 8  # full, and at most one write per CPU over
    # a rewrite frees, on the writing CPU, pages any CPU wrote: the only remote frees of a build
    assert remote_share(pairs) > 0.3
    unbounded, _, _, pairs = stream("kbuild", duration_ms=40, file_frac=0.3, tree_bytes=0)
    assert unbounded["lru_pages_peak"] > 3 * tree
    assert remote_share(pairs) == 0


@pytest.mark.parametrize("purgers", [1, 2])
def test_purge_frees_everything_on_the_purger_cpus(purgers):
    r, allocs, frees, pairs = stream(
        "purge", cpus=8, mem=256 << 20, duration_ms=40, purger_cpus=purgers,
        arena_dirty_bytes="512KiB",
    )
    assert set(np.unique(allocs[:, T_CPU])) == set(range(purgers, 8))
    assert set(np.unique(frees[:, T_CPU])) == set(range(purgers))
    assert len(pairs) > 1000
    assert remote_share(pairs) == 1.0
    # purgers keep each arena near 512 KiB of dirty pages: every arena got past it
    target = (512 << 10) // 4096
    live = Counter(allocs[:, T_CPU].tolist())
    for cpu, n in Counter(frees[:, T_CPU].tolist()).items():
        assert n > 0 and cpu < purgers
    assert all(live[w] > target for w in range(purgers, 8))


def test_purge_footprint_is_bounded_and_workers_fault_what_purgers_free():
    """Each arena holds at most its dirty cap plus refault_bytes: workers fault only what the
    purgers gave back, so allocations and frees run at the same rate once the arenas are full,
    whatever the number of workers per purger."""
    r, allocs, frees, _ = stream("purge", cpus=16, mem=1 << 30, duration_ms=60, purger_cpus=1,
                                 arena_dirty_bytes="512KiB", refault_bytes="256KiB")
    limit = (768 << 10) // 4096
    outstanding = Counter()
    peak = 0
    born = {}
    for row in r.trace:
        if row[T_EVENT] == TR_ALLOC and row[T_PFN] >= 0:
            born[row[T_PFN]] = row[T_CPU]
            outstanding[row[T_CPU]] += 1
            peak = max(peak, outstanding[row[T_CPU]])
        elif row[T_EVENT] == TR_FREE and row[T_PFN] in born:
            outstanding[born.pop(row[T_PFN])] -= 1
    assert peak <= limit
    late = r.trace[r.trace[:, T_TIME] > 30_000_000]
    n_alloc = int(((late[:, T_EVENT] == TR_ALLOC) & (late[:, T_PFN] >= 0)).sum())
    n_free = int((late[:, T_EVENT] == TR_FREE).sum())
    assert n_free > 1000 and abs(n_alloc - n_free) / n_free < 0.1


def test_exit_frees_in_avalanches_at_the_same_time():
    r, allocs, frees, pairs = stream(
        "exit", cpus=4, mem=256 << 20, duration_ms=40, rss_bytes="8MiB", life_ns="1ms"
    )
    assert remote_share(pairs) == 0
    # every CPU exits 2048 data pages + its page tables in a burst: the frees of one exit are
    # packed (about exit_ns apart), and with sync=1 the four CPUs' first exits overlap in time
    first_exit = {}
    for row in frees:
        first_exit.setdefault(row[T_CPU], row[T_TIME])
    starts = sorted(first_exit.values())
    assert len(starts) == 4
    assert starts[-1] - starts[0] < 1_000_000  # within 1 ms of each other
    lifetimes = [life for _, _, life, _ in pairs]
    assert median(lifetimes) > 1_000_000  # pages live through the process's life


def test_filecache_lifetimes_and_file_share():
    r, allocs, frees, pairs = stream(
        "filecache", cpus=4, mem=1 << 30, duration_ms=60, anon_pages=512, op_ns="2us",
        file_frac=0.3,
    )
    anon_lifetimes = [life for _, _, life, order in pairs if order == 0]
    # an anon page is freed after ~anon_pages anon steps; anon steps are ~69% of all steps
    expected = 512 * 2_000 / 0.69
    assert 0.7 * expected < median(anon_lifetimes) < 1.3 * expected
    # page-cache pages stay: frees are anon or unmovable only, about 30% of allocations stay
    assert r["lru_pages_peak"] > 0
    share_lru = r["lru_pages_peak"] / len(allocs)
    assert 0.25 < share_lru < 0.45


def test_pressure_fills_memory_and_keeps_reclaim_busy():
    r, *_ = stream("pressure", cpus=4, mem=256 << 20, duration_ms=60, fill_frac=0.9)
    assert r["pgsteal_kswapd"] + r["pgsteal_direct"] > 0
    assert r["lru_pages_peak"] >= 0.85 * r["zone_managed_pages"]  # DMA32: 256 MiB - 16 MiB


def test_kbuild_jobs_leave_cpus_idle_and_instances_add_trees():
    r, allocs, _, _ = stream("kbuild", cpus=4, duration_ms=30, jobs=2)
    assert set(allocs[:, T_CPU].tolist()) == {0, 1}
    with pytest.raises(SpecError, match="mix.kbuild.jobs must be a multiple of nodes"):
        Spec(cpus=4, mem_bytes=1 << 30, nodes=2, mix="kbuild", mix_params={"jobs": 3})
    from allocator.mixes.base import get_mix
    from allocator.sim.simulate import machine_for

    def tree(**kw):
        spec = Spec(cpus=4, mem_bytes=8 << 30, mix="kbuild", **kw)
        mix = get_mix("kbuild")
        return mix().build(machine_for(spec), mix.resolve_params(dict(spec.mix_params))).tree_pages

    one = tree()
    assert one == (1300 << 20) // 4096
    assert tree(mix_params={"instances": 8}, nodes=2) == 4 * one  # 8 trees, 4 per node
