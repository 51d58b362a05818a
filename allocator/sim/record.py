"""One flat metrics record per run, and the time series, from the final state arrays.

Names follow the kernel where it has one (vmstat `pgalloc`, `pgsteal_kswapd`, `allocstall`,
extfrag `unusable_index`) and carry their unit (`_ns`, `_pages`, `_frac`, `_per_s`).
`sys_frac` is the share of the CPUs' time spent inside the page allocator, spinning included:
the allocator's part of %sys, not all kernel time. `kernel_sys_frac` adds the mix's other
kernel time (its `kernel_frac` of the rest), so it is %sys as the RFC, mpstat and `time` state it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from allocator.core.catalogue import BY_NAME, EVENTS, GAUGE, SAMPLE_NAMES, series_index
from allocator.core.consts import PAGEBLOCK_ORDER
from allocator.core.layout import (
    AG_LRU_NS,
    AG_NODE,
    AG_OPS,
    AG_RECLAIM_NS,
    AG_SYS_NS,
    E_END_NS,
    E_NSAMPLES,
    E_SLOTS_CAP,
    E_SLOTS_FREE,
    E_SLOTS_PEAK,
    E_STEPS,
    E_WARMUP_NS,
    EV_PCP_ALLOC_HIT,
    EV_PCP_ALLOC_MISS,
    EV_POLICY0,
    EV_THP_ALLOC,
    EV_THP_FAIL,
    H_ALLOC,
    H_FREE,
    HIST_SUB,
    LK_ACQ,
    LK_CONTENDED,
    LK_HOLD_NS,
    LK_WAIT_NS,
    LOCK_ZONE,
    PCP_HIGH,
    PG_LRU_ZONE,
    PG_NR_LRU,
    PG_NR_LRU_PEAK,
    S_POLICY0,
    ZC_MANAGED,
    ZC_NODE,
    ZC_NR_CPUS,
    ZC_NR_FREE_PAGES,
    ZC_NUMA_FOREIGN,
    ZC_NUMA_HIT,
    ZC_NUMA_LOCAL,
    ZC_NUMA_MISS,
    ZC_NUMA_OTHER,
    ZC_PCP_PAGES,
    ZC_PCP_PAGES_PEAK,
    ZC_ZONE_IDX,
)
from allocator.mm.machine import Machine
from allocator.mm.topology import ZONE_NAMES
from allocator.mm.vmstat import free_blocks_suitable

GAUGES = tuple(m for m in BY_NAME.values() if m.source == GAUGE)


def bucket_value(b: int) -> int:
    """Middle of a latency histogram bucket (exact below 64 ns)."""
    if b < 2 * HIST_SUB:
        return b
    shift = b // HIST_SUB - 1
    mantissa = b % HIST_SUB + HIST_SUB
    lo = mantissa << shift
    return lo + ((1 << shift) - 1) // 2


def percentile(hist: np.ndarray, q: float, exact_max: int) -> int:
    """The q-quantile of a histogram (nearest rank), never above the exact maximum."""
    total = int(hist.sum())
    if total == 0:
        return 0
    rank = max(1, int(np.ceil(q * total)))
    b = int(np.searchsorted(np.cumsum(hist), rank))
    return min(bucket_value(b), exact_max)


def _frac(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


PEAK_SUFFIX = "_peak"  # a policy event so named is a maximum, not a count


@dataclass(frozen=True)
class Counters:
    """What accumulates over a run, at one instant: a window's counts are the difference of
    two of these (the engine's end_warmup() zeroes the same things)."""

    ev: np.ndarray
    hist: np.ndarray
    zone_lock: np.ndarray  # z.lk[LOCK_ZONE], every zone's summed
    lru_lock: np.ndarray  # z.lk[-1] (mm/swap.py), every node's summed
    pcp_lock_wait_ns: int
    lru_ns: int
    ops: int
    sys_ns: int
    reclaim_ns: int  # direct reclaim, all CPUs
    kswapd_ns: int
    steps: int


def lru_lock_zones(zs: Any) -> list[Any]:
    """The zone of each node whose last lock row is the node's lru_lock (mm/swap.py)."""
    return [zs[int(k)] for k in zs[0].pgdat[:, PG_LRU_ZONE]]


def counters(zs: Any) -> Counters:
    """The machine's: every zone's zone->lock and pcp->locks summed, every node's lru_lock."""
    z = zs[0]
    ncpu = int(z.zc[ZC_NR_CPUS])
    return Counters(
        ev=z.ev.copy(),
        hist=z.hist.copy(),
        zone_lock=np.sum([zk.lk[LOCK_ZONE] for zk in zs], axis=0),
        lru_lock=np.sum([zk.lk[-1] for zk in lru_lock_zones(zs)], axis=0),
        pcp_lock_wait_ns=int(sum(zk.lk[1:-1, LK_WAIT_NS].sum() for zk in zs)),
        lru_ns=int(z.ag[:ncpu, AG_LRU_NS].sum()),
        ops=int(z.ag[:ncpu, AG_OPS].sum()),
        sys_ns=int(z.ag[:ncpu, AG_SYS_NS].sum()),
        reclaim_ns=int(z.ag[:ncpu, AG_RECLAIM_NS].sum()),
        kswapd_ns=int(z.ag[ncpu:, AG_RECLAIM_NS].sum()),
        steps=int(z.eng[E_STEPS]),
    )


def cpu_high(zs: Any) -> np.ndarray:
    """Each CPU's pcp->high in its node's highest zone (the shortcut's one zone)."""
    z = zs[0]
    ncpu = int(z.zc[ZC_NR_CPUS])
    home = z.pgdat[z.ag[:ncpu, AG_NODE], PG_LRU_ZONE]
    return np.array([zs[int(home[a])].pcp[a, PCP_HIGH] for a in range(ncpu)], dtype=np.int64)


def zone_table(zs: Any) -> list[dict[str, Any]]:
    """Each simulated zone at the end, as /proc/zoneinfo names its fields; the numa counters
    count allocations since the warm-up ended."""
    return [{"node": int(zk.zc[ZC_NODE]), "zone": ZONE_NAMES[int(zk.zc[ZC_ZONE_IDX])],
             "managed": int(zk.zc[ZC_MANAGED]), "nr_free_pages": int(zk.zc[ZC_NR_FREE_PAGES]),
             "numa_hit": int(zk.zc[ZC_NUMA_HIT]), "numa_miss": int(zk.zc[ZC_NUMA_MISS]),
             "numa_foreign": int(zk.zc[ZC_NUMA_FOREIGN]),
             "numa_local": int(zk.zc[ZC_NUMA_LOCAL]), "numa_other": int(zk.zc[ZC_NUMA_OTHER])}
            for zk in zs]


def peak_events(event_names: tuple[str, ...]) -> list[int]:
    """Indexes in z.ev of a policy's maxima (names ending in _peak)."""
    return [EV_POLICY0 + i for i, n in enumerate(event_names) if n.endswith(PEAK_SUFFIX)]


def take_peaks(zs: Any, peak_ev: list[int]) -> np.ndarray:
    """The maxima reached since the last call, then restart them from the present (as
    end_warmup() does): latency maxima, pages in PCPs, LRU pages, slots, a policy's _peak
    events. A window's maxima are the largest of its segments'. With several zones (nodes)
    the PCP and LRU peaks are the sums of each zone's (node's): at most the machine's."""
    z = zs[0]
    out = np.array(
        [
            *z.hmax,
            sum(int(zk.zc[ZC_PCP_PAGES_PEAK]) for zk in zs),
            int(z.pgdat[:, PG_NR_LRU_PEAK].sum()),
            z.eng[E_SLOTS_PEAK],
            *z.ev[peak_ev],
        ],
        dtype=np.int64,
    )
    z.hmax[:] = 0
    for zk in zs:
        zk.zc[ZC_PCP_PAGES_PEAK] = zk.zc[ZC_PCP_PAGES]
    z.pgdat[:, PG_NR_LRU_PEAK] = z.pgdat[:, PG_NR_LRU]
    z.eng[E_SLOTS_PEAK] = z.eng[E_SLOTS_CAP] - z.eng[E_SLOTS_FREE]
    z.ev[peak_ev] = 0
    return out


@dataclass(frozen=True)
class Window:
    """The measured part of a run chosen after it ran (steady.py): from `start_ns` to the end,
    counts relative to `base`, maxima `peaks` (take_peaks order) over its segments, and the
    sample rows from `row0`."""

    start_ns: int
    row0: int
    base: Counters
    peaks: np.ndarray


def collect_metrics(
    zs: Any,
    machine: Machine,
    event_names: tuple[str, ...],
    gauge_names: tuple[str, ...] = (),
    kernel_frac: float = 0.0,
    window: Window | None = None,
    busy_frac: float = 1.0,
) -> dict[str, Any]:
    """The record over [warmup, end), or over `window`. `kernel_frac` is the mix's share of
    non-allocator kernel time in the time outside the allocator (mixes.base.kernel_frac_param),
    for kernel_sys_frac; `busy_frac` the share of CPU time the mix's tasks run at all (idle
    CPUs' time is neither). `zs`: every simulated zone; the record is the machine's (the
    simulated node's with the shortcut)."""
    z = zs[0]
    ncpu = int(z.zc[ZC_NR_CPUS])
    now = counters(zs)
    start = int(z.eng[E_WARMUP_NS])
    row0 = 0
    hmax = z.hmax
    pcp_peak = sum(int(zk.zc[ZC_PCP_PAGES_PEAK]) for zk in zs)
    lru_peak = int(z.pgdat[:, PG_NR_LRU_PEAK].sum())
    slots_peak = int(z.eng[E_SLOTS_PEAK])
    ev = now.ev
    if window is not None:
        b = window.base
        now = Counters(
            ev=now.ev - b.ev,
            hist=now.hist - b.hist,
            zone_lock=now.zone_lock - b.zone_lock,
            lru_lock=now.lru_lock - b.lru_lock,
            pcp_lock_wait_ns=now.pcp_lock_wait_ns - b.pcp_lock_wait_ns,
            lru_ns=now.lru_ns - b.lru_ns,
            ops=now.ops - b.ops,
            sys_ns=now.sys_ns - b.sys_ns,
            reclaim_ns=now.reclaim_ns - b.reclaim_ns,
            kswapd_ns=now.kswapd_ns - b.kswapd_ns,
            steps=now.steps,
        )
        # engine_steps stays the whole run's (a cost, as end_warmup() leaves it)
        ev = now.ev
        pk = window.peaks
        hmax = pk[:2]
        pcp_peak, lru_peak, slots_peak = int(pk[2]), int(pk[3]), int(pk[4])
        ev[peak_events(event_names)] = pk[5:]
        start, row0 = window.start_ns, window.row0
    zl = now.zone_lock
    sim_ns = int(z.eng[E_END_NS]) - start
    ops = now.ops
    sys_ns = now.sys_ns
    nsamples = int(z.eng[E_NSAMPLES])
    samples = z.samples[row0:nsamples]  # samples cover [warmup, end)
    nsamples = len(samples)
    thp = int(ev[EV_THP_ALLOC])
    free_pages = sum(int(zk.zc[ZC_NR_FREE_PAGES]) for zk in zs)
    suitable = sum(int(free_blocks_suitable(zk, PAGEBLOCK_ORDER)) for zk in zs)  # whole blocks
    pcp_pages = sum(int(zk.zc[ZC_PCP_PAGES]) for zk in zs)
    nr_free = np.sum([zk.nr_free for zk in zs], axis=0)
    high_mean = float(cpu_high(zs).mean())
    # counters and gauges as the catalogue lists them; the rest of the record below
    m: dict[str, Any] = {e.name: int(ev[i]) for i, e in enumerate(EVENTS) if e.record}
    now_value = {  # a gauge's value without samples (a run shorter than one interval)
        "pcp_pages": float(pcp_pages),
        "nr_free_pages": float(free_pages),
        "pcp_high_mean": high_mean,
    }
    for g in GAUGES:
        col = samples[:, series_index(g.series)]
        m[g.name] = float(col.mean()) if nsamples else now_value[g.series]
    m |= {
        "ops": ops,
        "sim_time_ns": sim_ns,
        "throughput_ops_per_s": _frac(ops * 1e9, sim_ns),
        "sys_frac": _frac(sys_ns, ncpu * sim_ns),
        "kernel_sys_frac": _frac(sys_ns + now.lru_ns, ncpu * sim_ns)
        + kernel_frac * max(busy_frac - _frac(sys_ns + now.lru_ns, ncpu * sim_ns), 0.0),
        "thp_alloc_success_frac": _frac(thp - int(ev[EV_THP_FAIL]), thp) if thp else 1.0,
        "alloc_latency_p50_ns": percentile(now.hist[H_ALLOC], 0.50, int(hmax[H_ALLOC])),
        "alloc_latency_p99_ns": percentile(now.hist[H_ALLOC], 0.99, int(hmax[H_ALLOC])),
        "alloc_latency_max_ns": int(hmax[H_ALLOC]),
        "free_latency_p50_ns": percentile(now.hist[H_FREE], 0.50, int(hmax[H_FREE])),
        "free_latency_p99_ns": percentile(now.hist[H_FREE], 0.99, int(hmax[H_FREE])),
        "free_latency_max_ns": int(hmax[H_FREE]),
        "zone_lock_acquisitions": int(zl[LK_ACQ]),
        "zone_lock_contended": int(zl[LK_CONTENDED]),
        "zone_lock_hold_ns": int(zl[LK_HOLD_NS]),
        "zone_lock_wait_ns": int(zl[LK_WAIT_NS]),
        "zone_lock_acq_per_kop": _frac(1000 * int(zl[LK_ACQ]), ops),
        "zone_lock_pages_per_acq": _frac(m["zone_lock_pages"], int(zl[LK_ACQ])),
        "zone_lock_wait_frac": _frac(int(zl[LK_WAIT_NS]), ncpu * sim_ns),
        "pcp_lock_wait_ns": now.pcp_lock_wait_ns,
        "lru_lock_acquisitions": int(now.lru_lock[LK_ACQ]),
        "lru_lock_hold_ns": int(now.lru_lock[LK_HOLD_NS]),
        "lru_lock_wait_ns": int(now.lru_lock[LK_WAIT_NS]),
        "lru_lock_wait_frac": _frac(int(now.lru_lock[LK_WAIT_NS]), ncpu * sim_ns),
        "lru_frac": _frac(now.lru_ns, ncpu * sim_ns),
        "pcp_alloc_hit_frac": _frac(
            ev[EV_PCP_ALLOC_HIT], int(ev[EV_PCP_ALLOC_HIT]) + int(ev[EV_PCP_ALLOC_MISS])
        ),
        "pcp_pages_peak": pcp_peak,
        "pcp_pages_end": pcp_pages,
        "pcp_high_mean_end": high_mean,
        "nr_free_pages": free_pages,
        # /proc/buddyinfo at the end: free_area[order].nr_free, blocks of 2^order pages
        **{f"nr_free_order{o}": int(nr_free[o].sum()) for o in range(nr_free.shape[0])},
        "free_pageblocks": suitable,
        "unusable_index_order9": (
            _frac(free_pages - (suitable << PAGEBLOCK_ORDER), free_pages) if free_pages else 1.0
        ),
        "lru_pages_peak": lru_peak,
        "kswapd_ns": now.kswapd_ns,
        "direct_reclaim_ns": now.reclaim_ns,
        "split_pageblocks_peak": slots_peak,
        "engine_steps": now.steps,
        "batch": machine.batch,
        "high_min": machine.high_min,
        "high_max": machine.high_max,
        "min_free_kbytes": machine.min_free_kbytes,
        # the topology: the counts above are the simulated nodes' (one with the symmetric
        # shortcut, Topology.simulated; the machine is then `nodes` copies of it)
        "nodes": machine.nodes,
        "simulated_nodes": machine.simulated_nodes,
        "node": machine.node,
        "zone": machine.zone,
        "node_cpus": machine.node_cpus,
        "zone_managed_pages": machine.managed_pages,
        "wmark_low": machine.wmark_low,
        "machine_throughput_ops_per_s": machine.nodes // machine.simulated_nodes
        * _frac(ops * 1e9, sim_ns),
    }
    for i, name in enumerate(event_names):
        m[name] = int(ev[EV_POLICY0 + i])
    for i, name in enumerate(gauge_names):  # a policy's gauges, averaged over the samples
        series = samples[:, S_POLICY0 + i]
        m[f"{name}_mean"] = float(series.mean()) if nsamples else 0.0
    return m


def collect_samples(z: Any, gauge_names: tuple[str, ...]) -> dict[str, np.ndarray]:
    n = int(z.eng[E_NSAMPLES])
    out = {name: z.samples[:n, i].copy() for i, name in enumerate(SAMPLE_NAMES)}
    for i, name in enumerate(gauge_names):
        out[name] = z.samples[:n, S_POLICY0 + i].copy()
    return out
