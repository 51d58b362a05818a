"""Validation (issue 7, item 3): zone->lock hold time against batch size, beside Huang Ying's
measurements (calibration.md s2: will-it-scale page_fault1, pcp->high forced to 2 * batch,
the code under zone->lock timed with function_graph; LKML 2023-08-16, commit 52166607ecc9).

    python validation/calibration.py [--cpus 32] [--duration 60ms] [--out docs/validation]
        [--cost NAME=NS ...]

For each batch in 63 .. 2047: page_fault1 upstream with knob.pcp_batch = batch and
knob.pcp_high = 2 * batch; the mean zone->lock hold per acquisition (the simulator's lock
timeline: total hold over acquisitions, refills and drains together), beside the pages each
refill and drain moved. Prints the table beside the paper's, the per-page slopes of hold
time against batch, and the line (slope and intercept) fitted over batch 63-511, the sizes
kernels run, beside the V3 posting's Sapphire Rapids free side (published-results.md Q4);
writes calibration.png. `--cost` runs the model with cost overrides (e.g. the calibrated
zone_lock_handoff_ns = 480 with zone_page_ns = 20).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from allocator import Spec, simulate
from allocator.params.costs import default_costs
from allocator.params.units import parse_duration

# calibration.md s2: batch -> (free avg, alloc avg, Cascade Lake free avg), in us. The first two
# columns are the posting's Ice Lake rows (every copy of the V3 series prints 620210.3 page/s at
# batch 63 under 'Ice Lake Server'); calibration.md labels them Sapphire Rapids
HUANG = {
    63: (2.21, 2.02, 3.29),
    127: (4.09, 3.51, 6.12),
    255: (7.70, 6.17, 11.68),
    511: (14.85, 11.66, 22.54),
    1023: (28.55, 20.81, 43.39),
    2047: (56.54, 39.28, 86.64),
}


# the V3 posting of 52166607ecc9 (published-results.md Q4), Sapphire Rapids, free side, us
SPR_V3_FREE = {63: 2.33, 127: 4.35, 255: 8.29, 511: 15.79, 1023: 30.25, 2047: 59.39}
FIT = (63, 127, 255, 511)  # the batch sizes kernels run: the line is fitted over these


def measure(batch: int, cpus: int, duration_ns: int,
            costs: dict[str, int] | None = None) -> dict[str, float]:
    r = simulate(Spec(cpus=cpus, mem_bytes=64 << 30, mix="page_fault1", policy="upstream",
                      seed=1, duration_ns=duration_ns, warmup_ns=duration_ns // 4,
                      knobs={"pcp_batch": batch, "pcp_high": 2 * batch}, costs=costs or {}))
    acq = r["pcp_refills"] + r["pcp_drains"]
    return {
        "hold_per_acq_us": r["zone_lock_hold_ns"] / max(r["zone_lock_acquisitions"], 1) / 1e3,
        "pages_per_refill": r["pcp_refill_pages"] / max(r["pcp_refills"], 1),
        "pages_per_drain": r["pcp_drain_pages"] / max(r["pcp_drains"], 1),
        "refill_share": r["pcp_refills"] / max(acq, 1),
        "throughput": r["throughput_ops_per_s"],
    }


def slope_ns(batches: list[int], us: list[float]) -> float:
    return float(np.polyfit(np.array(batches, float), np.array(us) * 1e3, 1)[0])


def line(batches: list[int] | tuple[int, ...], us: list[float]) -> str:
    """'slope ns/page + intercept us', least squares."""
    slope, icpt = np.polyfit(np.array(batches, float), np.array(us), 1)
    return f"{1e3 * slope:.1f} ns/page + {icpt:.2f} us"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpus", type=int, default=32)
    ap.add_argument("--duration", default="60ms")
    ap.add_argument("--out", type=Path, default=None, help="write calibration.png here")
    ap.add_argument("--cost", action="append", default=[], metavar="NAME=NS",
                    help="a cost override (repeatable)")
    args = ap.parse_args(argv)
    duration = parse_duration(args.duration)
    costs = {}
    for item in args.cost:
        name, sep, value = item.partition("=")
        if not sep or not value.isdigit():
            ap.error(f"--cost {item!r}: expected NAME=NS, a whole number of nanoseconds")
        costs[name] = int(value)
    rows = {b: measure(b, args.cpus, duration, costs) for b in HUANG}
    print("| batch | model hold / acquisition (us) | pages / refill | pages / drain | "
          "paper ICL free (us) | paper ICL alloc (us) | paper CLX free (us) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for b, m in rows.items():
        f, a, c = HUANG[b]
        print(f"| {b} | {m['hold_per_acq_us']:.2f} | {m['pages_per_refill']:.0f} | "
              f"{m['pages_per_drain']:.0f} | {f:.2f} | {a:.2f} | {c:.2f} |")
    batches = list(HUANG)
    model = slope_ns(batches, [rows[b]["hold_per_acq_us"] for b in batches])
    print(f"\nper-page slope of hold time against batch: model {model:.1f} ns; paper Ice Lake free "
          f"{slope_ns(batches, [HUANG[b][0] for b in batches]):.1f} ns, Ice Lake alloc "
          f"{slope_ns(batches, [HUANG[b][1] for b in batches]):.1f} ns, Cascade Lake free "
          f"{slope_ns(batches, [HUANG[b][2] for b in batches]):.1f} ns "
          f"(zone_page_ns = {default_costs()['zone_page_ns']} ns by default)")
    print(f"line over batch {', '.join(map(str, FIT))}: model "
          f"{line(FIT, [rows[b]['hold_per_acq_us'] for b in FIT])}"
          f"{' with ' + ', '.join(f'{k} = {v}' for k, v in costs.items()) if costs else ''}; "
          f"V3 posting's Sapphire Rapids free {line(FIT, [SPR_V3_FREE[b] for b in FIT])}, "
          f"Ice Lake free {line(FIT, [HUANG[b][0] for b in FIT])}, alloc "
          f"{line(FIT, [HUANG[b][1] for b in FIT])}, Cascade Lake free "
          f"{line(FIT, [HUANG[b][2] for b in FIT])}")
    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        args.out.mkdir(parents=True, exist_ok=True)
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(batches, [rows[b]["hold_per_acq_us"] for b in batches], "o-", label="model")
        for i, label in enumerate(("Ice Lake free", "Ice Lake alloc", "Cascade Lake free")):
            ax.plot(batches, [HUANG[b][i] for b in batches], "s--", ms=3, label=label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.set_xlabel("pcp->batch (pcp->high = 2 x batch)")
        ax.set_ylabel("zone->lock hold per acquisition (us)")
        ax.set_title(f"page_fault1, {args.cpus} CPUs: model against Huang Ying (2023)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.out / "calibration.png", dpi=100)
        print(f"written: {args.out / 'calibration.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
