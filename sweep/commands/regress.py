"""`sweep regress`: a candidate result set against a baseline on the points they share
(sweep/regress.py decides), and `outputs`, what both it and `nightly` print and write."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def outputs(outcome: Any, junit: Path | None, markdown: Path | None) -> None:
    """Print the regression's Markdown summary; write it and the JUnit XML where asked."""
    from .. import regress as regress_mod
    from ..store import write_atomic

    text = regress_mod.markdown(outcome)
    if junit is not None:
        write_atomic(junit, regress_mod.junit(outcome))
    if markdown is not None:
        write_atomic(markdown, text)
    print(text, end="")


def regress(baseline: str, candidate: str, *, sweep: str | None = None,
            baseline_version: str | None = None, candidate_version: str | None = None,
            min_effect: float = 0.05, min_slope: float = 0.02, junit: Path | None = None,
            markdown: Path | None = None) -> int:
    """The exit code: 0 no regression, 1 regression, 3 inconclusive."""
    from .. import regress as regress_mod

    outcome = regress_mod.run_regress(
        baseline, candidate, sweep=sweep, baseline_version=baseline_version,
        candidate_version=candidate_version, min_effect=min_effect, min_slope=min_slope,
    )
    outputs(outcome, junit, markdown)
    return outcome.exit_code
