"""`sweep report`: the scaling report of a sweep (sweep/report.py), or with `--history` the
nightly history page (sweep/history.py); prints the verdict lines and what was written."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def report(results: str, sweep: str | None, out_dir: Path, min_slope: float,
           sim_version: str | None, history: str | None, out: Any) -> None:
    if history is not None:
        from ..history import write_page

        page = write_page(history, sweep, out_dir)
        out.print(f"written: {page} and {page.with_name('history.html')}", markup=False)
        return
    from .. import report as report_mod  # matplotlib: loaded only when a report is asked for

    rep = report_mod.write_report(results, sweep, out_dir, min_slope, sim_version)
    text = "\n".join([rep.completeness, "", *(f"- {v}" for v in rep.verdicts)])
    out.print(text, markup=False, highlight=False, soft_wrap=True)
    out.print(f"written: {rep.path} and {rep.path.with_name('index.html')}", markup=False)
