"""The steady-state methods on synthetic series: MSER-5's truncation and the coverage of the
batch-means 95% intervals after it, over 400 replications per case.

    python validation/steady_synthetic.py

Series: mean 10, AR(1) noise (innovation sd 1, phi 0 / 0.5 / 0.9), 4000 observations, and a
start-up bias of 8 shaped as a ramp ending at 400 observations, an exponential with time
constant 50 or 150, or none. Prints a Markdown table (docs/validation.md, section 8); the
tests (tests/allocator/test_steady.py) assert the ramp, exp-50 and no-bias rows.
"""

from __future__ import annotations

import numpy as np

from allocator.sim.steady import batch_means, mser

N, MEAN, REPS = 4000, 10.0, 400


def ar1(rng: np.random.Generator, phi: float) -> np.ndarray:
    e = rng.normal(0.0, 1.0, N)
    x = np.empty(N)
    x[0] = e[0] / np.sqrt(1 - phi * phi)
    for i in range(1, N):
        x[i] = phi * x[i - 1] + e[i]
    return x


def bias(kind: str) -> np.ndarray:
    t = np.arange(N)
    return {"ramp to 400": 8 * np.clip(1 - t / 400, 0, None),
            "exp, tau 50": 8 * np.exp(-t / 50),
            "exp, tau 150": 8 * np.exp(-t / 150),
            "none": np.zeros(N)}[kind]


def main() -> None:
    print("| transient | phi | median truncation | intervals refused (correlated) | "
          "coverage of the 95% interval |")
    print("|---|---:|---:|---:|---:|")
    for kind in ("ramp to 400", "exp, tau 50", "exp, tau 150", "none"):
        for phi in (0.0, 0.5, 0.9):
            rng = np.random.default_rng(5)
            cuts, refused, covered = [], 0, 0
            for _ in range(REPS):
                x = MEAN + bias(kind) + ar1(rng, phi)
                cut = mser(x)
                cuts.append(cut)
                b = batch_means(x[cut:])
                if not b.independent:
                    refused += 1
                    continue
                covered += abs(b.mean - MEAN) <= b.half_width
            print(f"| {kind} | {phi:g} | {np.median(cuts):.0f} | {refused / REPS:.1%} | "
                  f"{covered / (REPS - refused):.1%} |", flush=True)


if __name__ == "__main__":
    main()
