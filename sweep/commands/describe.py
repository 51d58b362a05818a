"""`sweep describe`: what the kernel derives at boot for every zone of a machine, printed as
/proc/zoneinfo prints it, and (`--zoneinfo FILE`) held against a real /proc/zoneinfo; or
(`--commits`) the upstream commits the model knows for a kernel and whether each is in."""

from __future__ import annotations

from typing import Any

from allocator import Spec
from allocator.core.consts import PAGEBLOCK_NR_PAGES
from allocator.mm.machine import Boot, ZoneBoot, machine_from_boot
from allocator.params.history import COMMITS, DEFAULT_KERNEL, commits_in, in_kernel
from allocator.sim.simulate import boot_for
from allocator.sim.spec import parse_reverts

from ..zoneinfo import ZoneEntry, Zoneinfo
from .flags import load_zoneinfo, machine_flat, parse_sets

TOLERANCE = 0.01  # watermarks within 1% (issue #14); pagesets must be equal
WMARKS = ("min", "low", "high", "promo")
PCP = ("batch", "high_min", "high_max")


def spec_for(cpus: int | None, mem: str | None, nodes: int | None,
             sets: list[str] | None, zi: Zoneinfo | None = None, kernel: str | None = None,
             reverts: list[str] | None = None) -> Spec:
    flat = machine_flat(cpus, mem, nodes, zi)
    if kernel is not None:
        flat["kernel"] = kernel
    if reverts:
        flat["revert"] = list(reverts)
    flat.update(parse_sets(sets or []))
    return Spec.from_flat(flat)


def commit_rows(kernel: str | None, reverts: list[str]) -> list[dict[str, Any]]:
    """Every modelled commit with its state in `kernel` less `reverts`: in, reverted, or
    later (not yet in that release). Refuses what Spec refuses."""
    kernel = kernel or DEFAULT_KERNEL
    present = {c.id for c in commits_in(kernel, parse_reverts(reverts))}
    rows = []
    for c in COMMITS:
        state = "in" if c.id in present else ("reverted" if in_kernel(c, kernel) else "later")
        rows.append({"id": c.id, "version": c.version, "state": state, "subject": c.subject,
                     "author": c.author, "mechanism": c.mechanism, "source": c.source,
                     "id_source": c.id_source, "requires": list(c.requires)})
    return rows


def describe_commits(kernel: str | None, reverts: list[str], json_out: bool) -> str:
    """What `sweep describe --commits` prints."""
    rows = commit_rows(kernel, reverts)
    kernel = kernel or DEFAULT_KERNEL
    if json_out:
        import json

        return json.dumps({"kernel": kernel, "reverts": list(parse_reverts(reverts)),
                           "commits": rows}, sort_keys=True)
    lines = [f"kernel {kernel}" + (f", reverted: {' '.join(parse_reverts(reverts))}"
                                   if reverts else ""),
             f"{'commit':<13} {'version':<7} {'state':<9} subject"]
    for r in rows:
        lines.append(f"{r['id']:<13} {r['version']:<7} {r['state']:<9} {r['subject']}")
    lines.append("in: the kernel has it; reverted: by --revert; later: a newer release's. "
                 "Every kernel keeps what is not listed (v6.10/v6.11 code): the pageblock's "
                 "migratetype read at free, two THP lists per PCP, drain_pages_zone() in chunks "
                 "of batch << 5. --json gives each commit's mechanism and sources.")
    return "\n".join(lines)


def boot_of(spec: Spec, zi: Zoneinfo | None = None) -> Boot:
    """The spec's machine after boot; with a zoneinfo file, its exact zones (present and
    spanned pages, CPUs per node as the file shows them) replace the spec's layout."""
    return boot_for(spec, topology=zi.topology() if zi is not None else None)


def as_json(spec: Spec, boot: Boot) -> dict[str, Any]:
    """The simulated zone's sizes at the top level (as before topology), then every zone."""
    data: dict[str, Any] = dict(machine_from_boot(boot, spec.mem_bytes).as_dict())
    data["min_free_kbytes"] = boot.min_free_kbytes
    data["node_cpus"] = list(boot.topology.node_cpus)
    data["zones"] = [z.as_dict() for z in boot.zones]
    return data


def _populated(boot: Boot) -> list[ZoneBoot]:
    return [z for z in boot.zones if z.present or z.managed]


def render(spec: Spec, boot: Boot) -> str:
    """The zones in /proc/zoneinfo's layout (populated zones; pagesets once per zone)."""
    sim = boot.topology.simulated()
    top = boot.topology
    full = not spec.resolved_knobs()["symmetric_nodes"]
    ran = {(z.node, z.idx) for z in top.populated_zones()} if full else {(sim.node, sim.idx)}
    lines = [f"# {top.cpus} CPUs over {top.nodes} node(s) ({', '.join(map(str, top.node_cpus))}),"
             f" min_free_kbytes {boot.min_free_kbytes}",
             "# simulated: every populated zone (knob.symmetric_nodes = 0)" if full else
             f"# simulated: node {sim.node} {sim.name}"
             + (f", standing for all {top.nodes} nodes (knob.symmetric_nodes)"
                if top.nodes > 1 else "")]
    for z in _populated(boot):
        mark = "   <- simulated" if (z.node, z.idx) in ran else ""
        lines.append(f"Node {z.node}, zone {z.name:>8}{mark}")
        for key in WMARKS:
            lines.append(f"        {key:<8} {getattr(z, key)}")
        for key in ("spanned", "present", "managed"):
            lines.append(f"        {key:<8} {getattr(z, key)}")
        lines.append(f"        protection: ({', '.join(map(str, z.protection))})")
        lines.append("  pagesets (every CPU of the node)")
        for key in PCP:
            lines.append(f"              {key + ':':<9} {getattr(z, key)}")
    return "\n".join(lines)


# -- held against a file -----------------------------------------------------------------


def _rel(model: int, file: int) -> float:
    return abs(model - file) / file if file else (0.0 if model == 0 else 1.0)


def boost_of(z: ZoneBoot, f: ZoneEntry) -> tuple[int, bool]:
    """The file zone's watermark_boost and whether it was inferred. Kernels that do not print
    the boost line still add it to the printed marks: a min watermark above the model's by
    whole pageblocks (to within 1%) is read as that boost."""
    if "boost" in f.fields:
        return f.boost, False
    d = f.fields["min"] - z.min
    k = round(d / PAGEBLOCK_NR_PAGES)
    if k >= 1 and abs(d - k * PAGEBLOCK_NR_PAGES) <= max(1, TOLERANCE * z.min):
        return k * PAGEBLOCK_NR_PAGES, True
    return 0, False


def compare(boot: Boot, zi: Zoneinfo) -> dict[str, Any]:
    """Each populated zone's watermarks (printed values less the boost, which wmark_pages()
    adds) and pagesets against the model's; then what explains any difference."""
    rows: list[dict[str, Any]] = []
    inferred: list[tuple[ZoneBoot, int]] = []
    for z in _populated(boot):
        f = zi.zone(z.node, z.name)
        if f is None:
            continue
        boost, guessed = boost_of(z, f)
        if guessed:
            inferred.append((z, boost))
        for key in WMARKS:
            if key not in f.fields:
                continue
            rows.append(_row(z, key, getattr(z, key), f.fields[key] - boost, TOLERANCE, boost))
        if not f.pagesets:
            continue
        for key in PCP:
            got = f.pcp(key)
            label = key
            if got is None and key == "high_min":  # v5.14-v6.6: pcp->high is high_min
                got, label = f.pcp("high"), "pcp_high"
            if got is not None:
                rows.append(_row(z, label, getattr(z, key), got, 0.0, 0))
        if f.protection:
            want = tuple(z.protection[: len(f.protection)])
            rows.append({"node": z.node, "zone": z.name, "field": "protection",
                         "model": list(want), "file": list(f.protection),
                         "ok": want == f.protection, "rel": 0.0 if want == f.protection else 1.0})
    return {"rows": rows, "notes": explain(boot, zi, rows, inferred)}


def _row(z: ZoneBoot, key: str, model: int, file: int, tol: float, boost: int) -> dict[str, Any]:
    rel = _rel(model, file)
    return {"node": z.node, "zone": z.name, "field": key, "model": model, "file": file,
            "ok": rel <= tol, "rel": rel, "boost": boost}


def implied_min_free_kbytes(zi: Zoneinfo, boosts: dict[tuple[int, str], int] | None = None) -> int:
    """min_free_kbytes as the file's largest lowmem zone shows it: pages_min is split over
    lowmem zones by managed pages, so min * lowmem / managed (to within a page per zone)."""
    low = [z for z in zi.zones if z.name in ("DMA", "DMA32", "Normal") and z.managed]
    big = max(low, key=lambda z: z.managed)
    lowmem = sum(z.managed for z in low)
    boost = (boosts or {}).get((big.node, big.name), big.boost)
    return ((big.fields["min"] - boost) * lowmem // big.managed) << 2


def explain(boot: Boot, zi: Zoneinfo, rows: list[dict[str, Any]],
            inferred: list[tuple[ZoneBoot, int]]) -> list[str]:
    """What the file shows of its kernel, and the formula change or event that explains each
    kind of difference."""
    notes: list[str] = []
    printed = zi.lines_printed()
    boosted = [z for z in zi.zones if z.boost]
    if boosted:
        notes.append("watermark_boost is set on " + ", ".join(
            f"node {z.node} {z.name} ({z.boost} pages)" for z in boosted)
            + ": zoneinfo prints min/low/high with the boost added (wmark_pages()); it is "
            "taken off before comparing")
    if inferred:
        notes.append("no boost line, but the printed marks of " + ", ".join(
            f"node {z.node} {z.name}" for z, _ in inferred) + " are above the model's by "
            + ", ".join(f"{b // PAGEBLOCK_NR_PAGES}" for _, b in inferred)
            + " whole pageblock(s): read as watermark_boost (a fragmenting fallback adds a "
            "pageblock each) and taken off")
    bad = [r for r in rows if not r["ok"]]
    if not bad:
        notes.append("every printed watermark within 1%, pagesets and protection equal")
        return notes
    fields = {r["field"] for r in bad}
    boosts = {(z.node, z.name): b for z, b in inferred}
    implied = implied_min_free_kbytes(zi, boosts)
    if fields & set(WMARKS) and _rel(boot.min_free_kbytes, implied) > TOLERANCE:
        notes.append(
            f"min_free_kbytes: the model derives {boot.min_free_kbytes} kB, the file's "
            f"watermarks imply about {implied} kB (a user setting, THP off or a kernel with "
            "another formula); rerun with --set knob.min_free_kbytes=" f"{implied}")
    lows = [z for z in zi.zones if z.name in ("DMA32", "Normal") and z.managed
            and z.fields["min"] > 0]
    ratio = {(z.node, z.name): (z.fields["min"] - boosts.get((z.node, z.name), z.boost))
             / z.managed for z in lows}
    if len(ratio) > 1 and max(ratio.values()) - min(ratio.values()) > 0.005 * max(ratio.values()):
        ref = max(lows, key=lambda z: z.managed)
        r0 = ratio[(ref.node, ref.name)]
        moved = [(z, z.managed - round((z.fields["min"] - boosts.get((z.node, z.name), z.boost))
                                      / r0)) for z in lows if z is not ref]
        notes.append(
            "the zones' min / managed ratios differ, where the kernel splits pages_min by "
            "managed pages: managed pages changed after the watermarks were last set. Against "
            f"node {ref.node} {ref.name}, " + ", ".join(
                f"node {z.node} {z.name} has {d:+d} pages ({d >> 8:+d} MiB) more" for z, d in moved)
            + " than when they were set (an initrd or init memory freed later, deferred page "
            "init, hotplug or ballooning)")
    old_gap = [r for r in bad if r["field"] == "low" and _file_gap_is_min_quarter(zi, r)]
    if old_gap:
        notes.append("low - min is min / 4 where the model's gap is managed x "
                     "watermark_scale_factor / 10000 (" + ", ".join(
                         f"node {r['node']} {r['zone']}" for r in old_gap)
                     + "): a kernel before v4.6 (vm.watermark_scale_factor, Johannes Weiner)")
    highs = [(f.pcp("high"), f.pcp("batch")) for f in zi.zones if f.pagesets]
    if highs and all(h == 6 * b for h, b in highs if h and b) and "pcp_high" in fields:
        notes.append("pcp high is 6 x batch in every zone: a kernel before v5.14 (Mel Gorman, "
                     "'mm/page_alloc: disassociate the pcp->high from pcp->batch', series "
                     "'Calculate pcp->high based on zone sizes and active CPUs'); the model "
                     "gives zone_highsize()")
    if "pcp.high_min" not in printed and "pcp_high" in fields:
        notes.append("no high_min line (printed since v6.7): the pageset's `high` "
                     "(pcp_high) is compared with the model's high_min, which it equals at boot "
                     "from v5.14 to v6.6")
    for r in (r for r in bad if r["field"] == "batch"):
        if r["file"] == 31 and r["model"] == 63:
            why = ("zone_batchsize() capped at 512 KiB: a kernel before v4.19 (d8a759b57035 "
                   "'mm, page_alloc: double zone's batchsize', Aaron Lu)")
        else:
            why = ("zone_batchsize() ran while the zone had few managed pages (deferred struct "
                   "page init: the RHEL 8 / v4.18 behaviour, fixed in v5.4)")
        notes.append(f"pcp batch of node {r['node']} {r['zone']}: model {r['model']}, file "
                     f"{r['file']}: {why}")
    if "protection" in fields:
        notes.append("protection differs: lowmem_reserve is managed pages of the zones above "
                     "/ vm.lowmem_reserve_ratio, fixed when last computed; a difference of d is "
                     "d x ratio managed pages added or freed since (or the ratio was changed)")
    return notes


def _file_gap_is_min_quarter(zi: Zoneinfo, row: dict[str, Any]) -> bool:
    f = zi.zone(row["node"], row["zone"])
    if f is None:
        return False
    wmin = f.fields["min"] - f.boost
    return f.fields["low"] - f.boost - wmin == wmin // 4 and f.managed * 10 // 10000 > wmin // 4


def render_compare(boot: Boot, zi: Zoneinfo, result: dict[str, Any], path: str) -> str:
    lines = [f"# {path} against the model ({zi.cpus} CPUs, {zi.nodes} node(s), "
             f"node CPUs {', '.join(map(str, boot.topology.node_cpus))}: "
             f"{zi.node_cpus()[1]})",
             f"# model min_free_kbytes {boot.min_free_kbytes} kB; file implies about "
             f"{implied_min_free_kbytes(zi)} kB",
             f"{'zone':<16} {'field':<11} {'model':>12} {'file':>12}  diff"]
    for r in result["rows"]:
        where = f"{r['node']} {r['zone']}"
        if r["field"] == "protection":
            m = "(" + ",".join(map(str, r["model"])) + ")"
            f = "(" + ",".join(map(str, r["file"])) + ")"
            lines.append(f"{where:<16} protection  {m:>12} {f:>12}  {'' if r['ok'] else 'DIFF'}")
            continue
        diff = "" if r["ok"] else f"{100 * r['rel']:.1f}% DIFF"
        if r["ok"] and r["rel"]:
            diff = f"{100 * r['rel']:.2f}%"
        lines.append(f"{where:<16} {r['field']:<11} {r['model']:>12} {r['file']:>12}  {diff}")
    lines += [f"note: {n}" for n in result["notes"]]
    return "\n".join(lines)


def describe(cpus: int | None, mem: str | None, nodes: int | None, sets: list[str] | None,
             zoneinfo: str | None, json_out: bool, kernel: str | None = None,
             reverts: list[str] | None = None) -> str:
    """What `sweep describe` prints: the machine's zones, or the model beside a zoneinfo."""
    zi = load_zoneinfo(zoneinfo) if zoneinfo is not None else None
    spec = spec_for(cpus, mem, nodes, sets, zi, kernel, reverts)
    boot = boot_of(spec, zi)
    result = compare(boot, zi) if zi is not None else None
    if json_out:
        import json

        data = as_json(spec, boot)
        if result is not None:
            data["zoneinfo"] = {"path": zoneinfo, **result}
        return json.dumps(data, sort_keys=True)
    if zi is not None and result is not None:
        return render_compare(boot, zi, result, str(zoneinfo))
    return render(spec, boot)


