"""`simulate(spec)`: set up the machine, run the engine, assemble the record. Pure: no clocks,
threads or logging, no files but the compile cache; the same spec gives the same numbers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from allocator.core.consts import MIGRATE_PCPTYPES, PAGEBLOCK_NR_PAGES, PCPF_FREE_HIGH_BATCH
from allocator.core.layout import (
    AG_LAST_OK,
    AG_NEXT_DECAY,
    AG_NODE,
    E_END_NS,
    E_NEXT_SAMPLE,
    E_NSAMPLES,
    E_SAMPLE_NS,
    E_TRACE_LOST,
    E_TRACE_N,
    E_WARMUP_NS,
    PCP_BATCH,
    PCP_FLAGS,
    PCP_HIGH,
    PCP_HIGH_MAX,
    PCP_HIGH_MIN,
    PG_MANAGED,
    S_T_NS,
    T_TIME,
    ZC_LOWMEM_RESERVE,
    ZC_MANAGED,
    ZC_NODE,
    ZC_NR_CPUS,
    ZC_WMARK_HIGH,
    ZC_WMARK_LOW,
    ZC_WMARK_MIN,
)
from allocator.core.rng import seed_streams
from allocator.core.scheduler import tree_update
from allocator.core.state import INF_NS, Zone, ZoneSpec, build_zones
from allocator.mixes.base import get_mix
from allocator.mm.buddy import zone_init
from allocator.mm.invariants import check_invariants
from allocator.mm.machine import (
    BOOT_KNOBS,
    Boot,
    Machine,
    ZoneBoot,
    boot_zones,
    machine_from_boot,
)
from allocator.mm.topology import ZONE_NORMAL, Topology, ZoneShape, zonelists
from allocator.params.costs import cost_array, validate_costs
from allocator.params.errors import SpecError
from allocator.params.knobs import K_VMSTAT_INTERVAL_MS, knob_array
from allocator.policies.base import get_policy
from allocator.sim.engine_cache import engine_cached, engine_for
from allocator.sim.record import (
    Counters,
    Window,
    collect_metrics,
    collect_samples,
    counters,
    cpu_high,
    peak_events,
    take_peaks,
    zone_table,
)
from allocator.sim.runlength import SEGMENT_NS, Assessment, assess, class_high
from allocator.sim.spec import Spec

# vmstat_update runs per CPU at round_jiffies_relative(HZ): each CPU is skewed by 3 jiffies
# (HZ=250: 12 ms) so that not all CPUs fire at once (__round_jiffies()).
VMSTAT_SKEW_NS = 12_000_000


@dataclass(frozen=True)
class SimResult(Mapping[str, Any]):
    """The flat metrics record (a read-only mapping) plus the sampled time series."""

    metrics: Mapping[str, Any]
    samples: Mapping[str, np.ndarray]
    trace: np.ndarray | None = None  # recorded kmem events (tracepoints.py), if asked for
    trace_lost: int = 0  # events that did not fit
    # the zone at the end, as /proc/pagetypeinfo shows it: "nr_free" [order, migratetype]
    # free blocks, "pageblocks" [migratetype] pageblocks (consts.MIGRATE_*)
    end_state: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.metrics[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.metrics)

    def __len__(self) -> int:
        return len(self.metrics)


def machine_for(spec: Spec) -> Machine:
    """What the engine runs, with what the kernel derives for it (machine.py): one zone, or
    with knob.symmetric_nodes = 0 every populated zone of every node."""
    knobs = spec.resolved_knobs()
    return machine_from_boot(boot_for(spec, knobs), spec.mem_bytes,
                             full=not knobs["symmetric_nodes"])


def boot_for(spec: Spec, knobs: dict[str, int] | None = None,
             topology: Topology | None = None) -> Boot:
    """Every zone of the spec's machine (or of `topology`, a real file's) after boot."""
    if knobs is None:
        knobs = spec.resolved_knobs()
    return boot_zones(topology or spec.topology(), **{k: knobs[k] for k in BOOT_KNOBS})


def simulated_zones(boot: Boot, full: bool) -> list[ZoneBoot]:
    """The zones the engine runs, node then zone order: the shortcut's one, or every
    populated zone."""
    top = boot.topology
    shapes = top.populated_zones() if full else [top.simulated()]
    return [boot.zone(sh.node, sh.idx) for sh in shapes]


def setup(spec: Spec, trace_events: int = 0, inputs: Mapping[str, Any] | None = None
          ) -> tuple[tuple[Zone, ...], tuple[Any, ...], Any, Any, Any, Machine]:
    """Everything `run` needs: (zs, pss, ms, policy, mix, machine), at time 0: the zones and
    each one's policy state. `inputs`: what a mix's parameter stands for when the spec holds
    only its name (the trace mix's pattern arrays for its file's path)."""
    policy_cls = get_policy(spec.policy)
    mix_cls = get_mix(spec.mix)
    knobs = spec.resolved_knobs()
    full = not knobs["symmetric_nodes"]
    boot = boot_for(spec, knobs)
    machine = machine_from_boot(boot, spec.mem_bytes, full=full)
    zones = simulated_zones(boot, full)
    policy = policy_cls()
    mix = mix_cls()
    values = mix_cls.resolve_params(dict(spec.mix_params))
    unknown = set(inputs or {}) - set(values)
    if unknown:
        raise SpecError(f"inputs {', '.join(sorted(unknown))}: not parameters of mix "
                        f"{spec.mix} ({', '.join(sorted(values))})")
    ms = mix.build(machine, {**values, **(inputs or {})})
    run_ns = spec.duration_ns - spec.warmup_ns
    # the shortcut's one zone is node 0 of the engine whichever node it stands for
    shapes = [ZoneSpec(node=zb.node if full else 0, idx=zb.idx,
                       nr_pageblocks=zb.managed // PAGEBLOCK_NR_PAGES) for zb in zones]
    nodes = machine.simulated_nodes
    zs = build_zones(
        zones=shapes,
        nr_cpus=machine.cpus,
        pcp_lists_per_agent=policy_cls.pcp_lists_per_agent,
        policy_lists=policy.policy_lists(machine.cpus),
        mix_lists=mix.lists(machine.cpus),
        nr_samples=run_ns // spec.sample_ns + 1,
        trace_events=trace_events,
        costs=cost_array(validate_costs(dict(spec.costs))),
        knobs=knob_array(knobs, policy_cls.knobs),
        zonelists=_zonelists(shapes, nodes),
    )
    for z, zb in zip(zs, zones, strict=True):
        _init_zone(z, zb, knobs)
    _init_agents(zs[0], spec, machine, knobs)
    pss = tuple(policy.init_state(z, knobs) for z in zs)
    return zs, pss, ms, policy, mix, machine


def _zonelists(shapes: list[ZoneSpec], nodes: int) -> np.ndarray:
    lists = zonelists([ZoneShape(s.node, s.idx, 0, 0, 0) for s in shapes], nodes)
    out = np.full((nodes, len(shapes)), -1, dtype=np.int64)
    for n, order in enumerate(lists):
        out[n, : len(order)] = order
    return out


def _init_zone(z: Zone, zb: ZoneBoot, knobs: dict[str, int]) -> None:
    """A zone's marks, lowmem_reserve and PCP sizes from boot, every CPU's PCP alike (the
    kernel sizes a zone's pagesets for the CPUs of its node and gives each CPU the same)."""
    nr_pb = zb.managed // PAGEBLOCK_NR_PAGES
    z.zc[ZC_MANAGED] = nr_pb * PAGEBLOCK_NR_PAGES
    z.zc[ZC_WMARK_MIN] = zb.min
    z.zc[ZC_WMARK_LOW] = zb.low
    z.zc[ZC_WMARK_HIGH] = zb.high
    z.zc[ZC_LOWMEM_RESERVE] = zb.protection[ZONE_NORMAL]
    z.pcp[:, PCP_BATCH] = zb.batch
    z.pcp[:, PCP_HIGH_MIN] = zb.high_min
    z.pcp[:, PCP_HIGH_MAX] = zb.high_max
    z.pcp[:, PCP_HIGH] = zb.high_min
    if knobs["pcpf_free_high_batch"]:
        z.pcp[:, PCP_FLAGS] = PCPF_FREE_HIGH_BATCH
    z.pgdat[z.zc[ZC_NODE], PG_MANAGED] += z.zc[ZC_MANAGED]
    zone_init(z)


def _init_agents(z: Zone, spec: Spec, machine: Machine, knobs: dict[str, int]) -> None:
    """The agents (shared by every zone): CPUs node by node, then each node's kswapd."""
    ncpu = machine.cpus
    nodes = machine.simulated_nodes
    agents = ncpu + nodes
    z.ag[:ncpu, AG_NODE] = np.arange(ncpu) // machine.node_cpus
    z.ag[ncpu:, AG_NODE] = np.arange(nodes)
    z.ag[:, AG_LAST_OK] = 1
    interval = knobs["vmstat_interval_ms"] * 1_000_000
    skew = (np.arange(agents, dtype=np.int64) * VMSTAT_SKEW_NS) % interval
    z.ag[:, AG_NEXT_DECAY] = interval - skew
    z.rng[:] = seed_streams(spec.seed, agents, salt=spec.mix)
    z.clock[:ncpu] = 0
    z.clock[ncpu:] = INF_NS  # kswapd sleeps until woken
    z.eng[E_END_NS] = spec.duration_ns
    z.eng[E_WARMUP_NS] = spec.warmup_ns
    z.eng[E_SAMPLE_NS] = spec.sample_ns
    z.eng[E_NEXT_SAMPLE] = spec.warmup_ns
    leaves = len(z.tree) // 2
    z.tree[leaves : leaves + agents] = np.arange(agents, dtype=np.int32)
    for a in range(agents):
        tree_update(z, a)


def is_compiled(spec: Spec) -> bool:
    """Is the compiled engine of this spec's (policy, mix) on disk already? (Cheap: nothing is
    set up.) A False means the next simulate() of the pair compiles it, about 15-20 s of CPU,
    plus the shared kernels (about 30 s) the very first time on a machine."""
    return engine_cached(get_policy(spec.policy).hooks, get_mix(spec.mix).hooks.next_op)


def compile_engine(spec: Spec) -> bool:
    """Build, or load from the disk cache, the engine of this spec's (policy, mix), without
    simulating: `sweep compile` and `sweep run` do this before the points. True if it had to
    compile. The spec only gives the types: take the smallest point of the pair."""
    zs, pss, ms, policy, mix, _ = setup(spec, 0)
    compiled = not engine_cached(policy.hooks, mix.hooks.next_op)
    zs[0].eng[E_END_NS] = 0  # returns at once: only the call's compilation is wanted
    engine_for(policy.hooks, mix.hooks.next_op)(zs, pss, ms)
    return compiled


class InvariantError(AssertionError):
    """The state broke an invariant during a checked run: a simulator bug."""


def simulate(spec: Spec, *, check_every_ns: int = 0, trace_events: int = 0,
             inputs: Mapping[str, Any] | None = None) -> SimResult:
    """Run one point. Deterministic: the same spec (seed included) gives identical results.

    The engine stops at every segment boundary (runlength.SEGMENT_NS) to observe the run;
    with `duration = "auto"` it ends at the first boundary where the window is stationary and
    precise enough, and with `warmup = "auto"` the window starts where the transient ended.
    `check_every_ns` > 0 also stops it at that simulated interval to check every invariant
    (invariants.py), raising InvariantError on the first violation. Stopping changes nothing:
    the engine resumes exactly where it stopped.
    `trace_events` > 0 records up to that many kmem events (after the warm-up) in `.trace`.
    `inputs`: the arrays a mix's parameter names (setup)."""
    zs, pss, ms, policy, mix, machine = setup(spec, trace_events, inputs)
    z = zs[-1]  # the last node's highest zone: the shortcut's, and its batch for the CIs
    ncpu = machine.cpus
    classes = mix.cpu_classes(ms, ncpu)
    busy = mix.busy_frac(ms, ncpu)
    counts = np.bincount(classes)
    peak_ev = peak_events(policy.event_names)
    start = spec.warmup_ns
    end = spec.duration_ns
    interval = int(z.knob[K_VMSTAT_INTERVAL_MS]) * 1_000_000
    obs_t: list[int] = []
    obs_high: list[np.ndarray] = []
    snaps: dict[int, Counters] = {}
    seg_peaks: list[tuple[int, np.ndarray]] = []  # (segment start, its maxima)
    boundary = start
    check = check_every_ns if check_every_ns > 0 else end
    now = 0
    result: Assessment | None = None
    run = engine_for(policy.hooks, mix.hooks.next_op)
    while True:
        stop = min(boundary, check, end)
        z.eng[E_END_NS] = stop
        run(zs, pss, ms)
        now = stop
        if check_every_ns > 0 and now == check:
            errors = check_invariants(zs)
            for zk, ps in zip(zs, pss, strict=True):
                errors += policy.check_invariants(zk, ps)
            if errors:
                raise InvariantError(f"at {now} ns: " + "; ".join(errors[:5]))
            check = min(check + check_every_ns, end)
        if now == boundary or now == end:
            seg_peaks.append((obs_t[-1] if obs_t else 0, take_peaks(zs, peak_ev)))
            obs_t.append(now)
            obs_high.append(class_high(cpu_high(zs).astype(float), classes, counts))
            if spec.auto_warmup:
                snaps[now] = counters(zs)
            if now == boundary:
                boundary += SEGMENT_NS
            if spec.auto_duration and now >= _min_auto(spec, interval) or now >= end:
                result = _assess(z, spec, obs_t, obs_high, interval)
                if now >= end or (result.stationary and result.met):
                    break
    return _result(zs, spec, policy, mix, machine, trace_events, result, snaps, seg_peaks, busy)


def _min_auto(spec: Spec, interval: int) -> int:
    """Before this, an auto run cannot be stationary: two decay intervals of pcp->high to see
    it settle (auto warm-up), or ten batches of samples after a fixed one."""
    if spec.auto_warmup:
        return 2 * interval + SEGMENT_NS
    return spec.warmup_ns + 20 * spec.sample_ns


def _assess(
    z: Zone, spec: Spec, obs_t: list[int], obs_high: list[np.ndarray], interval: int
) -> Assessment:
    n = int(z.eng[E_NSAMPLES])
    return assess(
        z.samples[:n],
        int(z.zc[ZC_NR_CPUS]),
        np.array(obs_t),
        np.array(obs_high),
        interval_ns=interval,
        start_ns=spec.warmup_ns,
        auto_warmup=spec.auto_warmup,
        precision=spec.precision,
        batch=int(z.pcp[0, PCP_BATCH]),
    )


def _result(
    zs: tuple[Zone, ...],
    spec: Spec,
    policy: Any,
    mix: Any,
    machine: Machine,
    trace_events: int,
    a: Assessment,
    snaps: dict[int, Counters],
    seg_peaks: list,
    busy: float = 1.0,
) -> SimResult:
    z = zs[-1]
    start = a.warmup_ns
    n = int(z.eng[E_NSAMPLES])
    row0 = int(np.searchsorted(z.samples[:n, S_T_NS], start))
    peaks = np.max([p for t, p in seg_peaks if t >= start], axis=0)
    base = snaps.get(start) if spec.auto_warmup else None
    window = Window(start, row0, base if base is not None else _zero(zs), peaks)
    kf = mix.resolve_params(dict(spec.mix_params)).get("kernel_frac", 0) / 1e6
    m = collect_metrics(
        zs, machine, policy.event_names, policy.gauge_names, kernel_frac=kf, window=window,
        busy_frac=busy,
    )
    m.update(_run_fields(spec, a, int(z.eng[E_END_NS]), kf))
    trace = None
    if trace_events:
        trace = z.trace[: int(z.eng[E_TRACE_N])].copy()
        trace = trace[trace[:, T_TIME] >= start] if spec.auto_warmup else trace
    return SimResult(
        metrics=m,
        samples=collect_samples(z, policy.gauge_names),
        trace=trace,
        trace_lost=int(z.eng[E_TRACE_LOST]),
        end_state={"nr_free": z.nr_free.copy(),
                   "pageblocks": np.bincount(z.pb_mt, minlength=MIGRATE_PCPTYPES),
                   "node": machine.node, "zone": machine.zone,
                   "zones": zone_table(zs)},
    )


def _zero(zs: tuple[Zone, ...]) -> Counters:
    """The counters just after end_warmup() (all zero; engine steps keep counting)."""
    c = counters(zs)
    return Counters(
        ev=np.zeros_like(c.ev),
        hist=np.zeros_like(c.hist),
        zone_lock=np.zeros_like(c.zone_lock),
        lru_lock=np.zeros_like(c.lru_lock),
        pcp_lock_wait_ns=0,
        lru_ns=0,
        ops=0,
        sys_ns=0,
        reclaim_ns=0,
        kswapd_ns=0,
        steps=0,
    )


def _run_fields(spec: Spec, a: Assessment, end: int, kernel_frac: float) -> dict[str, Any]:
    """What the run-length control decided, and each key metric's 95% half-width."""
    reason = (
        "fixed" if not spec.auto_duration else ("precision" if a.met and a.stationary else "cap")
    )
    out: dict[str, Any] = {
        "warmup_ns": a.warmup_ns,
        "window_ns": end - a.warmup_ns,
        "stationary": bool(a.stationary),
        "stop_reason": reason,
        "precision_met": bool(a.met),
        "steady_note": a.why,
    }
    for name, b in a.ci.items():
        out[f"{name}_ci95"] = b.half_width
    out["kernel_sys_frac_ci95"] = (1.0 - kernel_frac) * a.ci["sys_frac"].half_width
    out["ci_batch_ns"] = a.ci["sys_frac"].batch * spec.sample_ns
    for rule, t in a.warmup_by.items():
        out[f"warmup_{rule}_ns"] = t
    return out


__all__ = ["InvariantError", "SimResult", "machine_for", "setup", "simulate"]
