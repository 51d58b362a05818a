"""A damaged point file is noticed: not counted as stored, moved aside and rerun by the next
`sweep run`, skipped by the index, reported by `sweep verify` (exit 1)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sweep.db import connect
from sweep.runner import make_plan, run_plan
from sweep.store import file_name

from .cli_run import run
from .tiny import tiny_scenario


def test_a_truncated_point_is_damaged_quarantined_and_rerun(tmp_path, capsys):
    scen, scenario = tiny_scenario(tmp_path)
    results = str(tmp_path / "results")
    assert run_plan(make_plan(scenario, results), results, executor="serial").done == 4
    code, out, _ = run(["verify", "tiny", "--results", results], capsys)
    assert code == 0 and "8 file(s) checked, 0 damaged" in out

    victim = sorted(Path(results, "tiny", "points").glob("*.parquet"))[0]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])  # a half-written copy, a bad disk
    shutil.rmtree(Path(results, "tiny", "index"), ignore_errors=True)  # a cache (README)

    plan = make_plan(scenario, results)
    assert plan.counts()["damaged"] == 1 and len(plan.to_run) == 1
    assert victim.name in plan.damaged
    # queries answer from the whole files only, and do not fail
    con = connect(results)
    assert con.execute("SELECT count(*) FROM points").fetchone()[0] == 3
    code, out, _ = run(["verify", "tiny", "--results", results], capsys)
    assert code == 1 and f"damaged: tiny/points/{victim.name}: not a whole Parquet file" in out

    code, _, err = run(["run", str(scen), "--results", results, "--executor", "serial"], capsys)
    assert code == 0
    assert "damaged: moved 2 file(s) aside" in err  # the point and its samples
    assert (Path(results, "tiny", "damaged", "points", victim.name)).read_bytes() == \
        data[: len(data) // 2]
    assert make_plan(scenario, results).counts() == {"stored": 4}
    assert victim.read_bytes()[:4] == b"PAR1"
    code, out, _ = run(["verify", "tiny", "--results", results], capsys)
    assert code == 0


def test_a_store_that_cannot_be_written_fails_the_points_cleanly(tmp_path):
    """Neither a point nor its failure can be written (where they go is taken: as a full disk
    or a lost mount would refuse): each point fails with the cause, no traceback, nothing
    half-written left."""
    _, scenario = tiny_scenario(tmp_path, policies=("upstream",), duration="2ms")
    results = tmp_path / "results"
    (results / "tiny" / "points").mkdir(parents=True)
    (results / "tiny" / "samples").write_text("not a directory")
    for p in scenario.points:  # a directory where each failure record would go
        (results / "tiny" / "failures" / f"{file_name(p.param_id, p.point_id)}.parquet").mkdir(
            parents=True)
    plan = make_plan(scenario, str(results))
    summary = run_plan(plan, str(results), executor="serial")
    assert (summary.done, summary.failed) == (0, 2)
    assert all("could not be recorded" in e for e in summary.errors), summary.errors
    assert list((results / "tiny" / "points").iterdir()) == []
    leftovers = [p.name for p in (results / "tiny" / "failures").iterdir()
                 if not p.is_dir()]
    assert leftovers == []


def test_a_results_path_that_is_a_file_is_one_line(tmp_path, capsys):
    afile = tmp_path / "baseline"
    afile.write_text("not a directory")
    for argv in (["regress", "--baseline", str(afile), "--candidate", str(afile)],
                 ["query", "--results", str(afile), "SELECT 1"]):
        code, _, err = run(argv, capsys)
        assert code == 2 and "not a results directory" in err and err.count("\n") == 1


def test_reads_write_nothing_and_sweep_index_compacts(tmp_path, capsys):
    _, scenario = tiny_scenario(tmp_path)
    results = str(tmp_path / "results")
    run_plan(make_plan(scenario, results), results, executor="serial")
    shutil.rmtree(Path(results, "tiny", "index"))

    def tree():
        return sorted(str(p.relative_to(results)) for p in Path(results).rglob("*"))

    before = tree()
    code, out, _ = run(["query", "--results", results, "--format", "csv",
                        "SELECT count(*) AS n FROM points"], capsys)
    assert code == 0 and out.splitlines()[1] == "4"
    code, _, _ = run(["report", "tiny", "--results", results, "--out", str(tmp_path / "rep")],
                     capsys)
    assert code == 0
    assert tree() == before  # neither the query nor the report wrote into the results
    code, out, _ = run(["index", "tiny", "--results", results], capsys)
    assert code == 0 and "1 point segment(s)" in out
    assert any(Path(results, "tiny", "index", "points").glob("*.parquet"))
    code, out, _ = run(["query", "--results", results, "--format", "csv",
                        "SELECT count(*) AS n FROM points"], capsys)
    assert out.splitlines()[1] == "4"


def _plant_claim(results, sweep, point, pid):
    import json
    import socket
    import time

    from sweep.store import file_name

    d = Path(results, sweep, "claims")
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{file_name(point.param_id, point.point_id)}.claim"
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": pid, "t": time.time()}))
    return path


def test_a_point_another_live_run_computes_is_not_started_twice(tmp_path, capsys):
    import os
    import subprocess
    import sys

    _, scenario = tiny_scenario(tmp_path)
    results = str(tmp_path / "results")
    first, second = scenario.points[0], scenario.points[1]
    plan = make_plan(scenario, results)  # planned before the other run claimed anything
    _plant_claim(results, "tiny", first, os.getpid())  # a live owner: this very process
    summary = run_plan(plan, results, executor="serial")
    assert (summary.done, summary.claimed, summary.failed) == (3, 1, 0)
    again = make_plan(scenario, results)
    assert again.status[first.point_id] == "running" and first not in again.to_run
    code, out, _ = run(["status", str(tmp_path / "tiny.toml"), "--results", results], capsys)
    assert code == 0 and re.search(r"running\s*│?\s*1", out)

    # the owner died (a pid that exited): the claim is stale, the next run takes the point over
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    _plant_claim(results, "tiny", first, int(dead))
    later = make_plan(scenario, results)
    assert later.status[first.point_id] == "missing"
    assert run_plan(later, results, executor="serial").done == 1
    assert not any(Path(results, "tiny", "claims").glob("*.claim"))  # released when done
    assert make_plan(scenario, results).status[second.point_id] == "stored"
