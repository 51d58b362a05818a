"""`sweep nightly`: run a scenario, write its report, decide the regression against a baseline
(run, report and regress composed)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from allocator import SIM_VERSION
from allocator.params.errors import SpecError

from . import regress as regress_cmd
from . import run as run_cmd


def nightly(scenario: str, baseline: str, results: str, out: Any, err: Any, *,
            baseline_version: str | None = None, executor: str = "ray",
            address: str | None = None, report_dir: Path = Path("report"),
            junit: Path | None = None, markdown: Path | None = None,
            history: str | None = None) -> int:
    """The exit code: 0 pass, 1 regression, 3 inconclusive, 2 failed points, 130 interrupted.
    Tonight's headline numbers go to `history` (default: beside the baseline,
    `<baseline>-history`; "" for none), for `sweep report --history`."""
    from .. import regress as regress_mod
    from .. import report as report_mod

    # the baseline's ids too: a baseline stored before canonical ids still matches tonight
    plan = run_cmd.plan_scenario(scenario, results, also=(baseline,))
    base = regress_mod.load(baseline, plan.scenario.name, baseline_version)  # fail early
    summary = run_cmd.compile_and_run(plan, results, err, executor=executor, address=address)
    out.print(run_cmd.summary_table(summary))
    if summary.interrupted:
        return 130
    if summary.failed:
        err.print(f"{summary.failed} point(s) failed: an infrastructure problem", markup=False)
        return 2
    with contextlib.suppress(SpecError):  # a sweep without both policies has no verdict
        report_mod.write_report(results, plan.scenario.name, report_dir, version=SIM_VERSION)
    # tonight's points: this simulator's version only
    outcome = regress_mod.decide(base, regress_mod.load(results, plan.scenario.name, SIM_VERSION))
    regress_cmd.outputs(outcome, junit, markdown)
    where = history_dir(baseline, history)
    if where:
        from .. import history as history_mod

        path = history_mod.record(where, results, plan.scenario.name, SIM_VERSION, outcome)
        err.print(f"history: {path}", markup=False)
    return outcome.exit_code


def history_dir(baseline: str, history: str | None) -> str:
    """The history store: as given, or beside a local baseline ('' for none)."""
    if history is not None:
        return history
    return "" if "://" in baseline else baseline.rstrip("/") + "-history"
