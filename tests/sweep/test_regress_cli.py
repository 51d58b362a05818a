"""`sweep regress` and `sweep nightly` as a CI job sees them: exit codes 0/1/3/2, the JUnit
and Markdown files, two simulator versions in one directory, and a real nightly run."""

import xml.etree.ElementTree as ET
from pathlib import Path

from .cli_run import run
from .synth import write_sweep

SMOKE = Path(__file__).resolve().parents[2] / "scenarios" / "smoke.toml"
STEADY = Path(__file__).resolve().parent / "data" / "steady-tiny.toml"


def slower_at_scale(mix, policy, cpus, mem):
    """The candidate is 20% slower (and spends 20% more %sys) on mix 'grows' from 64 CPUs."""
    return 1.2 if mix == "grows" and cpus >= 64 else 1.0


def test_a_planted_regression_exits_1_with_junit_and_markdown(tmp_path, capsys):
    write_sweep(tmp_path / "base", seed=1)
    write_sweep(tmp_path / "cand", seed=2, scale=slower_at_scale)
    junit, md = tmp_path / "r.xml", tmp_path / "r.md"
    code, out, _ = run(["regress", "--baseline", str(tmp_path / "base"), "--candidate",
                        str(tmp_path / "cand"), "--junit", str(junit), "--markdown", str(md)],
                       capsys)
    assert code == 1 and "REGRESSION" in out
    suite = ET.parse(junit).getroot()
    failed = [c.get("name") for c in suite if c.find("failure") is not None]
    assert int(suite.get("failures")) == len(failed) > 0
    assert all(" grows " in name for name in failed)
    assert any("cpus=128" in name and "throughput" in name for name in failed)
    assert md.read_text() == out


def test_no_change_passes_and_noise_alone_is_not_a_regression(tmp_path, capsys):
    write_sweep(tmp_path / "base", seed=1)
    write_sweep(tmp_path / "cand", seed=2)  # new noise, no effect
    code, out, _ = run(["regress", "--baseline", str(tmp_path / "base"), "--candidate",
                        str(tmp_path / "cand")], capsys)
    assert code == 0 and "PASS" in out


def test_one_seed_cannot_confirm_a_large_change_so_it_is_inconclusive(tmp_path, capsys):
    write_sweep(tmp_path / "base", seeds=1, seed=1)
    write_sweep(tmp_path / "cand", seeds=1, seed=2, scale=slower_at_scale)
    code, out, _ = run(["regress", "--baseline", str(tmp_path / "base"), "--candidate",
                        str(tmp_path / "cand")], capsys)
    assert code == 3 and "INCONCLUSIVE" in out


def test_two_simulator_versions_in_one_directory(tmp_path, capsys):
    write_sweep(tmp_path / "res", seed=1, sim_version="v1")
    write_sweep(tmp_path / "res", seed=2, sim_version="v2", scale=slower_at_scale)
    res = str(tmp_path / "res")
    code, _, err = run(["regress", "--baseline", res, "--candidate", res], capsys)
    assert code == 2 and "2 simulator versions" in err
    code, _, _ = run(["regress", "--baseline", res, "--candidate", res,
                      "--baseline-version", "v1", "--candidate-version", "v2"], capsys)
    assert code == 1


def test_usage_errors_exit_2_and_write_nothing(tmp_path, capsys):
    write_sweep(tmp_path / "base", seed=1)
    junit = tmp_path / "r.xml"
    code, _, err = run(["regress", "--baseline", str(tmp_path / "missing"), "--candidate",
                        str(tmp_path / "base"), "--junit", str(junit)], capsys)
    assert code == 2 and "no points stored" in err and not junit.exists()
    write_sweep(tmp_path / "other", sweep="other", seed=1)
    code, _, err = run(["regress", "--baseline", str(tmp_path / "base"), "--candidate",
                        str(tmp_path / "other")], capsys)
    assert code == 2 and "share no point" in err


def test_nightly_of_an_unchanged_simulator_passes(tmp_path, capsys):
    base, cand = tmp_path / "main", tmp_path / "tonight"
    code, _, _ = run(["run", str(STEADY), "--results", str(base), "--executor", "serial"],
                     capsys)
    assert code == 0
    junit, report = tmp_path / "nightly.xml", tmp_path / "report"
    code, out, _ = run(["nightly", str(STEADY), "--baseline", str(base), "--results", str(cand),
                        "--executor", "serial", "--junit", str(junit), "--report", str(report)],
                       capsys)
    assert code == 0 and "PASS" in out
    suite = ET.parse(junit).getroot()
    assert int(suite.get("tests")) > 0 and int(suite.get("failures")) == 0
    head = (report / "report.md").read_text().split("\n## ")[0]
    assert "**page_fault1**" in head and "with memory: **not swept**" in head
    assert "transient" not in head


def test_fixed_short_windows_make_every_verdict_inconclusive(tmp_path, capsys):
    """Fixed 20 ms windows (smoke.toml's grid) are a start-up transient: report and regress
    refuse them."""
    base, cand = tmp_path / "main", tmp_path / "tonight"
    short = tmp_path / "short.toml"
    short.write_text(SMOKE.read_text().replace('duration = "4ms"', 'duration = "20ms"')
                     .replace('warmup = "1ms"', 'warmup = "5ms"'))
    assert 'duration = "20ms"' in short.read_text()
    for results in (base, cand):
        code, _, _ = run(["run", str(short), "--results", str(results), "--executor",
                          "serial"], capsys)
        assert code == 0
    code, out, _ = run(["regress", "--baseline", str(base), "--candidate", str(cand)], capsys)
    assert code == 3 and "INCONCLUSIVE" in out and "8 points not stationary" in out
    code, _, _ = run(["report", "--results", str(base), "--out", str(tmp_path / "r")], capsys)
    assert code == 0
    head = (tmp_path / "r" / "report.md").read_text().split("\n## ")[0]
    assert "with CPUs: **inconclusive (transient: 4 points not stationary)**" in head
    assert "Not stationary: 2 CPUs/256MiB seed" in head
    assert "supported" not in head
