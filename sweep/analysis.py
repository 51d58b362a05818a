"""The statistics behind the verdicts and the regression checks: pure functions over arrays.

Trend (does pcp-buddy's gain grow with CPUs, with memory?): per mix and metric, least squares
of gain = a + b * log2(cpus) + c * log2(memory) over every paired point, so b is the change of
gain per doubling of CPUs at a given memory size and c per doubling of memory at a given CPU
count. Uncertainty: a bootstrap that resamples the seeds within each (cpus, memory) cell
(seeds are the independent samples; cells are the design), 2000 draws, a fixed RNG. Second
opinion: Spearman's rho between the axis and the gain. Verdict, with `min_slope` the smallest
growth worth the name (0.5 percentage point of gain per doubling by default):
    supported       the 95% interval of the slope lies above 0
    not supported   the interval lies below min_slope: flat or shrinking
    inconclusive    otherwise (more seeds or points would decide)
With a single memory size (or CPU count) that axis is not estimated: "not swept".

Regression (did a change make something worse?) is decided in regress.py from the tests
here: paired differences on the log scale (pooled_tests per point, curve_change per scaling
curve), Benjamini-Hochberg across the whole grid, and a minimum effect size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

BOOTSTRAP = 2000
RNG_SEED = 20260403  # the RFC's date: a fixed seed, so reports are reproducible


@dataclass(frozen=True)
class Trend:
    slope: float  # per doubling
    lo: float
    hi: float
    rho: float  # Spearman
    p: float
    n: int
    verdict: str  # supported / not supported / inconclusive / not swept


def _design(x1: np.ndarray, x2: np.ndarray | None) -> np.ndarray:
    return np.column_stack([np.ones_like(x1), x1] + ([x2] if x2 is not None else []))


def _verdict(lo: float, hi: float, min_slope: float) -> str:
    if lo > 0:
        return "supported"
    if hi < min_slope:
        return "not supported"
    return "inconclusive"


def trends(
    log2_cpus: np.ndarray, log2_mem: np.ndarray, gain: np.ndarray, min_slope: float = 0.005
) -> tuple[Trend, Trend]:
    """Growth of `gain` with CPUs and with memory (each at the other held fixed)."""
    ok = np.isfinite(gain)
    x1, x2, y = log2_cpus[ok], log2_mem[ok], gain[ok]
    swept = (len(np.unique(x1)) > 1, len(np.unique(x2)) > 1)
    if len(y) < 3 or not any(swept):
        none = Trend(np.nan, np.nan, np.nan, np.nan, np.nan, len(y), "not swept")
        return none, none
    design = _design(x1 if swept[0] else x2, x2 if all(swept) else None)
    pinv = np.linalg.pinv(design)
    coef = pinv @ y
    # Resampling seeds within a (cpus, memory) cell leaves the design as it is: each draw is
    # the same least squares over resampled y, so all draws are one matrix product.
    cells: dict[tuple[float, float], list[int]] = {}
    for i, key in enumerate(zip(x1, x2, strict=True)):
        cells.setdefault(key, []).append(i)
    rng = np.random.default_rng(RNG_SEED)
    idx = np.empty((BOOTSTRAP, len(y)), dtype=np.int64)
    for members in cells.values():
        g = np.array(members)
        idx[:, g] = g[rng.integers(0, len(g), (BOOTSTRAP, len(g)))]
    draws = y[idx] @ pinv.T
    lo, hi = np.percentile(draws, [2.5, 97.5], axis=0)
    out = []
    slot = 1
    for axis, x in enumerate((x1, x2)):
        if not swept[axis]:
            out.append(Trend(np.nan, np.nan, np.nan, np.nan, np.nan, len(y), "not swept"))
            continue
        # a constant gain (say, a metric neither policy moves) has no rank correlation
        rho, p = stats.spearmanr(x, y) if np.ptp(y) > 0 else (np.nan, np.nan)
        out.append(Trend(float(coef[slot]), float(lo[slot]), float(hi[slot]), float(rho),
                         float(p), len(y), _verdict(lo[slot], hi[slot], min_slope)))
        slot += 1
    return out[0], out[1]


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Adjusted p-values (q-values) controlling the false discovery rate; NaN stays NaN."""
    p = np.asarray(p, dtype=float)
    q = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return q
    order = np.argsort(p[ok])
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adj = np.empty(m)
    adj[order] = np.minimum(ranked, 1.0)
    q[ok] = adj
    return q


def pooled_tests(cells: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per cell (the replicate differences of one point), the mean and the two-sided p of a
    t-test against 0 whose variance is pooled over all `cells` (df = sum of n - 1).

    The cells are the CPU counts of one curve: the simulator's seed-to-seed noise is a property
    of the workload, so pooling turns three seeds per point into a usable test. Without any
    within-cell degree of freedom p is NaN; with zero variance it is 0 or 1."""
    means = np.array([c.mean() if len(c) else np.nan for c in cells])
    ss = sum(float(((c - c.mean()) ** 2).sum()) for c in cells if len(c))
    df = sum(max(len(c) - 1, 0) for c in cells)
    p = np.full(len(cells), np.nan)
    if df < 1:
        return means, p
    s2 = ss / df
    for i, c in enumerate(cells):
        if not len(c):
            continue
        if s2 <= 1e-24:
            p[i] = 1.0 if abs(means[i]) < 1e-12 else 0.0
        else:
            t = means[i] / np.sqrt(s2 / len(c))
            p[i] = 2 * stats.t.sf(abs(t), df)
    return means, p


@dataclass(frozen=True)
class CurveChange:
    slope: float  # change of the difference per doubling of CPUs
    slope_p: float
    top: float  # mean difference at the largest CPU count
    top_p: float


def curve_change(log2_cpus: np.ndarray, d: np.ndarray) -> CurveChange:
    """How a curve of differences `d` (candidate - baseline, per replicate, log scale) moves:
    its slope against log2(CPUs) (least squares) and its mean at the largest CPU count, each
    with a t-test whose variance is the pooled within-CPU-count variance (the noise of the
    fixed design; lack of fit does not count as noise)."""
    xs = np.unique(log2_cpus)
    cells = [d[log2_cpus == v] for v in xs]
    ss = sum(float(((c - c.mean()) ** 2).sum()) for c in cells)
    df = len(d) - len(xs)
    s2 = ss / df if df >= 1 else np.nan

    def p_of(est: float, var: float) -> float:
        if not np.isfinite(var):
            return np.nan
        if var <= 1e-24:
            return 1.0 if abs(est) < 1e-12 else 0.0
        return float(2 * stats.t.sf(abs(est) / np.sqrt(var), df))

    top = float(cells[-1].mean())
    top_p = p_of(top, s2 / len(cells[-1]))
    if len(xs) < 2:
        return CurveChange(np.nan, np.nan, top, top_p)
    sxx = float(((log2_cpus - log2_cpus.mean()) ** 2).sum())
    slope = float(((log2_cpus - log2_cpus.mean()) * d).sum() / sxx)
    return CurveChange(slope, p_of(slope, s2 / sxx), top, top_p)
