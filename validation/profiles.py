"""Validation: the model against published perf profiles of unmodified kernels
(../shared/reference/allocator-profiles.md), each on the profiled machine and kernel.

    python validation/profiles.py [--profiles R1,R2,R4] [--cap 30s] [--seed 1] [--workers 2]
        [--json FILE] [--write-docs] [--from-json FILE] [--update FILE]

Each profile runs on its machine (sockets as nodes, the stated memory), at the nearest kernel
preset that the profiled kernel does not postdate in what the model switches (R1 and R2
predate the v6.7 PCP auto-tuning series, so v6.6; R4 has it, so v6.7), at steady state,
upstream policy; again
with the LRU lock (`knob.lru_lock = 1`, allocator/mm/swap.py); and at v7.0, which shows how
much of the comparison is the kernel. Printed per profile: the allocator's share of CPU time,
the zone->lock and lru_lock spinning shares, the work rate, the allocator time per allocation
(share x CPU time / allocations) and the whole-kernel %sys.

Roles: each mix's `kernel_frac` default (the non-allocator kernel share) was set from these
profiles' mpstat figures, so the whole-kernel %sys column is calibration; no other constant
was set from them (`cost.lru_folio_ns` is an estimate, not fitted to R1's LRU share), so the
allocator, spinning, rate and per-allocation columns are validation.
Prints a Markdown table and the notes behind each published figure; --write-docs replaces the
section between the profiles markers of docs/validation.md, --from-json renders an earlier
--json run (docs/validation/profiles.json holds the published one), --update FILE reruns
--profiles in an earlier --json run and keeps its others (each keeps its simulator version).
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allocator import SIM_VERSION, Spec, simulate
from docs_section import write_section

START, END = "<!-- profiles:start -->", "<!-- profiles:end -->"


@dataclass(frozen=True)
class Profile:
    key: str
    title: str
    machine: dict[str, Any]  # Spec flat keys of the machine and workload
    kernel: str  # the model's preset for the profiled kernel
    machine_note: str
    alloc_share: float | None  # published allocator share of cycles (validation); None:
    # the report does not print it
    alloc_basis: str
    spin_share: float  # published zone->lock spinning share of cycles (validation)
    spin_basis: str
    lru_share: float  # published lruvec->lru_lock spinning share of cycles (validation)
    lru_basis: str
    rate: float | None  # published work rate (validation)
    rate_what: str  # "pages/s" (machine-wide faults per second) or "allocs/CPU-s"
    rate_basis: str
    per_alloc_ns: float | None  # published allocator time per fault (validation, derived)
    per_alloc_basis: str
    sys_share: float | None  # published whole-kernel %sys of busy time (calibration)
    sys_basis: str


PROFILES: tuple[Profile, ...] = (
    Profile(
        "R1", "R1 page_fault1, Ice Lake 2S, 128 processes, THP never (v5.18-rc4)",
        {"cpus": 128, "nodes": 2, "mem": "128GiB", "mix": "page_fault1"}, "v6.6",
        "lkp-icl-2sp4: the report's metric is will-it-scale.128.processes at nr_task 100% and "
        "LKP's machine line says 128 threads, 2 sockets, 128G (Aaron Lu's text says 48 "
        "cores/96 CPUs; the metric's name is followed); v5.18-rc4 lacks v6.6's free_high, "
        "which order-0 page_fault1 never triggers; the LRU lock runs in the second model row",
        0.477, "get_page_from_freelist 42.83% + free_pcppages_bulk 4.90%",
        0.4053, "nqsls under rmqueue_bulk 36.25% + under free_pcppages_bulk 4.28%",
        0.3213, "nqsls under folio_lruvec_lock_irqsave: release_pages 22.33% + "
        "__pagevec_lru_add 9.80%",
        12_323_894, "pages/s", "will-it-scale.128.processes: pages faulted per second, all tasks",
        0.477 * 128 / 12_323_894 * 1e9, "47.7% x 128 CPUs / 12.32 M faults/s",
        0.985, "mpstat usr 1.49%",
    ),
    Profile(
        "R2", "R2 kbuild, Ice Lake 2S, 128 threads, 128 GiB, THP always (v6.1-rc)",
        {"cpus": 128, "nodes": 2, "mem": "128GiB", "mix": "kbuild"}, "v6.6",
        "lkp-icl-2sp5, base 7b5a0b664ebe (October 2022); nr_task 200% (256 jobs on 128 "
        "CPUs): the model runs one job per CPU, its most; no cgroups",
        0.066, "get_page_from_freelist 5.26% + free_unref_page_list 1.35% (less page "
        "clearing, at most clear_page_erms 2.58%: at least 4.0%)",
        0.0318, "nqsls 3.18% of cycles for every spinlock together: an upper bound",
        0.0134, "_raw_spin_lock_irqsave 1.34% of cycles, every irqsave lock: an upper bound",
        1.433e9 / (8017 + 40321), "allocs/CPU-s",
        "allocation calls per busy CPU-second: proc-vmstat.numa_hit 1.433e9 (zone_statistics() "
        "counts one per allocation; pgalloc_normal, pages, 1.432e9: nearly all order 0) / "
        "(8017 s sys + 40321 s user), fewer than the 1.534e9 minor faults (a fault on a page "
        "already cached allocates nothing); the model's allocation calls per CPU-second",
        0.066 * (8017 + 40321) / 1.433e9 * 1e9,
        "6.6% x 48,338 busy CPU-s / 1.433e9 allocations (4.0% without clearing: 1.35 us)",
        0.164, "mpstat sys 9.32 / (sys 9.32 + usr 47.65)",
    ),
    Profile(
        "R4", "R4 page_fault2, Skylake 2S, 104 processes (v6.8-rc, mm tree of March 2024)",
        {"cpus": 104, "nodes": 2, "mem": "192GiB", "mix": "page_fault2"}, "v6.7",
        "lkp-skl-fpga01: 104 threads, 2 sockets, 192G; process mode, nr_task 100%; the base "
        "kernel (5dad604809, the mm tree before 'mm: make folios_put() the basis of "
        "release_pages()') has the v6.7 auto-tuning and none of the later switched commits, "
        "so v6.7; the report prints only the rows that changed: no allocator share, no rate, "
        "no mpstat line",
        None, "get_page_from_freelist and rmqueue are not printed (free_unref_page_list "
        "0.42%)",
        0.0135, "_raw_spin_lock 1.35% of cycles, zone->lock and every other plain spinlock "
        "(page table locks among them) together: an upper bound",
        0.6647, "nqsls under folio_lruvec_lock_irqsave: folio_batch_move_lru (LRU add) "
        "44.84% + release_pages 21.63%",
        None, "pages/s", "will-it-scale's score is not printed", None, "not printed",
        None, "no mpstat line",
    ),
)


def _run(flat: dict[str, Any]) -> dict[str, Any]:
    t0 = time.process_time()
    out = dict(simulate(Spec.from_flat(flat)))
    out["cpu_s"] = time.process_time() - t0
    return out


# the model's runs of each profile: (label, flat keys besides the machine); the first is the
# profile's own kernel, the others what changes with the LRU lock and with today's kernel
def variants(p: Profile) -> tuple[tuple[str, dict[str, Any]], ...]:
    return ((f"model, {p.kernel}", {"kernel": p.kernel}),
            (f"model, {p.kernel}, knob.lru_lock = 1", {"kernel": p.kernel, "knob.lru_lock": 1}),
            ("model, v7.0", {"kernel": "v7.0"}))


def model_values(p: Profile, r: dict[str, Any]) -> dict[str, Any]:
    """The record's counterparts of the published columns."""
    window_s = r["window_ns"] / 1e9
    cpu_s = r["node_cpus"] * window_s  # the simulated node's CPU time
    allocs = max(r["alloc_ops"], 1)
    if p.rate_what == "pages/s":  # machine-wide: the nodes alike (symmetric shortcut)
        rate = r["pgalloc"] / window_s * r["nodes"]
    else:
        rate = allocs / cpu_s
    return {"alloc_share": r["sys_frac"], "spin_share": r["zone_lock_wait_frac"],
            "lru_share": r["lru_lock_wait_frac"] if r["lru_lock_acquisitions"] else None,
            "rate": rate, "per_alloc_ns": r["sys_frac"] * cpu_s / allocs * 1e9,
            "sys_share": r["kernel_sys_frac"], "stationary": bool(r["stationary"])}


def _pct(x: float | None, missing: str = "not modelled") -> str:
    if x is None:
        return missing
    return f"{100 * x:.2f}%" if x < 0.1 else f"{100 * x:.1f}%"


def _rate(x: float, what: str) -> str:
    return f"{x / 1e6:.2f} M {what}" if x >= 1e6 else f"{x / 1e3:.1f}k {what}"


def markdown(results: dict[str, dict[str, Any]], cap: str, seed: int, version: str) -> str:
    lines = [
        f"Made by `python validation/profiles.py --cap {cap} --seed {seed}` on the simulator "
        f"version each profile names (`--update` reran some): upstream policy, one seed, each "
        f"point at steady state (duration and "
        f"warm-up auto, cap {cap}). Published figures are shares of sampled cycles; the "
        "model's are shares of CPU time.",
        "",
        "| profile | source | allocator share | zone->lock spinning | lru_lock spinning | "
        "rate | allocator time per allocation | whole-kernel %sys (calibration) | "
        "stationary |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    shown = [p for p in PROFILES if p.key in results]
    for p in shown:
        per_alloc = "not printed" if p.per_alloc_ns is None else f"{p.per_alloc_ns / 1e3:.2f} us"
        rate = "not printed" if p.rate is None else _rate(p.rate, p.rate_what)
        lines.append(
            f"| {p.title} | published | {_pct(p.alloc_share, 'not printed')} | "
            f"{_pct(p.spin_share)} | {_pct(p.lru_share)} | {rate} | {per_alloc} | "
            f"{_pct(p.sys_share, 'not printed')} | |")
        for (label, _), r in zip(variants(p), results[p.key]["runs"], strict=True):
            m = model_values(p, r)
            lines.append(
                f"| | {label} | {_pct(m['alloc_share'])} | {_pct(m['spin_share'])} | "
                f"{_pct(m['lru_share'])} | {_rate(m['rate'], p.rate_what)} | "
                f"{m['per_alloc_ns'] / 1e3:.2f} us | {_pct(m['sys_share'])} | "
                f"{'yes' if m['stationary'] else 'no'} |")
    lines.append("")
    for p in shown:
        lines.append(
            f"- **{p.key}** (simulator {results[p.key].get('sim_version', version)}): "
            f"{p.machine_note}. Allocator share: {p.alloc_basis}. Spinning: "
            f"{p.spin_basis}; LRU: {p.lru_basis}. Rate: {p.rate_basis}. Per allocation: "
            f"{p.per_alloc_basis}. Whole-kernel: {p.sys_basis}.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", default="30s", help="duration_cap of each point")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the raw records here")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--from-json", type=Path, help="render this earlier --json run")
    parser.add_argument("--profiles", default="", help="comma-separated keys (default: all)")
    parser.add_argument("--update", type=Path, help="an earlier --json run: rerun --profiles "
                        "in it, keep its others")
    args = parser.parse_args()
    keys = [k for k in args.profiles.split(",") if k] or [p.key for p in PROFILES]
    unknown = set(keys) - {p.key for p in PROFILES}
    if unknown:
        parser.error(f"unknown profile {', '.join(sorted(unknown))}; known: "
                     f"{', '.join(p.key for p in PROFILES)}")
    if args.from_json:
        stored = json.loads(args.from_json.read_text())
        results, version = stored["results"], stored["sim_version"]
        args.cap, args.seed = stored["cap"], stored["seed"]
    else:
        results, version = {}, SIM_VERSION
        if args.update:
            stored = json.loads(args.update.read_text())
            if (stored["cap"], stored["seed"]) != (args.cap, args.seed):
                parser.error(f"--update {args.update} ran --cap {stored['cap']} --seed "
                             f"{stored['seed']}: rerun its profiles with the same")
            results = {k: {"sim_version": stored["sim_version"], **v}
                       for k, v in stored["results"].items() if k not in keys}
            args.json = args.json or args.update
        todo = [p for p in PROFILES if p.key in keys]
        flats = [{**p.machine, **kv, "seed": args.seed, "duration": "auto",
                  "warmup": "auto", "duration_cap": args.cap}
                 for p in todo for _, kv in variants(p)]
        with ProcessPoolExecutor(args.workers) as pool:
            records = iter(list(pool.map(_run, flats)))
        for p in todo:
            results[p.key] = {"sim_version": SIM_VERSION,
                              "runs": [next(records) for _ in variants(p)]}
    text = markdown(results, args.cap, args.seed, version)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"sim_version": version, "cap": args.cap,
                                         "seed": args.seed, "results": results},
                                        indent=1, default=str) + "\n")
    if args.write_docs:
        write_section(text, START, END)


if __name__ == "__main__":
    main()
