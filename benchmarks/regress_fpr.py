"""How often `sweep regress` flags a change that is not there, and finds one that is, on
synthetic result sets (tests/sweep/test_analysis.py's generator: 2 mixes x 2 policies x 4 CPU
counts x 3 seeds, every metric with multiplicative noise):

    python benchmarks/regress_fpr.py [--grids 1000]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sweep.regress import compare  # noqa: E402
from tests.sweep.test_analysis import synthetic_sets  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grids", type=int, default=1000)
    n = ap.parse_args().grids
    for noise in (0.01, 0.04):
        rng = np.random.default_rng(11)
        verdicts = Counter(compare(*synthetic_sets(rng, noise=noise)).verdict for _ in range(n))
        print(f"no change, noise {noise:.0%}: {dict(verdicts)} of {n} grids")
    rng = np.random.default_rng(12)
    planted = Counter(compare(*synthetic_sets(
        rng, noise=0.02, worse=lambda m, p, c: 0.9 if m == "a" and c >= 32 else 1.0)).verdict
        for _ in range(n))
    print(f"10% slower on one mix from 32 CPUs, noise 2%: {dict(planted)} of {n} grids")


if __name__ == "__main__":
    main()
