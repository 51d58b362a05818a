"""`sweep run` end to end: points stored as Parquet, reruns run nothing, a deleted point is
redone, a failing point is recorded and the rest completes; on the serial executor and on a
real local Ray instance."""

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from allocator import SIM_VERSION
from sweep.cli import main
from sweep.runner import make_plan, run_plan
from sweep.scenario import load_scenario
from sweep.store import listing, read_metadata

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "scenarios" / "smoke.toml"


def write_failing_scenario(tmp_path):
    path = tmp_path / "failing.toml"
    path.write_text(
        '[sweep]\nname = "failing"\nduration = "2ms"\n'
        '[grid]\ncpus = [2, 4]\n'
        '[fixed]\nmem = "256MiB"\nmix = "tests.sweep.failing:Failing"\n'
    )
    return path


@pytest.mark.parametrize("executor", ["serial", "ray"])
def test_smoke_stores_then_reruns_nothing_then_redoes_a_deleted_point(
    executor, tmp_path, ray_session
):
    results = str(tmp_path / "results")
    scenario = load_scenario(SMOKE)
    plan = make_plan(scenario, results)
    assert len(plan.to_run) == len(scenario.points)
    summary = run_plan(plan, results, executor=executor)
    assert (summary.done, summary.failed) == (len(scenario.points), 0)

    points = sorted((tmp_path / "results" / "smoke" / "points").glob("*.parquet"))
    samples = sorted((tmp_path / "results" / "smoke" / "samples").glob("*.parquet"))
    assert len(points) == len(samples) == len(scenario.points)
    meta = read_metadata(str(points[0]))
    assert meta["sim_version"] == SIM_VERSION and meta["schema_version"] == "1"
    for key in ("git_revision", "host", "python", "numba", "ray", "wall_s"):
        assert key in meta
    row = pq.read_table(points[0]).to_pylist()[0]
    assert row["sim_version"] == SIM_VERSION and row["ops"] > 0
    assert {"cpus", "mem_bytes", "mix", "policy", "seed", "sys_frac"} <= row.keys()

    again = make_plan(load_scenario(SMOKE), results)
    assert again.to_run == []

    points[0].unlink()
    third = make_plan(load_scenario(SMOKE), results)
    assert len(third.to_run) == 1
    assert run_plan(third, results, executor=executor).done == 1
    assert len(list((tmp_path / "results" / "smoke" / "points").glob("*.parquet"))) == len(
        scenario.points
    )


@pytest.mark.parametrize("executor", ["serial", "ray"])
def test_a_failing_point_is_recorded_and_the_rest_completes(executor, tmp_path, ray_session):
    results = str(tmp_path / "results")
    plan = make_plan(load_scenario(write_failing_scenario(tmp_path)), results)
    summary = run_plan(plan, results, executor=executor, retries=1)
    assert (summary.done, summary.failed) == (1, 1)
    failure = next((tmp_path / "results" / "failing" / "failures").glob("*.parquet"))
    row = pq.read_table(failure).to_pylist()[0]
    assert "planted failure" in row["error"] and "Traceback" in row["traceback"]
    assert row["attempts"] == 2
    found = listing(results, "failing")
    assert len(found.points) == 1 and len(found.failures) == 1
    # the failed point is tried again next time; the stored one is not
    assert len(make_plan(load_scenario(write_failing_scenario(tmp_path)), results).to_run) == 1


def test_cli_run_exit_codes(tmp_path, capsys):
    results = str(tmp_path / "results")
    argv = ["run", str(SMOKE), "--results", results, "--executor", "serial"]
    with pytest.raises(SystemExit) as info:
        main([*argv, "--dry-run"])
        raise SystemExit(0)
    assert info.value.code == 0
    assert "to run" in capsys.readouterr().out
    assert not (tmp_path / "results" / "smoke").exists()  # a dry run writes nothing

    failing = write_failing_scenario(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["run", str(failing), "--results", results, "--executor", "serial"])
    assert info.value.code == 1

    with pytest.raises(SystemExit) as info:
        main(["run", str(tmp_path / "nope.toml"), "--results", results])
    assert info.value.code == 2
    assert "no such scenario file" in capsys.readouterr().err

    with pytest.raises(SystemExit) as info:
        main(["status", str(SMOKE), "--results", results])
        raise SystemExit(0)
    assert info.value.code == 0
    assert "missing" in capsys.readouterr().out


def test_a_local_run_prints_no_ray_warnings(tmp_path):
    """Run as a user would, in its own process: Ray's own chatter stays out of the terminal."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"}
    out = subprocess.run(
        [sys.executable, "-m", "sweep.cli", "run", str(SMOKE), "--results",
         str(tmp_path / "results"), "--workers", "2"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Token authentication" not in out.stderr
    assert "warning" not in out.stderr.lower(), out.stderr
