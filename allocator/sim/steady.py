"""Steady state from a run's own time series: where the start-up transient ends, and how
precisely the window after it measures each key metric. Pure functions over arrays.

Warm-up (truncation point), two rules, the later of which wins:
- MSER-5 (White 1997, "An effective truncation heuristic for bias reduction in simulation
  output", Simulation 69(6); White, Cobb and Spratt 2000, "A comparison of five steady-state
  truncation heuristics", WSC): average the series in batches of 5, and truncate the d batches
  that minimise the standard error of the mean of what is left,
      MSER(d) = sum_{j > d} (Z_j - mean_{>d} Z)^2 / (m - d)^2,
  searched over the first half, d <= m / 2 (the usual restriction, White 1997; Hoad, Robinson
  and Davies 2010, "Automating warm-up length estimation", JORS 61(9)): an unrestricted search
  lands on any quiet stretch of the tail, such as pcp->high pinned at high_max. An optimum at
  the end of the search means the run is too short to tell.
- The model's own convergence signal: pcp->high, which decay_pcp_high() and the refill/drain
  auto-tuning move (mm/page_alloc.c, v7.0), averaged over each CPU class (a mix's roles: a
  purger is not a worker). It has settled at the first time from which its mean over every
  later decay interval I (vmstat_interval, 1 s) stays inside the band those means span over
  the second half of the run, widened by CONVERGE_FRAC of its mean there (a settling band, as
  a step response's settling time is read, as wide as the steady swing itself: auto-tuned
  pcp->high follows a workload's slow alloc/free swings by design, a kernel build's links
  swing it by +-10% over ~10 s, and a band of 5% about the mean alone admits such a run only
  in its last seconds). A drift that lasts to the end of the run lies in its own second
  half's band; the batch means below refuse it (a drift's batch means are correlated).
  Comparing each interval with the one before it instead doubles the noise and lets one stray
  interval late in a run restart the count.

Precision: non-overlapping batch means (Fishman and Yarberry 1997, "An implementation of the
batch means method", INFORMS J. Computing 9(3), the LBATCH rule): from MAX_BATCHES batches,
double the batch size until the von Neumann ratio test (von Neumann 1941; Fishman 1978,
Management Science 24(5)) does not reject that successive batch means are uncorrelated at
ALPHA, keeping at least MIN_BATCHES batches (Schmeiser 1982, "Batch size effects in the
analysis of simulation output", Operations Research 30(3)); the 95% half-width is then
t(0.975, k - 1) * s / sqrt(k).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri, stdtrit

MSER_BATCH = 5
ALPHA = 0.10  # level of the von Neumann test (one-sided, against positive correlation)
MIN_BATCHES = 10
MAX_BATCHES = 100  # the first batch size tried gives at most this many batches
CONVERGE_FRAC = 0.05  # pcp->high: largest relative change of a decay interval's mean


def mser(x: np.ndarray, batch: int = MSER_BATCH) -> int | None:
    """MSER-`batch` truncation point, in observations of `x` (a multiple of `batch`), or None
    when the optimum is the half-way point (or the series has fewer than 4 batches)."""
    m = len(x) // batch
    if m < 4:
        return None
    z = np.asarray(x[: m * batch], dtype=float).reshape(m, batch).mean(axis=1)
    # sums over the tail j >= d, for every d, from reversed cumulative sums
    s1 = np.cumsum(z[::-1])[::-1]
    s2 = np.cumsum((z * z)[::-1])[::-1]
    n = np.arange(m, 0, -1, dtype=float)
    sse = s2 - s1 * s1 / n
    stat = np.maximum(sse, 0.0) / (n * n)
    half = m // 2
    d = int(np.argmin(stat[: half + 1]))
    if d == half:  # the optimum is where the search stops: the transient may go on
        return None
    return d * batch


def von_neumann_independent(y: np.ndarray, alpha: float = ALPHA) -> bool:
    """True when the von Neumann ratio test does not reject independence of `y` against
    positive lag-1 correlation: C = 1 - sum (y_i - y_{i+1})^2 / (2 sum (y_i - mean)^2) is
    approximately normal with variance (k - 2) / (k^2 - 1) under independence."""
    k = len(y)
    ss = float(((y - y.mean()) ** 2).sum())
    if ss <= 0.0:
        return True  # a constant series: nothing correlated to speak of
    c = 1.0 - float((np.diff(y) ** 2).sum()) / (2.0 * ss)
    return c <= float(ndtri(1.0 - alpha)) * math.sqrt((k - 2) / (k * k - 1.0))


@dataclass(frozen=True)
class BatchMeans:
    mean: float  # mean over all of the series
    half_width: float  # 95% half-width (inf when no batch size passed)
    batch: int  # observations per batch
    batches: int
    independent: bool  # the von Neumann test passed at that batch size


def batch_means(
    x: np.ndarray,
    alpha: float = ALPHA,
    min_batches: int = MIN_BATCHES,
    max_batches: int = MAX_BATCHES,
) -> BatchMeans:
    """LBATCH: from the batch size giving `max_batches` batches, the first doubling whose means
    pass the independence test with at least `min_batches` batches. The oldest observations
    that do not fill a batch are left out of the interval (not of the mean). Starting at a
    hundred batches rather than at single observations keeps the test from chasing, with
    thousands of batches, correlation too small to bias the interval."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    mean = float(x.mean()) if n else math.nan
    b = max(1, -(-n // max_batches))
    while n // b >= min_batches:
        k = n // b
        y = x[n - k * b :].reshape(k, b).mean(axis=1)
        if von_neumann_independent(y, alpha):
            s = float(y.std(ddof=1))
            hw = float(stdtrit(k - 1, 0.975)) * s / math.sqrt(k)
            return BatchMeans(mean, hw, b, k, True)
        b *= 2
    return BatchMeans(mean, math.inf, b, n // b, False)


def high_converged(
    t_ns: np.ndarray, high: np.ndarray, interval_ns: int, frac: float = CONVERGE_FRAC
) -> int | None:
    """When pcp->high settled: `high` is (samples, classes), sampled at times `t_ns` (uniform).
    Settled at the first sample from which the mean over every later decay interval stays
    inside the range those means span over the run's second half, widened by `frac` of the
    second half's mean, on every class, with at least two intervals of run left to judge by.
    None: not settled, or the run is under two intervals."""
    if len(t_ns) < 3:
        return None
    step = int(t_ns[1] - t_ns[0])
    w = max(1, interval_ns // step)
    n = len(t_ns)
    if n < 2 * w:
        return None
    h = np.asarray(high, dtype=float).reshape(n, -1)
    c = np.vstack([np.zeros((1, h.shape[1])), np.cumsum(h, axis=0)])
    win = (c[w:] - c[:-w]) / w  # win[i]: mean of samples i .. i + w - 1
    half = n // 2
    band = frac * np.maximum((c[n] - c[half]) / (n - half), 1.0)  # of the second half's mean
    top = win[half:].max(axis=0) + band  # the intervals starting in the second half
    bottom = win[half:].min(axis=0) - band
    starts = n - 2 * w + 1  # candidates i keep two intervals after them
    hi = np.maximum.accumulate(win[::-1], axis=0)[::-1][:starts]  # max over windows j >= i
    lo = np.minimum.accumulate(win[::-1], axis=0)[::-1][:starts]
    ok = np.all((hi <= top) & (lo >= bottom), axis=1)
    first = np.nonzero(ok)[0]
    return int(t_ns[first[0]]) if len(first) else None
