"""`sweep query` and `sweep report` on synthetic result sets with planted effects: the views
give the planted numbers, from `sweep query` and from a plain DuckDB session alike; the report's
verdict lines follow the data; the figures are real images of the expected size."""

import json
import re
import struct

import duckdb
import numpy as np
import pytest

from sweep import figures
from sweep.db import VIEWS_SQL
from sweep.report import write_report

from .cli_run import run
from .synth import write_sweep


def grows(mix, cpus, mem):
    """pcp-buddy's %sys gain: +3 pp per doubling of CPUs for mix "grows", 10% flat else."""
    return 0.03 * np.log2(cpus / 8) if mix == "grows" else 0.10


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    write_sweep(root, sys_gain=grows, noise=0.01)
    return root


def png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_report_verdicts_follow_the_planted_effects(results, tmp_path):
    md = write_report(str(results), "synthetic", tmp_path).path.read_text()
    head = md.split("\n## ")[0]
    grows_line = next(line for line in head.splitlines() if "**grows**" in line)
    flat_line = next(line for line in head.splitlines() if "**flat**" in line)
    assert "grows with CPUs: **supported**" in grows_line
    # the planted slope is 3 pp per doubling; the reported one is within half a point
    slope = float(grows_line.split("slope ")[1].split(" pp")[0])
    assert abs(slope - 3.0) < 0.5
    assert "grows with CPUs: **not supported**" in flat_line
    assert "with memory: **not supported**" in grows_line
    html = (tmp_path / "index.html").read_text()
    assert html.index("supported") < html.index("<h2>")
    for mix in ("grows", "flat"):
        # sized for the page: as wide as its text column, so shown unscaled, type as set
        assert png_size(tmp_path / f"{mix}-gains.png") == (figures.PAGE_PX, 640)
        assert png_size(tmp_path / f"{mix}-absolute.png") == (figures.PAGE_PX, 640)
        for kind in ("gains", "absolute"):
            svg = (tmp_path / f"{mix}-{kind}.svg").read_text()
            assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
            sizes = [float(v) for v in re.findall(r"font-size: ([0-9.]+)px", svg)]
            assert sizes and min(sizes) >= figures.MIN_FONT_PT, (kind, min(sizes))
        assert f"{mix}-gains.png" in html


def test_curves_view_gives_the_planted_gain_and_its_interval(results, capsys):
    code, out, _ = run(["query", "--results", str(results), "--format", "json",
                        "select mix, cpus, mem_bytes, n, mean, ci95_lo, ci95_hi from curves "
                        "where metric = 'sys_gain' order by mix, mem_bytes, cpus"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 2 * 5 * 2
    for r in rows:
        planted = grows(r["mix"], r["cpus"], r["mem_bytes"])
        assert r["n"] == 3
        assert r["ci95_lo"] <= r["mean"] <= r["ci95_hi"]
        assert abs(r["mean"] - planted) < 0.03


def test_curves_interval_is_students_t_over_the_seeds(results, capsys):
    code, out, _ = run(["query", "--results", str(results), "--format", "json",
                        "select sys_gain from gains where mix = 'grows' and cpus = 64 "
                        "and mem_bytes = 17179869184"], capsys)
    gains = np.array([r["sys_gain"] for r in json.loads(out)])
    code, out, _ = run(["query", "--results", str(results), "--format", "json",
                        "select mean, ci95_lo from curves where metric = 'sys_gain' and "
                        "mix = 'grows' and cpus = 64 and mem_bytes = 17179869184"], capsys)
    (row,) = json.loads(out)
    assert len(gains) == 3
    assert row["mean"] == pytest.approx(gains.mean())
    half = 4.303 * gains.std(ddof=1) / np.sqrt(3)  # t(0.975, df=2)
    assert row["ci95_lo"] == pytest.approx(gains.mean() - half)


def test_views_sql_works_from_a_plain_duckdb_session(results, capsys):
    con = duckdb.connect()
    con.execute("SET VARIABLE pcp_sweep_results = ?", [str(results)])
    for statement in duckdb.extract_statements(VIEWS_SQL.read_text())[:-2]:
        con.execute(statement.query)  # samples and failures have no files in this set
    plain = con.execute("select pair_id, sys_gain from gains order by pair_id").fetchall()
    code, out, _ = run(["query", "--results", str(results), "--format", "csv",
                        "select pair_id, sys_gain from gains order by pair_id"], capsys)
    lines = out.strip().splitlines()
    assert code == 0 and lines[0] == "pair_id,sys_gain" and len(lines) == len(plain) + 1
    ours = [(p, float(g)) for p, g in (line.split(",") for line in lines[1:])]
    assert [p for p, _ in ours] == [p for p, _ in plain]
    assert np.allclose([g for _, g in ours], [g for _, g in plain])


@pytest.mark.parametrize(
    "sql, message",
    [
        ("drop view points", "only SELECT"),
        ("select 1; select 2", "one statement"),
        ("select nope from points", "query:"),
    ],
)
def test_query_refuses_writes_and_reports_errors_in_one_line(results, capsys, sql, message):
    code, out, err = run(["query", "--results", str(results), sql], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_query_and_report_on_an_empty_directory_fail_cleanly(tmp_path, capsys):
    code, _, err = run(["query", "--results", str(tmp_path), "select 1"], capsys)
    assert code == 2 and "no points stored" in err
    code, _, err = run(["report", "--results", str(tmp_path), "--out", str(tmp_path / "r")],
                       capsys)
    assert code == 2 and "no points stored" in err
    assert not (tmp_path / "r").exists()


def test_index_html_is_rendered_markdown_not_literal(results, tmp_path):
    write_report(str(results), "synthetic", tmp_path)
    page = (tmp_path / "index.html").read_text()
    body = page.split("<body>", 1)[1]
    assert "**" not in body and "`" not in body and "|---" not in body
    assert "<strong>" in body and "<code>" in body and "<table>" in body and "<th>" in body
    assert body.count("<img ") == len(list(tmp_path.glob("*.png")))
    for src in (m.split('"')[1] for m in body.split("<img src=")[1:]):
        assert (tmp_path / src).is_file()


def test_zone_lock_wait_gain_is_a_rate_not_a_count(results):
    """Auto windows differ in length: the gain compares the share of CPU time spent waiting."""
    from sweep.db import connect

    rows = connect(str(results)).execute(
        "SELECT zone_lock_wait_gain, upstream_zone_lock_wait_frac, rfc_zone_lock_wait_frac "
        "FROM gains").fetchall()
    assert rows
    for gain, up, rfc in rows:
        assert gain == pytest.approx(1 - rfc / up)


def test_per_node_trend_is_reported_beside_the_machine_trend(tmp_path, capsys):
    """Issue #14: with a nodes axis the report states the %sys gain's trend against CPUs per
    node as well as against the machine's CPUs. Planted: the gain follows CPUs per node only
    (one zone->lock per node), so at 64 CPUs it is largest on one node."""
    from sweep.report import analyse

    root = tmp_path / "res"
    write_sweep(root, sweep="numa", mixes=("purge",), cpus=(16, 32, 64), mems=(64 << 30,),
                nodes=(1, 2, 4), sys_gain=lambda mix, c, m, n: 0.05 * np.log2(c / n),
                noise=0.002)
    from sweep.db import connect

    con = connect(str(root))
    (r,) = analyse(con, "numa", "synthetic", min_slope=0.005)
    assert r.per_node is not None
    by_cpu, _ = r.per_node
    assert by_cpu.verdict == "supported" and abs(by_cpu.slope - 0.05) < 0.005
    code, _, err = run(["report", "numa", "--results", str(root), "--out",
                        str(tmp_path / "rep"), "--sim-version", "synthetic"], capsys)
    assert code == 0, err
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "Per node (the CPUs on one zone->lock): with CPUs per node **supported**" in text
    assert "| nodes |" in text


def test_report_carries_the_compare_table_and_each_doublings_change(results, tmp_path):
    """Issue #18: `sweep compare`'s table of the two policies is in the report, and the
    per-point table gives each doubling's own change, which sums to the whole curve's."""
    md = write_report(str(results), "synthetic", tmp_path).path.read_text()
    section = md.split("## Upstream against pcp-buddy, machine by machine")[1].split("\n## ")[0]
    assert "| where | metric | upstream | pcp-buddy | gain |" in section
    assert "| grows 128 CPUs/" in section and "%sys (allocator)" in section
    table = [cells for cells in (line.split("|") for line in md.splitlines()
                                 if line.startswith("| grows |"))
             if len(cells) == 9 and cells[3].strip().endswith("GiB") and "pp" in cells[5]]
    steps = {}
    for cells in table:
        steps.setdefault(cells[3].strip(), []).append(float(cells[5].split("pp")[0]))
    for mem, changes in steps.items():
        assert len(changes) == 4, (mem, changes)  # 8 -> 16 -> 32 -> 64 -> 128 CPUs
        assert abs(sum(changes) - 12.0) < 1.5, (mem, changes)  # +3 pp per doubling, planted
    assert "points of the saving (% of upstream's %sys, not of CPU time)" in md


def test_a_sweep_of_several_kernels_is_refused_not_pooled(tmp_path):
    """Curves and verdicts pool points by mix, memory, CPUs and nodes: kernels would mix."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from allocator import SpecError

    from .synth import base_metrics, point_row

    root = tmp_path / "r"
    write_sweep(root, mixes=("flat",), cpus=(8, 16), mems=(1 << 30,), seeds=2)
    rng = np.random.default_rng(1)
    for policy in ("upstream", "pcp-buddy"):
        row = point_row("synthetic", "flat", policy, 8, 1 << 30, 0, base_metrics(rng, 0.01))
        row.update(kernel="v6.6", point_id=row["point_id"] + "k", param_id=row["param_id"] + "k",
                   pair_id=row["pair_id"] + "k")
        name = f"{row['param_id']}.{row['point_id']}.parquet"
        pq.write_table(pa.Table.from_pylist([row]), root / "synthetic" / "points" / name)
    with pytest.raises(SpecError, match=r"runs several kernels \(v6.6; v7.0\)"):
        write_report(str(root), "synthetic", tmp_path / "out")
    assert not (tmp_path / "out").exists()
