"""The steady-state methods on synthetic series whose transient and variance are known."""

import numpy as np
import pytest

from allocator.sim.steady import batch_means, high_converged, mser, von_neumann_independent

N = 4000
TRUE_MEAN = 10.0


def ar1(rng, n, phi, sd=1.0):
    """A stationary AR(1) series around 0 with innovation sd `sd`."""
    e = rng.normal(0.0, sd, n)
    x = np.empty(n)
    x[0] = e[0] / np.sqrt(1 - phi * phi)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return x


def planted(rng, n=N, phi=0.7, bias=8.0, kind="ramp"):
    """True mean plus AR(1) noise plus a start-up bias: a ramp that ends at 400 observations
    (PCPs filling up), or an exponential decay with time constant 50."""
    t = np.arange(n)
    shape = np.clip(1 - t / 400, 0, None) if kind == "ramp" else np.exp(-t / 50)
    return TRUE_MEAN + bias * shape + ar1(rng, n, phi)


def test_mser_finds_the_planted_transient():
    rng = np.random.default_rng(1)
    cuts = [mser(planted(rng)) for _ in range(200)]
    assert all(c is not None for c in cuts)
    cuts = np.array(cuts)
    # the ramp is below the noise's sd (about 1.4) after ~330 observations and ends at 400
    assert 250 <= np.median(cuts) <= 500
    assert (cuts >= 150).mean() > 0.95


def test_mser_keeps_everything_of_a_stationary_series():
    rng = np.random.default_rng(2)
    cuts = np.array([mser(TRUE_MEAN + ar1(rng, N, 0.5)) for _ in range(200)])
    assert np.median(cuts) <= 0.05 * N


def test_mser_says_too_short_when_the_transient_outlasts_half_the_run():
    t = np.arange(N, dtype=float)
    assert mser(100.0 - t / 10) is None  # a trend to the end
    assert mser(np.ones(10)) is None  # two batches: too few to tell


def test_von_neumann_rejects_correlation_and_accepts_independence():
    rng = np.random.default_rng(3)
    rejected = np.mean([not von_neumann_independent(ar1(rng, 200, 0.6)) for _ in range(200)])
    false_alarm = np.mean([not von_neumann_independent(rng.normal(size=200))
                           for _ in range(400)])
    assert rejected > 0.95
    assert 0.04 < false_alarm < 0.17  # the test's level is 0.10


@pytest.mark.parametrize("kind", ["ramp", "exp", "none"])
@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_batch_means_intervals_cover_the_true_mean(phi, kind):
    """95% intervals over the window after the detected warm-up cover the true mean in 90-99%
    of 400 replications (docs/validation.md: a slowly decaying transient, time constant 150,
    is where MSER-5 leaves bias behind and coverage falls to 84-90%)."""
    rng = np.random.default_rng(10 + int(phi * 10) + len(kind))
    covered, refused = 0, 0
    widths = []
    for _ in range(400):
        x = planted(rng, phi=phi, kind=kind) if kind != "none" else TRUE_MEAN + ar1(rng, N, phi)
        b = batch_means(x[mser(x):])
        if not b.independent:  # a run the method would extend, not report
            refused += 1
            continue
        assert b.batches >= 10
        covered += abs(b.mean - TRUE_MEAN) <= b.half_width
        widths.append(b.half_width)
    assert refused <= 0.03 * 400
    assert 0.90 <= covered / (400 - refused) <= 0.99
    # the width follows the noise: sd of the mean of an AR(1) is about sd/(1-phi)/sqrt(n)
    expect = 1.96 / (1 - phi) / np.sqrt(N)
    assert 0.6 * expect < np.median(widths) < 2.0 * expect


def test_batch_means_refuses_a_series_it_cannot_decorrelate():
    t = np.arange(400, dtype=float)
    b = batch_means(np.sin(t / 30.0))  # a period longer than a tenth of the series
    assert not b.independent and b.half_width == np.inf


def test_high_converged_marks_where_the_ramp_ends():
    step = 50_000_000
    t = np.arange(0, 6_000_000_001, step)
    high = np.minimum(1000.0 * t / 2e9, 1000.0)[:, None] + 0.0  # a ramp up to 2 s, then flat
    high = np.hstack([high, np.full_like(high, 500.0)])  # a second class, flat from the start
    at = high_converged(t, high, 1_000_000_000, 0.05)
    # the first 1 s interval whose mean is within 5% of the flat level begins near 1.55 s
    assert 1_400_000_000 <= at <= 1_800_000_000
    assert high_converged(t[:30], high[:30], 1_000_000_000) is None  # under two intervals
    rising = (100.0 + t / 1e7)[:, None]  # rising by more than 5% a second to the end
    at = high_converged(t, rising, 1_000_000_000)  # inside its own second half's band ...
    assert not batch_means(rising[t >= at, 0]).independent  # ... and refused by batch means
    long = np.arange(0, 30_000_000_001, step)
    drift = (1000.0 + long / 4e7)[:, None]  # +25 pages a second: each step small, 75% in all
    # a drift to the end of the run lies in its own second half's band from about 12 s on:
    # the window after it is refused by the batch means, whose successive values correlate
    at = high_converged(long, drift, 1_000_000_000)
    assert 10_000_000_000 <= at <= 14_000_000_000
    assert not batch_means(drift[long >= at, 0]).independent


def test_high_converged_admits_a_steady_swing_wider_than_the_band():
    # a build's links swing pcp->high by +-20% with a 10 s period, after a 3 s fill: settled
    # as the fill reaches the swing's range, not at the end of the run (a 5% band never would)
    step = 50_000_000
    t = np.arange(0, 60_000_000_001, step)
    high = 20_000 * (1 + 0.2 * np.sin(2 * np.pi * t / 10e9))
    high[:60] = np.linspace(1_000, high[60], 60)
    at = high_converged(t, high[:, None], 1_000_000_000, 0.05)
    assert at is not None and 1_000_000_000 <= at <= 3_000_000_000


def test_high_converged_is_not_restarted_by_one_noisy_interval():
    rng = np.random.default_rng(7)
    step = 50_000_000
    t = np.arange(0, 30_000_000_001, step)
    high = 30_000 * (1 + 0.02 * rng.standard_normal(len(t)))
    high[480:500] *= 0.955  # one interval 4.5% low at 24 s: noise, not a transient
    high[:40] = np.linspace(10_000, 30_000, 40)  # filling up over the first 2 s
    at = high_converged(t, high[:, None], 1_000_000_000, 0.05)
    assert at is not None and at <= 2_500_000_000
