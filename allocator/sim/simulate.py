"""`simulate(spec)`: set up the machine, run the engine, assemble the record. Pure: no clocks,
threads or logging, no files but the compile cache; the same spec gives the same numbers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from allocator.core.consts import MIGRATE_PCPTYPES, PCPF_FREE_HIGH_BATCH
from allocator.core.layout import (
    AG_LAST_OK,
    AG_NEXT_DECAY,
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
    S_T_NS,
    T_TIME,
    ZC_KSWAPD,
    ZC_MANAGED,
    ZC_NR_AGENTS,
    ZC_NR_CPUS,
    ZC_NR_PAGEBLOCKS,
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
from allocator.mm.machine import BOOT_KNOBS, Boot, Machine, boot_zones, machine_from_boot
from allocator.mm.topology import ZONE_NAMES, Topology
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
    peak_events,
    take_peaks,
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
    """The zone the engine runs, with what the kernel derives for it (machine.py)."""
    return machine_from_boot(boot_for(spec), spec.mem_bytes)


def boot_for(spec: Spec, knobs: dict[str, int] | None = None,
             topology: Topology | None = None) -> Boot:
    """Every zone of the spec's machine (or of `topology`, a real file's) after boot."""
    if knobs is None:
        knobs = spec.resolved_knobs()
    return boot_zones(topology or spec.topology(), **{k: knobs[k] for k in BOOT_KNOBS})


def setup(spec: Spec, trace_events: int = 0, inputs: Mapping[str, Any] | None = None
          ) -> tuple[Zone, Any, Any, Any, Any, Machine]:
    """Everything `run` needs: (z, ps, ms, policy, mix, machine), at time 0. `inputs`: what a
    mix's parameter stands for when the spec holds only its name (the trace mix's pattern
    arrays for its file's path)."""
    policy_cls = get_policy(spec.policy)
    mix_cls = get_mix(spec.mix)
    knobs = spec.resolved_knobs()
    machine = machine_for(spec)
    policy = policy_cls()
    mix = mix_cls()
    values = mix_cls.resolve_params(dict(spec.mix_params))
    unknown = set(inputs or {}) - set(values)
    if unknown:
        raise SpecError(f"inputs {', '.join(sorted(unknown))}: not parameters of mix "
                        f"{spec.mix} ({', '.join(sorted(values))})")
    ms = mix.build(machine, {**values, **(inputs or {})})
    nr_pb = machine.nr_pageblocks
    run_ns = spec.duration_ns - spec.warmup_ns
    (z,) = build_zones(
        zones=[ZoneSpec(node=0, idx=ZONE_NAMES.index(machine.zone), nr_pageblocks=nr_pb)],
        nr_cpus=machine.cpus,
        pcp_lists_per_agent=policy_cls.pcp_lists_per_agent,
        policy_lists=policy.policy_lists(machine.cpus),
        mix_lists=mix.lists(machine.cpus),
        nr_samples=run_ns // spec.sample_ns + 1,
        trace_events=trace_events,
        costs=cost_array(validate_costs(dict(spec.costs))),
        knobs=knob_array(knobs, policy_cls.knobs),
    )
    _init_zone(z, spec, machine, knobs)
    ps = policy.init_state(z, knobs)
    return z, ps, ms, policy, mix, machine


def _init_zone(z: Zone, spec: Spec, machine: Machine, knobs: dict[str, int]) -> None:
    ncpu = machine.cpus
    z.zc[ZC_MANAGED] = machine.managed_pages
    z.zc[ZC_NR_PAGEBLOCKS] = machine.nr_pageblocks
    z.zc[ZC_WMARK_MIN] = machine.wmark_min
    z.zc[ZC_WMARK_LOW] = machine.wmark_low
    z.zc[ZC_WMARK_HIGH] = machine.wmark_high
    z.zc[ZC_NR_CPUS] = ncpu
    z.zc[ZC_NR_AGENTS] = ncpu + 1
    z.zc[ZC_KSWAPD] = ncpu
    z.pcp[:, PCP_BATCH] = machine.batch
    z.pcp[:, PCP_HIGH_MIN] = machine.high_min
    z.pcp[:, PCP_HIGH_MAX] = machine.high_max
    z.pcp[:, PCP_HIGH] = machine.high_min
    if knobs["pcpf_free_high_batch"]:
        z.pcp[:, PCP_FLAGS] = PCPF_FREE_HIGH_BATCH
    z.ag[:, AG_LAST_OK] = 1
    interval = knobs["vmstat_interval_ms"] * 1_000_000
    skew = (np.arange(ncpu + 1, dtype=np.int64) * VMSTAT_SKEW_NS) % interval
    z.ag[:, AG_NEXT_DECAY] = interval - skew
    z.rng[:] = seed_streams(spec.seed, ncpu + 1, salt=spec.mix)
    z.clock[:ncpu] = 0
    z.clock[ncpu] = INF_NS  # kswapd sleeps until woken
    z.eng[E_END_NS] = spec.duration_ns
    z.eng[E_WARMUP_NS] = spec.warmup_ns
    z.eng[E_SAMPLE_NS] = spec.sample_ns
    z.eng[E_NEXT_SAMPLE] = spec.warmup_ns
    leaves = len(z.tree) // 2
    z.tree[leaves : leaves + ncpu + 1] = np.arange(ncpu + 1, dtype=np.int32)
    for a in range(ncpu + 1):
        tree_update(z, a)
    zone_init(z)


def is_compiled(spec: Spec) -> bool:
    """Is the compiled engine of this spec's (policy, mix) on disk already? (Cheap: nothing is
    set up.) A False means the next simulate() of the pair compiles it, about 15-20 s of CPU,
    plus the shared kernels (about 30 s) the very first time on a machine."""
    return engine_cached(get_policy(spec.policy).hooks, get_mix(spec.mix).hooks.next_op)


def compile_engine(spec: Spec) -> bool:
    """Build, or load from the disk cache, the engine of this spec's (policy, mix), without
    simulating: `sweep compile` and `sweep run` do this before the points. True if it had to
    compile. The spec only gives the types: take the smallest point of the pair."""
    z, ps, ms, policy, mix, _ = setup(spec, 0)
    compiled = not engine_cached(policy.hooks, mix.hooks.next_op)
    z.eng[E_END_NS] = 0  # returns at once: only the call's compilation is wanted
    engine_for(policy.hooks, mix.hooks.next_op)(z, ps, ms)
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
    z, ps, ms, policy, mix, machine = setup(spec, trace_events, inputs)
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
        run(z, ps, ms)
        now = stop
        if check_every_ns > 0 and now == check:
            errors = check_invariants(z) + policy.check_invariants(z, ps)
            if errors:
                raise InvariantError(f"at {now} ns: " + "; ".join(errors[:5]))
            check = min(check + check_every_ns, end)
        if now == boundary or now == end:
            seg_peaks.append((obs_t[-1] if obs_t else 0, take_peaks(z, peak_ev)))
            obs_t.append(now)
            obs_high.append(class_high(z.pcp[:ncpu, PCP_HIGH].astype(float), classes, counts))
            if spec.auto_warmup:
                snaps[now] = counters(z)
            if now == boundary:
                boundary += SEGMENT_NS
            if spec.auto_duration and now >= _min_auto(spec, interval) or now >= end:
                result = _assess(z, spec, obs_t, obs_high, interval)
                if now >= end or (result.stationary and result.met):
                    break
    return _result(z, spec, policy, mix, machine, trace_events, result, snaps, seg_peaks, busy)


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
    z: Zone,
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
    start = a.warmup_ns
    n = int(z.eng[E_NSAMPLES])
    row0 = int(np.searchsorted(z.samples[:n, S_T_NS], start))
    peaks = np.max([p for t, p in seg_peaks if t >= start], axis=0)
    base = snaps.get(start) if spec.auto_warmup else None
    window = Window(start, row0, base if base is not None else _zero(z), peaks)
    kf = mix.resolve_params(dict(spec.mix_params)).get("kernel_frac", 0) / 1e6
    m = collect_metrics(
        z, machine, policy.event_names, policy.gauge_names, kernel_frac=kf, window=window,
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
                   "node": machine.node, "zone": machine.zone},
    )


def _zero(z: Zone) -> Counters:
    """The counters just after end_warmup() (all zero; engine steps keep counting)."""
    c = counters(z)
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
