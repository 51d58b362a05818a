"""The command line: exit codes, one-line errors, and the JSON the issue names."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .cli_run import run

REQUIRED_KEYS = {
    "ops",
    "sim_time_ns",
    "throughput_ops_per_s",
    "sys_frac",
    "zone_lock_acquisitions",
    "zone_lock_hold_ns",
    "zone_lock_wait_ns",
    "pcp_refills",
    "pcp_drains",
    "remote_frees",
    "alloc_failures",
    "free_pageblocks",
    "unusable_index_order9",
    "pcp_pages_peak",
    "alloc_latency_p99_ns",
}


def test_simulate_json_has_the_documented_keys(capsys):
    code, out, _ = run(
        ["simulate", "--cpus", "2", "--mem", "64MiB", "--mix", "page_fault1",
         "--duration", "2ms", "--json"],
        capsys,
    )
    assert code == 0
    data = json.loads(out)
    assert data.keys() >= REQUIRED_KEYS
    assert data["ops"] > 0


def test_simulate_set_and_samples_csv(tmp_path, capsys):
    csv_path = tmp_path / "series.csv"
    code, out, _ = run(
        ["simulate", "--cpus", "2", "--mem", "64MiB", "--mix", "page_fault1", "--duration",
         "3ms", "--set", "cost.zone_page_ns=50", "--set", "mix.page_fault1.map_bytes=8MiB",
         "--samples-csv", str(csv_path), "--json"],
        capsys,
    )
    assert code == 0
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("t_ns,ops,")
    assert len(lines) == 1 + 4  # samples at 0, 1, 2, 3 ms


def test_describe_json(capsys):
    code, out, _ = run(["describe", "--cpus", "64", "--mem", "64GiB", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    # node 0: DMA, DMA32 (2 GiB - 16 MiB) and Normal (62 GiB = 16252928 pages, simulated);
    # khugepaged's 3 zones give 67584 kB; Normal's share of pages_min is 16368, gap 16252
    assert data["zone"] == "Normal" and data["managed_pages"] == 16252928
    assert data["min_free_kbytes"] == 67584 and data["wmark_low"] == 16368 + 16252
    assert data["high_max"] == 16252928 // 8 // 64 and data["batch"] == 63
    assert [(z["name"], z["managed"]) for z in data["zones"][:3]] == [
        ("DMA", 3840), ("DMA32", 520192), ("Normal", 16252928)]
    for key in ("min", "low", "high", "promo", "protection", "batch", "high_min", "high_max"):
        assert key in data["zones"][2]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["simulate", "--cpus", "0", "--mem", "1GiB"], "cpus must be between 1 and 4096"),
        (["simulate", "--cpus", "2", "--mem", "10MiB"], "mem must be between 64MiB"),
        (["simulate", "--cpus", "2", "--mem", "65MiB"], "whole number of 2MiB pageblocks"),
        (["simulate", "--cpus", "2", "--mem", "1GiB", "--mix", "nope"], "unknown mix"),
        (["simulate", "--cpus", "2", "--mem", "1GiB", "--policy", "nope"], "unknown policy"),
        (["simulate", "--cpus", "2", "--mem", "1GiB", "--set", "knob.nope=1"], "unknown knob"),
        (["simulate", "--cpus", "2", "--mem", "1GiB", "--set", "cost.x_ns=1"], "unknown cost"),
        (["simulate", "--cpus", "2", "--mem", "1GiB", "--set", "cost.zone_page_ns=-1"],
         "from 0 to 1000000000"),
        (["simulate", "--cpus", "2", "--mem", "1GiB", "--duration", "-1s"], "must not be negative"),
        (["simulate", "--cpus", "2", "--mem", "1GiB", "--set", "oops"], "KEY=VALUE"),
        (["describe", "--cpus", "2", "--mem", "lots"], "mem must be a size"),
        (["simulate", "--cpus", "2", "--mem", "1GiB", "--duration", "auto", "--duration-cap",
          "1s", "--warmup", "2s"], "shorter than duration_cap"),
        (["simulate", "--cpus", "2", "--mem", "1GiB", "--duration", "auto", "--precision",
          "1.5"], "precision must be a relative half-width between 0 and 1"),
        (["simulate", "--cpus", "2", "--mem", "1GiB", "--duration", "1s", "--warmup", "2s"],
         "warmup must be at least 0 and shorter than duration"),
        (["simulate", "--cpus", "2", "--mem", "1GiB", "--duration", "auto", "--duration-cap",
          "1s"], "warmup = 'auto' needs a duration_cap of at least"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, needle, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    assert needle in err
    assert err.strip().count("\n") == 0


def test_typer_usage_errors_exit_2(capsys):
    code, _, err = run(["simulate", "--cpus", "two", "--mem", "1GiB"], capsys)
    assert code == 2 and "--cpus" in err


def test_console_script_runs():
    # the script installed beside this interpreter (the virtual environment's bin/)
    script = Path(sys.executable).with_name("sweep")
    assert script.exists(), "pip install the project: the console script is missing"
    out = subprocess.run(
        [str(script), "describe", "--cpus", "4", "--mem", "1GiB", "--json"],
        capture_output=True, text=True, check=True,
    )
    assert json.loads(out.stdout)["batch"] == 63


def test_version_names_the_simulator_and_the_git_revision(capsys):
    from allocator import SIM_VERSION

    code, out, _ = run(["--version"], capsys)
    assert code == 0
    assert out.startswith(f"pcp-sweep simulator {SIM_VERSION}, git ")


def test_status_shows_axis_values_in_the_units_they_are_written_in(tmp_path, capsys):
    from sweep.commands.run import axis_value

    assert [axis_value("mem", 8 << 30), axis_value("duration", 50_000_000),
            axis_value("duration_cap", 1_500_000_000), axis_value("mix.exit.rss_bytes", 16 << 20),
            axis_value("cpus", 16), axis_value("duration", "auto")] == [
        "8GiB", "50ms", "1.5s", "16MiB", "16", "auto"]
    laptop = Path(__file__).resolve().parents[2] / "scenarios" / "scaling-laptop.toml"
    code, out, _ = run(["status", str(laptop), "--results", str(tmp_path)], capsys)
    assert code == 0 and "32GiB" in out and "34359738368" not in out
