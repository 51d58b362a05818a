"""`sweep status`: what of a scenario is stored, missing, stale or failed, per axis value."""

from __future__ import annotations

import os
from typing import Any

from . import run as run_cmd


def status(scenario: str, results: str, out: Any) -> None:
    plan = run_cmd.plan_scenario(scenario, results)
    out.print(run_cmd.plan_table(plan, os.cpu_count() or 1))
    out.print(run_cmd.status_table(plan))
