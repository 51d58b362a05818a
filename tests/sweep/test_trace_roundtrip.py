"""`sweep simulate --emit-trace` writes ftrace text that `sweep trace import` reads back whole:
every recorded event, pairs as simulated; and the imported pattern replays."""

from collections import Counter

import numpy as np
import pyarrow.parquet as pq

from allocator import Spec, simulate
from allocator.core.layout import T_EVENT, T_PFN, TR_ALLOC, TR_FREE
from sweep.trace.emit import format_trace
from sweep.trace.parse import ParseStats, parse_lines
from sweep.trace.pattern import import_trace

from .cli_run import run


def test_emitted_trace_reimports_event_for_event(tmp_path):
    r = simulate(Spec(cpus=4, mem_bytes=512 << 20, mix="exit", seed=3, duration_ns=20_000_000),
                 trace_events=500_000)
    assert r.trace_lost == 0 and len(r.trace) > 1000
    text = format_trace(r.trace, 4)
    stats = ParseStats()
    events = list(parse_lines(text.splitlines(), stats))
    kinds = Counter(r.trace[:, T_EVENT].tolist())
    assert stats.malformed == 0
    assert stats.events["mm_page_alloc"] == kinds[TR_ALLOC]
    assert stats.events["mm_page_free"] == kinds[TR_FREE]
    assert stats.skipped["mm_page_alloc_zone_locked"] == kinds.get(3, 0) > 0
    assert stats.skipped["mm_page_pcpu_drain"] == kinds.get(4, 0)
    assert stats.skipped["mm_page_alloc_extfrag"] == kinds.get(5, 0)
    assert len(events) == kinds[TR_ALLOC] + kinds[TR_FREE]
    (tmp_path / "t.txt").write_text(text)
    summary = import_trace(tmp_path / "t.txt", tmp_path / "p.parquet")
    ok_allocs = int(((r.trace[:, T_EVENT] == TR_ALLOC) & (r.trace[:, T_PFN] >= 0)).sum())
    assert summary.failed_allocs == kinds[TR_ALLOC] - ok_allocs
    assert summary.allocations - summary.prologue == ok_allocs
    assert summary.paired + summary.prologue == kinds[TR_FREE]
    table = pq.read_table(tmp_path / "p.parquet").to_pydict()
    assert np.all(np.array(table["t_alloc_ns"]) >= 0)


def test_emit_then_import_then_replay_from_the_command_line(tmp_path, capsys):
    trace = tmp_path / "kmem.txt"
    code, _, _ = run(["simulate", "--cpus", "2", "--mem", "512MiB", "--mix", "page_fault1",
                      "--set", "mix.page_fault1.map_bytes=1MiB", "--duration", "5ms",
                      "--emit-trace", str(trace), "--json"], capsys)
    assert code == 0 and trace.read_text().startswith("# tracer: nop")
    pattern = tmp_path / "kmem.pattern.parquet"
    code, out, err = run(["trace", "import", str(trace), "-o", str(pattern)], capsys)
    assert code == 0 and out.strip() == str(pattern) and "2 CPUs" in err
    code, out, _ = run(["simulate", "--cpus", "8", "--mem", "1GiB", "--mix", "trace",
                        "--set", f"mix.trace.pattern={pattern}", "--duration", "5ms", "--json"],
                       capsys)
    assert code == 0 and '"alloc_ops"' in out


def test_emit_trace_into_a_missing_directory_is_refused(tmp_path, capsys):
    code, _, err = run(["simulate", "--cpus", "2", "--mem", "512MiB", "--duration", "1ms",
                        "--emit-trace", str(tmp_path / "no" / "t.txt")], capsys)
    assert code == 2 and "--emit-trace: directory" in err
