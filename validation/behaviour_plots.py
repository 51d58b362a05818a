"""Plots for docs/validation.md, section 5 (the checks themselves are
tests/allocator/test_behaviour.py):

    python validation/behaviour_plots.py --out docs/validation

- pcp_high.png: mean pcp->high of 4 CPUs that allocate and free 5000 pages each, then idle
  (nr_pcp_high() auto-tuning, decay_pcp_high() every vmstat interval);
- kswapd.png: free pages of the pressure mix (4 CPUs, 1 GiB, 10 us per step) against the min,
  low and high watermarks (balance_pgdat()).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from allocator import Spec, derive_machine, simulate  # noqa: E402
from sweep.trace.pattern import mix_inputs, write_pattern  # noqa: E402

GIB = 1 << 30


def pcp_high(out: Path) -> None:
    rows = [(i * 2000, c, 12_000_000 + i * 2000, c) for c in range(4) for i in range(5000)]
    rows.append((3_400_000_000, 0, 3_400_000_100, 0))
    t_alloc, cpu, t_free, cpu_free = (list(x) for x in zip(*rows, strict=True))
    n = len(rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.parquet"
        write_pattern(path, {"t_alloc_ns": t_alloc, "cpu": cpu, "order": [0] * n,
                             "migratetype": [1] * n, "t_free_ns": t_free, "cpu_free": cpu_free})
        spec = Spec(cpus=4, mem_bytes=GIB, mix="trace", seed=1, duration_ns=3_500_000_000,
                    sample_ns=10_000_000, mix_params={"pattern": str(path), "repeat": 1})
        r = simulate(spec, inputs=mix_inputs(spec))
    m = derive_machine(4, GIB)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(r.samples["t_ns"] / 1e9, r.samples["pcp_high_mean"], label="mean pcp->high")
    ax.plot(r.samples["t_ns"] / 1e9, r.samples["pcp_pages"] / 4, label="pages per PCP")
    ax.axhline(m.high_min, color="grey", ls=":", label="high_min")
    ax.axhline(m.high_max, color="grey", ls="--", label="high_max")
    ax.set_xlabel("time (s): frees in the first 22 ms, then idle")
    ax.set_ylabel("pages")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "pcp_high.png", dpi=100)


def kswapd(out: Path) -> None:
    r = simulate(Spec(cpus=4, mem_bytes=GIB, mix="pressure", seed=1, duration_ns=300_000_000,
                      mix_params={"op_ns": "10us"}))
    m = derive_machine(4, GIB)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    t = r.samples["t_ns"] / 1e6
    ax.plot(t, r.samples["nr_free_pages"], label="free pages")
    for value, name, style in ((m.wmark_min, "min", ":"), (m.wmark_low, "low", "--"),
                               (m.wmark_high, "high", "-.")):
        ax.axhline(value, color="grey", ls=style, label=name)
    ax.set_ylim(0, 3 * m.wmark_high)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("pages")
    ax.set_title("pressure, 4 CPUs, 1 GiB: kswapd between low and high", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "kswapd.png", dpi=100)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("docs/validation"))
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    pcp_high(args.out)
    kswapd(args.out)
    print(f"written: {args.out / 'pcp_high.png'}, {args.out / 'kswapd.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
