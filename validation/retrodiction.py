"""Retrodiction: the model against what earlier upstream page-allocator changes measured.

Each case of ../shared/reference/published-results.md that the model can express runs on the
machine of the posting (CPUs, sockets as nodes by the symmetric shortcut, memory), before and
after the change (`kernel` and `revert`, allocator/params/history.py), at steady state, on the
one cost table every verdict uses (allocator/params/costs.py): no case sets a constant. A case
is *calibration* when its result set a constant of that table (it is shown, not scored), a
*variant* when it reruns a validation case with a mechanism that is off by default turned on
(shown, not scored: its published rows are already counted), and *validation* otherwise; the
score is the validation rows': the share whose model change has the
published change's sign, and the share whose ratio model/published lies in [0.5, 2]. Cases the
model cannot express are listed with the reason, as misses of the model, not left out.

    python validation/retrodiction.py [--cases v67-kbuild,...] [--cap 30s] [--workers 2]
        [--seed 1] [--json FILE] [--write-docs] [--from-json FILE]

--write-docs replaces the section between the retrodiction markers of docs/validation.md;
--from-json renders the table from a --json file of an earlier run instead of simulating.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docs_section import write_section

from allocator import SIM_VERSION, Spec, simulate
from sweep.commands.flags import parse_sets

START, END = "<!-- retrodiction:start -->", "<!-- retrodiction:end -->"
SET_START, SET_END = "<!-- retrodiction-set:start -->", "<!-- retrodiction-set:end -->"
SAME = 0.005  # |change| below this (0.5%) is "no change" on either side

# the v6.7 series as merged (ids: history.py), and the posting's step rows: patchN has the
# series' patches 1..N (patch 2, cacheinfo, changes nothing the model has)
SERIES = ("ca71fe1ad922", "362d37a106dd", "52166607ecc9", "c0a242394cb9", "90b41691b988",
          "51a755c56dc0", "57c0419c5f0e", "6ccdcb6d3a74")


# v4.18 as far as the switches go: before the v5.14 PCP series (history order)
V418 = ("44042b449872", "b92ca18e8ca5", "3b12e7e97938", "c49c2c47dab6")


def v67_upto(n_commits: int) -> dict[str, Any]:
    """v6.7 with the series' first `n_commits` commits in and the rest reverted."""
    reverts = SERIES[n_commits:]
    return {"kernel": "v6.7", "revert": ",".join(reverts)} if reverts else {"kernel": "v6.7"}


@dataclass(frozen=True)
class Metric:
    name: str  # as the posting names it
    model: str  # how the model's record gives it (see `measure`)
    published: tuple[float, ...]  # one value per step, the posting's units


@dataclass(frozen=True)
class Case:
    key: str
    rows: str  # published-results.md rows / passages
    change: str
    role: str  # "validation", "calibration", or "variant" (a validation case again with a
    # mechanism that is off by default turned on: shown, not scored, so no row counts twice)
    machine: dict[str, Any]  # Spec flat keys of the machine and workload
    machine_note: str  # where each machine parameter comes from
    steps: tuple[tuple[str, dict[str, Any]], ...] = ()  # (label, flat keys); the first is base
    metrics: tuple[Metric, ...] = ()
    missing: str = ""  # why the model cannot express it (then no steps)
    cap: str = ""  # a case's own duration_cap (default: --cap)


CASES: tuple[Case, ...] = (
    Case(
        "v67-kbuild", "1, 5, 6, 8 (Q1, the V3 cover letter's step table)",
        "the v6.7 PCP auto-tuning series, patch by patch", "validation",
        {"cpus": 224, "nodes": 2, "mem": "228GiB", "mix": "kbuild", "mix.kbuild.instances": 8},
        "224 logical CPUs on 2 sockets as 2 nodes; memory not stated: 228 GiB is the size at "
        "which the model's boot arithmetic gives the 'PCP size 367' the posting states "
        "(zone_highsize() of v6.6); 8 builds of `make -j 28` are one job per CPU (`jobs` 0), "
        "their 8 trees (`instances` 8, 1.3 GB each) 4 per node; cgroups are not modelled",
        steps=(("base (v6.6)", {"kernel": "v6.6"}), ("patch1", v67_upto(1)),
               ("patch3", v67_upto(2)), ("patch5", v67_upto(4)), ("patch7", v67_upto(6)),
               ("patch9 (v6.7)", v67_upto(8))),
        metrics=(
            Metric("build time", "time", (100.0, 99.5, 99.4, 98.6, 95.1, 95.0)),
            Metric("lock contend%", "zone_lock_wait_frac", (14.0, 12.8, 12.6, 11.0, 0.5, 1.0)),
            Metric("free_high", "free_high_per_op", (100.0, 19.5, 7.1, 8.1, 2.8, 8.8)),
            Metric("alloc_zone", "zone_alloc_pages_per_op",
                   (100.0, 95.6, 95.6, 97.1, 15.6, 20.0)),
        ),
    ),
    Case(
        "c544-kbuild", "13 (Q10, the kbuild column)",
        "c544a952ba61, free_count threshold for free_high (and v6.6 -> v6.12)", "validation",
        {"cpus": 768, "nodes": 2, "mem": "1536GiB", "mix": "kbuild", "mix.kbuild.instances": 2},
        "'2-node AMD machine with 384 vCPUs on each node' as 2 nodes of 384 CPUs; memory not "
        "stated: 1.5 TiB (4 GiB per vCPU) is assumed; the build's shape is not stated: "
        "one job per CPU, one build (tree) per node",
        steps=(("v6.6", {"kernel": "v6.6"}), ("v6.12", {"kernel": "v6.12"}),
               ("v6.12 + c544a952ba61",
                {"kernel": "v6.16", "revert": "c2f6ea38fc1b,90abee6d7895"})),
        metrics=(Metric("kbuild score", "throughput_ops_per_s", (100.0, 98.8, 99.3)),),
        cap="20s",
    ),
    *(Case(
        key, "27 (Q15, the vanilla column)",
        "page_fault1 throughput against the number of processes" + what, role,
        {"cpus": 80, "nodes": 2, "mem": "192GiB", "mix": "page_fault1", "kernel": "v6.6",
         **lru},
        "2-socket CascadeLake, 40 cores / 80 CPUs with HT, as 2 nodes of 40 CPUs; the model "
        "has no SMT, so its 80 CPUs are 80 cores' worth; memory not stated: 192 GiB assumed; "
        "the posting's vanilla kernel is v5.17-rc (the series went into v5.18), before the "
        "v6.7 auto-tuning: v6.6 is the nearest preset; will-it-scale processes spread evenly "
        "over the sockets; counts that do not split evenly (5, 21, 79) are run as the even "
        "count next to them, and the 110-320 process rows (more processes than CPUs) cannot "
        "be expressed",
        steps=tuple((f"{n} processes", {"mix.page_fault1.tasks": n})
                    for n in (2, 8, 12, 30, 48, 80)),
        metrics=(Metric("Hmean ops", "throughput_ops_per_s",
                        (2694662.26, 9642169.10, 12167502.10, 25157348.61, 27694013.85,
                         25928742.64)),),
        cap="10s",  # a saturated zone->lock at v6.6 costs ~20 CPU-s per simulated second
    ) for key, what, role, lru in (
        ("cascadelake-page_fault1", "", "validation", {}),
        ("cascadelake-page_fault1-lru", ", with the LRU lock (knob.lru_lock = 1: Aaron Lu's "
         "profile of this machine puts most of its ~70% lock contention on the LRU path)",
         "variant", {"knob.lru_lock": 1}))),
    Case(
        "batch-hold", "4 (Q4, Sapphire Rapids rows; calibration.md s2)",
        "zone->lock hold per bulk free against pcp->batch, pcp->high = 2 * batch",
        "calibration",
        {"cpus": 8, "mem": "16GiB", "mix": "page_fault1"},
        "sets cost.zone_page_ns (its 28-35 ns per page); the hold time per bulk free does not "
        "depend on the CPU count in the model (no cache misses), so a small machine runs it; "
        "thread count and memory are not stated; the throughputs are not comparable in "
        "absolute terms (the posting's page/s against the model's ops/s over 8 CPUs)",
        steps=tuple((f"batch {b}", {"knob.pcp_batch": b, "knob.pcp_high": 2 * b})
                    for b in (63, 127, 255, 511, 1023, 2047)),
        metrics=(
            Metric("free latency avg (us)", "hold_us_per_drain",
                   (2.33, 4.35, 8.29, 15.79, 30.25, 59.39)),
            Metric("throughput (page/s)", "throughput_ops_per_s",
                   (513633.4, 517616.7, 520822.8, 524122.0, 525980.5, 526793.6)),
        ),
        cap="10s",
    ),
    Case(
        "2018-free_pcppages_bulk", "22, 23 (Q13)",
        "Aaron Lu (v4.17): pick pages outside zone->lock, prefetch buddies", "validation",
        {}, "", missing="the model charges a flat cost per page under zone->lock; picking "
        "pages before taking it and prefetching the buddy's struct page are not mechanisms "
        "it has (and v4.17's PCP predates every switch)"),
    Case(
        "v5.18-single-pass", "27, 28 (Q15)",
        "Mel Gorman (v5.18): free pages in a single pass during bulk free", "validation",
        {}, "", missing="the single-pass free changes how free_pcppages_bulk() walks its lists "
        "under the lock, not what it frees; the model has one pass already (the published "
        "change is +0.02%, within noise, and io-trunc has no mix here)"),
    Case(
        "net-and-ipc", "2, 3, 7, 12, 13 (lmbench AF_UNIX, netperf SCTP, iperf3 columns)",
        "ca71fe1ad922, 362d37a106dd, 6ccdcb6d3a74, c544a952ba61 on network workloads",
        "validation", {}, "", missing="no network or AF_UNIX mix: skb frees of order-3 "
        "pages on one CPU after allocation on another are what free_high is tuned for, and "
        "the model has no workload that makes them"),
    Case(
        "44042b449872-netperf", "30 (Q16)", "high-order pages on the PCP (v5.14)",
        "validation", {}, "", missing="netperf UDP_STREAM: no network mix"),
    *(Case(
        key, "39 (Q23, the commit text)", "double zone's batchsize (v4.19)" + what, role,
        {"cpus": 192, "nodes": 4, "mem": "704GiB", "mix": "page_fault2", "kernel": "v6.6",
         **lru},
        "'4-sockets Skylake': LKP's lkp-skl-4sp1 (192 threads Skylake-4S with 704G memory, "
        "as LKP reports name it) as 4 nodes of 48 CPUs, one task per CPU (process mode, "
        "nr_task not stated: 100% assumed); the posting's kernel is v4.18: v6.6 with the "
        "v5.14 PCP series reverted (44042b449872, b92ca18e8ca5, 3b12e7e97938, c49c2c47dab6: "
        "order-0 PCP only, high = 6 * batch), so 31/186 before and 63/378 after; what v4.18 "
        "lacks besides has no switch here; the published change is a range over the "
        "Skylake and Broadwell 4-socket machines, +10% to +18%: its midpoint is the "
        "published figure",
        steps=(("batch 31 (v4.18)", {"revert": ",".join((*V418, "d8a759b57035"))}),
               ("batch 63 (d8a759b57035)", {"revert": ",".join(V418)})),
        metrics=(Metric("page_fault2 score", "throughput_ops_per_s", (100.0, 114.0)),),
        cap="10s",
    ) for key, what, role, lru in (
        ("d8a759b57035-page_fault2", "", "validation", {}),
        ("d8a759b57035-page_fault2-lru", ", with the LRU lock (knob.lru_lock = 1: Mel "
         "Gorman, replying in 2018, reads the commit log as moving page_fault2's contention "
         "from zone->lock to the LRU lock)", "variant", {"knob.lru_lock": 1}))),
    Case(
        "rfc-depth-tuning", "10, 11, 12 (Q9)", "the July 2023 RFC of depth-based PCP tuning",
        "validation", {}, "", missing="not the merged code: the RFC's algorithm differs "
        "from 51a755c56dc0, and the model has only what was merged"),
)


def measure(r: Any, what: str) -> tuple[float, float]:
    """The record's value of a case metric and its 95% half-width (0 when it has none)."""
    ops = max(r["ops"], 1)
    if what == "time":  # a fixed amount of work: time goes as 1 / throughput
        t, hw = r["throughput_ops_per_s"], r.get("throughput_ops_per_s_ci95") or 0.0
        return 1.0 / t, hw / t / t
    if what == "free_high_per_op":
        return r["pcp_free_high_drains"] / ops, 0.0
    if what == "zone_alloc_pages_per_op":
        return (r["pcp_refill_pages"] + r["buddy_allocs"]) / ops, 0.0
    if what == "hold_us_per_drain":
        return r["zone_lock_hold_ns"] / max(r["zone_lock_acquisitions"], 1) / 1e3, 0.0
    return float(r[what]), float(r.get(f"{what}_ci95") or 0.0)


def _run(flat: dict[str, Any]) -> dict[str, Any]:
    t0 = time.process_time()
    r = simulate(Spec.from_flat(flat))
    out = dict(r)
    out["cpu_s"] = time.process_time() - t0
    return out


def run_case(case: Case, cap: str, seed: int, pool: ProcessPoolExecutor,
             sets: dict[str, Any] | None = None) -> dict[str, Any]:
    if case.missing:
        return {"key": case.key, "missing": case.missing}
    flats = [{**case.machine, **keys, **(sets or {}), "seed": seed, "duration": "auto",
              "warmup": "auto", "duration_cap": case.cap or cap} for _, keys in case.steps]
    records = list(pool.map(_run, flats))
    steps = []
    for (label, keys), r in zip(case.steps, records, strict=True):
        values = {m.name: measure(r, m.model) for m in case.metrics}
        steps.append({"label": label, "keys": keys, "stationary": bool(r["stationary"]),
                      "window_s": r["window_ns"] / 1e9, "warmup_s": r["warmup_ns"] / 1e9,
                      "cpu_s": r["cpu_s"], "values": values})
    return {"key": case.key, "steps": steps, "sim_version": SIM_VERSION}


def changes(case: Case, result: dict[str, Any]) -> list[dict[str, Any]]:
    """Per metric and step after the base: the published and the model's relative change."""
    rows = []
    base = result["steps"][0]["values"]
    for i, step in enumerate(result["steps"][1:], start=1):
        for k, m in enumerate(case.metrics):
            pub = m.published[i] / m.published[0] - 1.0
            (v, hw), (v0, hw0) = step["values"][m.name], base[m.name]
            values = (m.published[0], m.published[i], v0, v)
            model = v / v0 - 1.0 if v0 else math.nan
            ci = math.hypot(hw / v0, v * hw0 / v0 / v0) if v0 else math.nan
            same_sign = (abs(pub) < SAME and abs(model) < max(SAME, ci)) or (
                pub * model > 0 and abs(model) >= SAME)
            ratio = model / pub if abs(pub) >= SAME else math.nan
            rows.append({"step": step["label"], "metric": m.name, "values": values,
                         "published": pub,
                         "model": model, "ci": ci, "sign": same_sign, "ratio": ratio,
                         "stationary": step["stationary"] and result["steps"][0]["stationary"],
                         "first": k == 0})
    return rows


def markdown(results: dict[str, dict[str, Any]], cap: str, seed: int,
             version: str = SIM_VERSION, sets: dict[str, Any] | None = None) -> str:
    versions = {r.get("sim_version", version) for r in results.values() if "steps" in r}
    on = (f"on simulator {version}" if versions <= {version} else
          "on the simulator version each case names (`--update` reran some cases)")
    table = "the default cost table"
    flags = ""
    if sets:
        table = "the default cost table but " + ", ".join(f"{k} = {v}" for k, v in sets.items())
        flags = "".join(f" --set {k}={v}" for k, v in sets.items())
    if set(results) != {c.key for c in CASES}:
        flags = f" --cases {','.join(c.key for c in CASES if c.key in results)}" + flags
    lines = [
        f"Made by `python validation/retrodiction.py --cap {cap} --seed {seed}{flags} "
        f"--write-docs` {on}: one seed, each point at steady state (duration and "
        f"warm-up auto, cap {cap} unless the case says), {table}. Changes are "
        "relative to each case's first row; ± is the model's 95% half-width where the "
        "metric has one. 'sign' agrees when both changes have the same sign or both are "
        f"below {100 * SAME:.1f}%; 'ratio' is model / published.",
        "",
    ]
    scored = []
    for case in CASES:
        res = results.get(case.key)
        if res is None:
            continue
        lines.append(f"**{case.key}** ({case.role}; rows {case.rows}): {case.change}.")
        if case.missing:
            lines += [f"Not expressible: {case.missing}.", ""]
            continue
        lines.append(f"Machine: {case.machine_note}.")
        lines.append("")
        lines.append("| step | metric | published: base -> step | model: base -> step | "
                     "published change | model change | sign | ratio | stationary |")
        lines.append("|---|---|---:|---:|---:|---:|---|---:|---|")
        for row in changes(case, res):
            ci = f" ± {100 * row['ci']:.1f}%" if row["ci"] and math.isfinite(row["ci"]) else ""
            ratio = f"{row['ratio']:.2f}" if math.isfinite(row["ratio"]) else "-"
            p0, p1, m0, m1 = row["values"]
            lines.append(
                f"| {row['step'] if row['first'] else ''} | {row['metric']} | "
                f"{_num(p0)} -> {_num(p1)} | {_num(m0)} -> {_num(m1)} | "
                f"{100 * row['published']:+.1f}% | {100 * row['model']:+.1f}%{ci} | "
                f"{'yes' if row['sign'] else 'no'} | {ratio} | "
                f"{'yes' if row['stationary'] else 'no'} |")
            if case.role == "validation":
                scored.append(row)
        cpu = sum(s["cpu_s"] for s in res["steps"])
        lines += ["", f"({len(res['steps'])} points, {cpu / 60:.1f} CPU-minutes, simulator "
                  f"{res.get('sim_version', version)}.)", ""]
    attempted = [c for c in CASES if c.key in results and not c.missing]
    missed = [c for c in CASES if c.key in results and c.missing]
    signs = sum(r["sign"] for r in scored)
    with_ratio = [r for r in scored if math.isfinite(r["ratio"])]
    within = sum(0.5 <= r["ratio"] <= 2.0 for r in with_ratio)
    lines.append(
        f"Score (validation rows only): sign agrees on {signs} of {len(scored)}; the ratio "
        f"lies in [0.5, 2] on {within} of {len(with_ratio)} (rows whose published change is "
        f"at least {100 * SAME:.1f}%). Cases attempted: {len(attempted)}; not expressible: "
        f"{len(missed)}.")
    return "\n".join(lines)


def _num(x: float) -> str:
    """A metric's value in 4 significant digits (times, shares and rates alike)."""
    return f"{x:.4g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="", help="comma-separated case keys (default: all)")
    parser.add_argument("--cap", default="30s", help="duration_cap of each point")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--from-json", type=Path, help="render this earlier --json run")
    parser.add_argument("--update", type=Path, help="an earlier --json run: rerun --cases "
                        "in it, keep its other cases (each case keeps its simulator version)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="a spec key for every point, e.g. cost.zone_lock_handoff_ns=480: "
                        "the table is then written between the retrodiction-set markers")
    args = parser.parse_args()
    sets: dict[str, Any] = parse_sets(args.sets)
    keys = [k for k in args.cases.split(",") if k] or [c.key for c in CASES]
    unknown = set(keys) - {c.key for c in CASES}
    if unknown:
        parser.error(f"unknown case {', '.join(sorted(unknown))}; known: "
                     f"{', '.join(c.key for c in CASES)}")
    results: dict[str, dict[str, Any]] = {}
    if args.from_json:
        stored = json.loads(args.from_json.read_text())
        results = {k: v for k, v in stored["results"].items() if k in keys}
        args.cap, args.seed, version = stored["cap"], stored["seed"], stored["sim_version"]
        sets = stored.get("sets", {})
    else:
        version = SIM_VERSION
        if args.update:
            stored = json.loads(args.update.read_text())
            for key, res in stored["results"].items():
                if key not in keys and "steps" in res:
                    res.setdefault("sim_version", stored["sim_version"])
            results = {k: v for k, v in stored["results"].items() if k not in keys}
            if stored.get("sets", {}) != sets:
                parser.error(f"--update {args.update} ran with --set {stored.get('sets', {})}, "
                             f"not {sets}")
            if (stored["cap"], stored["seed"]) != (args.cap, args.seed):
                parser.error(f"--update {args.update} ran --cap {stored['cap']} --seed "
                             f"{stored['seed']}: rerun its cases with the same")
            args.json = args.json or args.update
            keys = [c.key for c in CASES if c.key in keys or c.key in results]
        with ProcessPoolExecutor(args.workers) as pool:
            for case in CASES:
                if case.key in keys and case.key not in results:
                    results[case.key] = run_case(case, args.cap, args.seed, pool, sets)
                    print(f"{case.key}: done", flush=True)
    text = markdown(results, args.cap, args.seed, version, sets)
    print(text)
    if args.json:
        stored = {"sim_version": version, "cap": args.cap, "seed": args.seed,
                  "results": results, **({"sets": sets} if sets else {})}
        args.json.write_text(json.dumps(stored, indent=1, default=str) + "\n")
    if args.write_docs:
        write_section(text, *((SET_START, SET_END) if sets else (START, END)))


if __name__ == "__main__":
    main()
