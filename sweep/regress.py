"""`sweep regress`: did the candidate results get worse than the baseline? For nightly CI.

Matching: baseline and candidate points are matched by sweep and param_id (same parameters and
replicate, hence the same seed: seeds derive from the workload), whatever simulator version
made them. Every comparison is a paired difference on the log scale, replicate by replicate,
signed so that positive is better: d = log(candidate / baseline) for throughput, the negative
of it for %sys, zone->lock wait and p99 allocation latency.

The checks, for each mix, memory size and metric:
- point: each policy at each CPU count, the mean of d over the replicates;
- curve slope: each policy's d against log2(CPUs), and the same for the gain (pcp-buddy over
  upstream): did scaling get worse per doubling of CPUs?
- curve top: the gain at the largest CPU count: did the RFC's advantage shrink where it
  matters most?
Each is a t-test whose variance is pooled within CPU counts over the curve (seeds are the
samples; three seeds per point alone give a test with no power), see analysis.py.

Only points stationary in both runs are compared (allocator/sim/runlength.py): any other shared
point makes the outcome inconclusive, naming it, as a transient says nothing about a change.

The rule (asv's and mmtests' spirit: significance *and* size, never size alone): a check is a
regression when its Benjamini-Hochberg adjusted p across every check of the run is below 0.05
(so a grid of hundreds of points is not a lottery) and it is worse by at least `min_effect`
(5%, points and tops) or `min_slope` (2% per doubling of CPUs, slopes). A check that is that
much worse but not significant is inconclusive: more seeds would decide. We chose adjusted
t-tests over mmtests' interval non-overlap because non-overlap of two 95% intervals is a test
at roughly 0.5% that ignores the pairing common random numbers give us, and over asv's
Mann-Whitney because three seeds cannot reach significance in a rank test.

Outcome and exit code: 0 no regression, 1 regression, 3 inconclusive, 2 usage or
infrastructure error.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import duckdb
import numpy as np

from allocator.core import catalogue
from allocator.params.errors import SpecError
from allocator.params.units import format_size
from allocator.policies import RFC, UPSTREAM

from .analysis import benjamini_hochberg, curve_change, pooled_tests
from .db import connect

# metric -> +1 if higher is better, -1 if lower is better. Rates and latencies, never counts:
# an auto point's window has its own length, so a count (zone_lock_wait_ns) would differ
# between two runs of the very same behaviour.
METRICS = catalogue.rates()
EXIT = {"pass": 0, "regression": 1, "inconclusive": 3}


@dataclass
class Finding:
    kind: str  # point / slope / top
    where: str  # readable location
    metric: str
    worse_by: float  # fraction (point, top) or per doubling of CPUs (slope); > 0 is worse
    p: float  # adjusted p (points); NaN for curves
    status: str  # regression / inconclusive / ok


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    shared_points: int = 0
    min_effect: float = 0.05
    min_slope: float = 0.02

    @property
    def verdict(self) -> str:
        statuses = {f.status for f in self.findings}
        if "regression" in statuses:
            return "regression"
        return "inconclusive" if "inconclusive" in statuses else "pass"

    @property
    def exit_code(self) -> int:
        return EXIT[self.verdict]


def load(results: str, sweep: str | None, version: str | None,
         metrics: tuple[str, ...] = tuple(METRICS)) -> dict[str, Any]:
    try:
        con = connect(results)
    except duckdb.Error as exc:
        raise SpecError(f"{results}: cannot read results: {str(exc).splitlines()[0]}") from None
    where, params = [], []
    if sweep:
        where.append("sweep = ?")
        params.append(sweep)
    if version:
        where.append("sim_version = ?")
        params.append(version)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    versions = [r[0] for r in con.execute(
        f"SELECT DISTINCT sim_version FROM points {clause}", params).fetchall()]
    if len(versions) > 1:
        raise SpecError(f"{results}: holds points of {len(versions)} simulator versions "
                        f"({', '.join(versions)}); choose one with --baseline-version / "
                        f"--candidate-version")
    cols = ["sweep", "param_id", "pair_id", "replicate", "mix", "policy", "cpus", "mem_bytes",
            "nodes", "seed", "stationary", *metrics]
    select = ", ".join("coalesce(nodes, 1) AS nodes" if c == "nodes" else c for c in cols)
    rows = con.execute(f"SELECT {select} FROM points {clause}", params).fetchall()
    return {(r[0], r[1]): dict(zip(cols, r, strict=True)) for r in rows}


# sweep, mix, series (a policy or "gain"), mem, nodes, metric: one curve against CPUs
Key = tuple[str, str, str, int, int, str]


def _series(baseline: dict, candidate: dict, shared: list) -> dict[Key, tuple[list, list]]:
    """Per curve, the CPU counts and the paired differences d (positive is better)."""
    out: dict[Key, tuple[list, list]] = defaultdict(lambda: ([], []))
    pairs: dict[tuple[str, str], dict[str, tuple]] = defaultdict(dict)
    for key in shared:
        b, c = baseline[key], candidate[key]
        pairs[(b["sweep"], b["pair_id"])][b["policy"]] = key
        for metric, direction in METRICS.items():
            if b[metric] and c[metric] and b[metric] > 0 and c[metric] > 0:
                nodes = b.get("nodes") or 1
                xs, ds = out[(b["sweep"], b["mix"], b["policy"], b["mem_bytes"], nodes, metric)]
                xs.append(b["cpus"])
                ds.append(direction * np.log(c[metric] / b[metric]))
    for by_policy in pairs.values():
        if not {UPSTREAM, RFC} <= set(by_policy):
            continue
        up, rfc = by_policy[UPSTREAM], by_policy[RFC]
        b = baseline[up]
        for metric, direction in METRICS.items():
            vals = (baseline[up][metric], baseline[rfc][metric],
                    candidate[up][metric], candidate[rfc][metric])
            if not all(v and v > 0 for v in vals):
                continue
            bu, br, cu, cr = np.log(np.array(vals, dtype=float))
            xs, ds = out[(b["sweep"], b["mix"], "gain", b["mem_bytes"], b.get("nodes") or 1,
                          metric)]
            xs.append(b["cpus"])
            ds.append(direction * ((cr - cu) - (br - bu)))
    return out


def _worse(direction: int, d: float) -> float:
    """A mean log difference as a fraction the metric got worse by (> 0 is worse)."""
    return 1 - np.exp(d) if direction > 0 else np.exp(-d) - 1


def compare(baseline: dict, candidate: dict, *, min_effect: float = 0.05,
            min_slope: float = 0.02, alpha: float = 0.05) -> Outcome:
    shared = sorted(set(baseline) & set(candidate))
    out = Outcome(shared_points=len(shared), min_effect=min_effect, min_slope=min_slope)
    transient = [k for k in shared
                 if not (baseline[k]["stationary"] and candidate[k]["stationary"])]
    if transient:  # only steady-state points are compared; the others make it inconclusive
        names = [_point_name(baseline[k], candidate[k]) for k in transient]
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        out.findings.append(Finding("transient", f"{len(transient)} points not stationary: "
                                    f"{shown}", "stationary", np.nan, np.nan, "inconclusive"))
        shared = [k for k in shared if k not in set(transient)]
    checks = []  # (kind, where, metric, worse, threshold, p)
    for (sweep, mix, series, mem, nodes, metric), (xs, ds) in sorted(
            _series(baseline, candidate, shared).items(), key=lambda kv: str(kv[0])):
        direction = METRICS[metric]
        x, d = np.log2(np.array(xs, dtype=float)), np.array(ds)
        what = f"{sweep}: {mix} {series} mem={format_size(mem)}" + (
            f" nodes={nodes}" if nodes > 1 else "")
        if series != "gain":
            cpus = np.unique(xs)
            means, ps = pooled_tests([d[np.array(xs) == c] for c in cpus])
            for c, m, p in zip(cpus, means, ps, strict=True):
                checks.append(("point", f"{what} cpus={c}", metric, _worse(direction, m),
                               min_effect, p))
        change = curve_change(x, d)
        if np.isfinite(change.slope):
            checks.append(("slope", f"{what} against log2(CPUs)", metric, -change.slope,
                           min_slope, change.slope_p))
        if series == "gain":
            checks.append(("top", f"{what} cpus={max(xs)}", metric,
                           _worse(direction, change.top), min_effect, change.top_p))
    q = benjamini_hochberg(np.array([c[5] for c in checks], dtype=float))
    for (kind, where, metric, worse, threshold, _), qv in zip(checks, q, strict=True):
        if worse < threshold:
            status = "ok"
        elif np.isfinite(qv) and qv < alpha:
            status = "regression"
        else:
            status = "inconclusive"
        out.findings.append(Finding(kind, where, metric, float(worse), float(qv), status))
    return out


def _point_name(b: dict, c: dict) -> str:
    which = [n for n, r in (("baseline", b), ("candidate", c)) if not r["stationary"]]
    return (f"{b['mix']} {b['policy']} {b['cpus']} CPUs/{format_size(b['mem_bytes'])} "
            f"seed {b['seed']} ({' and '.join(which)})")


def run_regress(
    baseline: str,
    candidate: str,
    *,
    sweep: str | None = None,
    baseline_version: str | None = None,
    candidate_version: str | None = None,
    min_effect: float = 0.05,
    min_slope: float = 0.02,
) -> Outcome:
    return decide(load(baseline, sweep, baseline_version),
                  load(candidate, sweep, candidate_version), min_effect, min_slope)


def decide(base: dict, cand: dict, min_effect: float = 0.05, min_slope: float = 0.02) -> Outcome:
    outcome = compare(base, cand, min_effect=min_effect, min_slope=min_slope)
    if outcome.shared_points == 0:
        raise SpecError("baseline and candidate share no point (same sweep and parameters)")
    return outcome


def markdown(outcome: Outcome) -> str:
    counts = defaultdict(int)
    for f in outcome.findings:
        counts[f.status] += 1
    lines = [
        f"# sweep regress: {outcome.verdict.upper()}",
        "",
        f"{outcome.shared_points} shared points; {len(outcome.findings)} checks: "
        f"{counts['regression']} regressions, {counts['inconclusive']} inconclusive, "
        f"{counts['ok']} fine. A regression: worse by at least {100 * outcome.min_effect:g}% "
        f"(a point, or the gain at the largest CPU count) or by {100 * outcome.min_slope:g}% per "
        f"doubling of CPUs (a scaling slope), with a Benjamini-Hochberg adjusted p below "
        f"0.05 across all checks.",
        "",
    ]
    flagged = [f for f in outcome.findings if f.status != "ok"]
    if flagged:
        lines += ["| status | where | metric | worse by | adjusted p |", "|---|---|---|---|---|"]
        for f in sorted(flagged, key=lambda f: (f.status, -f.worse_by)):
            worse = (f"{100 * f.worse_by:.1f}%" if f.kind not in ("slope", "transient")
                     else "-" if f.kind == "transient"
                     else f"{100 * f.worse_by:.1f}% per doubling")
            p = f"{f.p:.2g}" if np.isfinite(f.p) else "-"
            lines.append(f"| {f.status} | {f.where} | {f.metric} | {worse} | {p} |")
    return "\n".join(lines) + "\n"


def junit(outcome: Outcome) -> str:
    cases = []
    for f in outcome.findings:
        name = quoteattr(f"{f.where} {f.metric}")
        body = ""
        if f.status == "regression":
            body = (f"<failure message={quoteattr(f'worse by {f.worse_by:.4g}')}>"
                    f"{escape(f'{f.kind} {f.metric} worse by {f.worse_by:.4g}, p={f.p:.3g}')}"
                    "</failure>")
        elif f.status == "inconclusive":
            why = "not stationary" if f.kind == "transient" else "not significant"
            body = f"<skipped message={quoteattr(f'inconclusive: {why}')}/>"
        cases.append(f'<testcase classname="pcp-sweep.{f.kind}" name={name}>{body}</testcase>')
    failures = sum(f.status == "regression" for f in outcome.findings)
    skipped = sum(f.status == "inconclusive" for f in outcome.findings)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuite name="pcp-sweep regress" tests="{len(cases)}" failures="{failures}" '
        f'skipped="{skipped}">\n' + "\n".join(cases) + "\n</testsuite>\n"
    )
