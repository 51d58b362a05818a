"""`sweep describe --zoneinfo` against real /proc/zoneinfo files (issue #14), and bad input.

The files under data/zoneinfo/ are copies of ../shared/reference/zoneinfo/ plus this
machine's own (kernel 6.18.44, 2 CPUs, one node), captured for the test.
"""

import json
from pathlib import Path

import pytest

from sweep.zoneinfo import parse_zoneinfo

from .cli_run import run

DATA = Path(__file__).parent / "data" / "zoneinfo"
OWN = DATA / "own-machine-6.18.44-2cpu__proc_zoneinfo.txt"
S007 = DATA / "performancecopilot_pcp__qa_linux_meminfo-root-007.tgz__proc_zoneinfo.txt"
PROM = DATA / "prometheus_procfs__testdata_fixtures.ttar__proc_zoneinfo.txt"


def describe_json(path, capsys, *extra):
    code, out, err = run(["describe", "--zoneinfo", str(path), "--json", *extra], capsys)
    assert code == 0, err
    return json.loads(out)


def test_own_machine_matches_exactly(capsys):
    """A v6.18 kernel printing high_min/high_max and promo: every value equal."""
    data = describe_json(OWN, capsys)
    rows = data["zoneinfo"]["rows"]
    fields = {r["field"] for r in rows}
    assert {"min", "low", "high", "promo", "batch", "high_min", "high_max",
            "protection"} <= fields
    assert all(r["ok"] and r["rel"] == 0 for r in rows), [r for r in rows if not r["ok"]]
    # three populated zones: khugepaged's 67584 kB, as /proc/sys/vm/min_free_kbytes showed
    assert data["min_free_kbytes"] == 67584


def test_two_node_sample_finds_the_node_cpus_and_explains_the_rest(capsys):
    """Sample 007 (v5.14+, two nodes of 4 CPUs): pcp high follows each node's CPUs; the
    watermarks are within 1% except DMA32, whose managed pages grew after boot."""
    data = describe_json(S007, capsys)
    assert data["node_cpus"] == [4, 4]
    rows = data["zoneinfo"]["rows"]
    by = {(r["node"], r["zone"], r["field"]): r for r in rows}
    # pcp high of node 1's Normal: low 14160 / 4 CPUs of node 1 = 3540 (the model had 880
    # when it split over all 8 CPUs of one zone)
    assert by[(1, "Normal", "pcp_high")]["file"] == 3540
    assert abs(by[(1, "Normal", "pcp_high")]["model"] - 3540) <= 0.01 * 3540
    for r in rows:
        if r["field"] in ("min", "low", "high", "promo") and r["zone"] != "DMA32":
            assert r["ok"], r
    assert by[(0, "DMA32", "min")]["rel"] < 0.02
    notes = " ".join(data["zoneinfo"]["notes"])
    assert "managed pages changed after the watermarks were last set" in notes
    assert "node 0 DMA32 has +7638 pages" in notes


def test_boost_in_the_printed_marks_is_recognised(capsys):
    """The prometheus fixture prints no boost line, but its DMA32 marks are 26 pageblocks
    above the formula: watermark_boost, which wmark_pages() adds to what zoneinfo shows."""
    data = describe_json(PROM, capsys)
    notes = " ".join(data["zoneinfo"]["notes"])
    assert "read as watermark_boost" in notes and "26, 1 whole pageblock" in notes
    wm = [r for r in data["zoneinfo"]["rows"] if r["field"] in ("min", "low", "high")]
    assert all(r["ok"] for r in wm)


def test_old_kernels_are_explained_by_the_formula_changes(capsys):
    data = describe_json(DATA / "performancecopilot_pcp__qa_linux_meminfo-root-002.tgz__"
                         "proc_zoneinfo.txt", capsys)
    notes = " ".join(data["zoneinfo"]["notes"])
    assert "before v4.6" in notes and "before v5.14" in notes and "before v4.19" in notes


def test_every_sample_reads(capsys):
    for path in sorted(DATA.glob("*.txt")):
        zi = parse_zoneinfo(path.read_text(), str(path))
        assert zi.cpus >= 1 and zi.nodes >= 1
        if zi.unsupported():
            assert "HighMem" in zi.unsupported()
            continue
        describe_json(path, capsys)


def test_text_output_marks_differences(capsys):
    code, out, _ = run(["describe", "--zoneinfo", str(S007)], capsys)
    assert code == 0
    assert "DIFF" in out and "note:" in out and "0 DMA32" in out


def test_describe_per_zone_layout(capsys):
    code, out, _ = run(["describe", "--cpus", "224", "--mem", "512GiB", "--nodes", "2"], capsys)
    assert code == 0
    assert "Node 0, zone      DMA" in out and "Node 1, zone   Normal   <- simulated" in out
    assert "protection: (" in out and "high_max:" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["describe", "--zoneinfo", "README.md"], "is not a /proc/zoneinfo"),
        (["describe", "--zoneinfo", "/nonexistent/zoneinfo"], "cannot read zoneinfo file"),
        (["describe", "--zoneinfo", str(DATA / "GoCleverInsignia5_i5_info__proc_zoneinfo.txt")],
         "HighMem"),
        (["describe", "--cpus", "3", "--mem", "8GiB", "--nodes", "2"],
         "must split evenly over 2 nodes"),
        (["describe", "--cpus", "2", "--mem", "8GiB", "--nodes", "4"],
         "must not exceed cpus"),
        (["describe", "--cpus", "4", "--mem", "66MiB", "--nodes", "2"],
         "whole 2MiB pageblocks over 2 nodes"),
        (["describe", "--cpus", "4"], "give --cpus and --mem, or --zoneinfo FILE"),
        (["simulate", "--cpus", "4", "--mem", "1GiB", "--nodes", "2", "--set",
          "knob.symmetric_nodes=2"], "knob.symmetric_nodes must be in [0, 1]"),
    ],
)
def test_bad_topology_input_is_one_line_exit_2(argv, needle, capsys):
    code, _, err = run(argv, capsys)
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1


def test_not_utf8_zoneinfo(tmp_path, capsys):
    bad = tmp_path / "zi"
    bad.write_bytes(b"Node 0, zone \xff\xfe")
    code, _, err = run(["describe", "--zoneinfo", str(bad)], capsys)
    assert code == 2 and "not UTF-8" in err
