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

    path = report_mod.write_report(results, sweep, out_dir, min_slope, sim_version)
    text = path.read_text()
    out.print(text.split("\n## ")[0], markup=False, highlight=False, soft_wrap=True)
    out.print(f"written: {path} and {path.with_name('index.html')}", markup=False)
