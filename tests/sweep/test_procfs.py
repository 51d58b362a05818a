"""`sweep simulate --buddyinfo / --pagetypeinfo / --vmstat`: the kernel's formats, parsed the
way tools parse the real files, and agreeing with the record."""

from __future__ import annotations

import json
import re

from .cli_run import run

POINT = ["simulate", "--cpus", "2", "--mem", "256MiB", "--mix", "filecache",
         "--duration", "20ms"]


def _record(capsys) -> dict:
    code, out, _ = run([*POINT, "--json"], capsys)
    assert code == 0
    return json.loads(out)


def test_buddyinfo_is_the_kernels_line_and_sums_to_nr_free_pages(capsys):
    rec = _record(capsys)
    code, out, _ = run([*POINT, "--buddyinfo"], capsys)
    assert code == 0
    line = out.rstrip("\n")
    # frag_show_print(): "Node %d, zone %8s " then "%6lu " per order
    # 256 MiB is all below 4 GiB: the simulated zone is node 0's DMA32
    assert rec["zone"] == "DMA32" and rec["node"] == 0
    m = re.fullmatch(r"Node 0, zone    DMA32 ((?:[ \d]{6} ){11})", line)
    assert m, repr(line)
    counts = [int(c) for c in m.group(1).split()]
    assert counts == [rec[f"nr_free_order{o}"] for o in range(11)]
    assert sum(c << o for o, c in enumerate(counts)) == rec["nr_free_pages"]


def test_pagetypeinfo_parses_and_agrees_with_buddyinfo(capsys):
    rec = _record(capsys)
    code, out, _ = run([*POINT, "--pagetypeinfo"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[:3] == ["Page block order: 9", "Pages per block:  512", ""]
    assert lines[3].startswith("Free pages count per migrate type at order       0      1")
    per_type = {}
    for line in lines[4:7]:
        m = re.fullmatch(r"Node    0, zone    DMA32, type +(\w+) ((?:[ >\d]{6,7} ){11})", line)
        assert m, repr(line)
        per_type[m.group(1)] = [int(c.lstrip(">")) for c in m.group(2).split()]
    assert list(per_type) == ["Unmovable", "Movable", "Reclaimable"]
    for o in range(11):
        assert sum(v[o] for v in per_type.values()) == rec[f"nr_free_order{o}"]
    assert lines[7] == ""
    assert lines[8].split() == ["Number", "of", "blocks", "type", "Unmovable", "Movable",
                                "Reclaimable"]
    blocks = [int(x) for x in lines[9].split()[4:]]
    assert lines[9].startswith("Node 0, zone    DMA32 ")
    assert sum(blocks) == rec["zone_managed_pages"] // 512 == ((256 - 16) << 20) // (512 * 4096)


def test_vmstat_lines_are_name_value_from_the_record(capsys):
    rec = _record(capsys)
    code, out, _ = run([*POINT, "--vmstat"], capsys)
    assert code == 0
    stat = dict(line.split(" ") for line in out.splitlines())
    assert int(stat["pgalloc_dma32"]) == rec["pgalloc"] > 0  # the zone's own counter
    assert int(stat["pgfree"]) == rec["pgfree"]
    assert int(stat["allocstall_normal"]) == rec["allocstall"]
    assert int(stat["nr_free_pages"]) == rec["nr_free_pages"]


def test_samples_json_and_the_combinations_refused(capsys):
    code, out, _ = run([*POINT, "--json", "--samples-json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert len(data["samples"]["nr_free_pages"]) > 10
    code, _, err = run([*POINT, "--json", "--vmstat"], capsys)
    assert code == 2 and "--vmstat prints /proc text" in err
    code, _, err = run([*POINT, "--samples-json"], capsys)
    assert code == 2 and "give --json too" in err
