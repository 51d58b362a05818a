"""Read a real /proc/zoneinfo (mm/vmstat.c zoneinfo_show_print(), v3.x-v7.0 layouts).

`parse_zoneinfo` gives each zone's printed fields, protection array and pagesets; `Zoneinfo`
turns them into a `Topology` (managed pages per zone, CPUs per node) so the model can derive
the same machine, and says what the file shows of its kernel (which lines it prints).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from allocator.mm.topology import ZONE_NAMES, Topology, ZoneShape
from allocator.params.errors import SpecError

_HEAD = re.compile(r"^Node\s+(\d+),\s+zone\s+(\S+)\s*$")
_FIELD = re.compile(
    r"^\s+(pages free|boost|min|low|high|promo|spanned|present|managed|cma)\s+(\d+)\s*$")
_PROT = re.compile(r"^\s+protection:\s+\(([\d,\s]*)\)\s*$")
_CPU = re.compile(r"^\s+cpu:\s+(\d+)\s*$")
_PCP = re.compile(r"^\s+(count|high|batch|high_min|high_max):\s+(-?\d+)\s*$")


class ZoneinfoError(SpecError):
    """The file is not a /proc/zoneinfo the model can read."""


@dataclass
class ZoneEntry:
    node: int
    name: str
    fields: dict[str, int] = field(default_factory=dict)
    protection: tuple[int, ...] = ()
    pagesets: list[dict[str, int]] = field(default_factory=list)

    @property
    def managed(self) -> int:
        """managed pages; files older than v3.8 print only `present`."""
        return self.fields.get("managed", self.fields.get("present", 0))

    @property
    def boost(self) -> int:
        return self.fields.get("boost", 0)

    def pcp(self, key: str) -> int | None:
        """The pageset value every CPU shows (they are equal at boot), or None if not printed."""
        vals = {p[key] for p in self.pagesets if key in p}
        return max(vals) if vals else None


@dataclass
class Zoneinfo:
    zones: list[ZoneEntry]

    @property
    def nodes(self) -> int:
        return 1 + max(z.node for z in self.zones)

    @property
    def cpus(self) -> int:
        """Every zone lists every possible CPU's pageset; the most any zone lists."""
        return max((len(z.pagesets) for z in self.zones), default=0)

    def zone(self, node: int, name: str) -> ZoneEntry | None:
        return next((z for z in self.zones if z.node == node and z.name == name), None)

    def unsupported(self) -> str:
        """Why the model cannot lay this machine out ('' when it can): it knows x86-64 zones."""
        names = {z.name for z in self.zones}
        extra = sorted(names - set(ZONE_NAMES))
        if extra:
            return f"zones {', '.join(extra)} are not x86-64 zones (32-bit HighMem or another arch)"
        return ""

    def lines_printed(self) -> set[str]:
        out: set[str] = set()
        for z in self.zones:
            out |= set(z.fields)
            for p in z.pagesets:
                out |= {f"pcp.{k}" for k in p}
        return out

    def node_cpus(self) -> tuple[tuple[int, ...], str]:
        """CPUs per node and how they were found. zone_highsize() (v5.14+) splits the low
        watermark over the node's CPUs, so high_min (v6.7+) or high (v5.14-v6.6, at boot)
        of a node's largest zone tells its CPU count; otherwise an even split."""
        total, nodes = self.cpus, self.nodes
        even = (total // nodes,) * nodes
        if nodes == 1:
            return (total,), "the pagesets listed"
        found = []
        for node in range(nodes):
            zones = [z for z in self.zones if z.node == node and z.managed]
            if not zones:
                return even, "even split (a node without memory)"
            z = max(zones, key=lambda z: z.managed)
            high = z.pcp("high_min") if z.pcp("high_min") is not None else z.pcp("high")
            batch = z.pcp("batch") or 1
            low = z.fields.get("low", 0) - z.boost
            cands = [n for n in range(1, total + 1) if max(low // n, 4 * batch) == high]
            if not cands:
                return even, "even split (pcp high does not follow the node's CPUs: pre-5.14)"
            found.append(cands)
        if all(total // nodes in c for c in found) and total % nodes == 0:
            return even, "pcp high_min of each node (zone_highsize)"
        pick = tuple(min(c, key=lambda n: abs(n - total / nodes)) for c in found)
        if sum(pick) == total:
            return pick, "pcp high_min of each node (zone_highsize)"
        return even, "even split (pcp high of the nodes does not add up to the CPUs listed)"

    def topology(self) -> Topology:
        """The machine of the file: every zone's managed and present pages, CPUs per node."""
        why = self.unsupported()
        if why:
            raise ZoneinfoError(f"cannot lay out this machine: {why}")
        cpus, _ = self.node_cpus()
        zones = []
        for node in range(self.nodes):
            for idx, name in enumerate(ZONE_NAMES):
                z = self.zone(node, name)
                managed = z.managed if z else 0
                present = z.fields.get("present", managed) if z else 0
                spanned = z.fields.get("spanned", present) if z else 0
                zones.append(ZoneShape(node, idx, managed, present, spanned))
        return Topology(node_cpus=cpus, zones=tuple(zones))

    def zone_pages(self) -> tuple[tuple[int, int, int], ...]:
        """Managed DMA, DMA32 and Normal pages per node: the spec's `zone_pages`."""
        out = []
        for node in range(self.nodes):
            row = []
            for name in ZONE_NAMES[:3]:
                z = self.zone(node, name)
                row.append(z.managed if z else 0)
            out.append(tuple(row))
        return tuple(out)


def parse_zoneinfo(text: str, source: str = "the file") -> Zoneinfo:
    zones: list[ZoneEntry] = []
    cur: ZoneEntry | None = None
    pcp: dict[str, int] | None = None
    for line in text.splitlines():
        m = _HEAD.match(line)
        if m:
            cur = ZoneEntry(int(m.group(1)), m.group(2))
            zones.append(cur)
            pcp = None
            continue
        if cur is None:
            continue
        m = _CPU.match(line)
        if m:
            pcp = {"cpu": int(m.group(1))}
            cur.pagesets.append(pcp)
            continue
        m = _PCP.match(line)
        if m and pcp is not None:
            pcp[m.group(1)] = int(m.group(2))
            continue
        m = _FIELD.match(line)
        if m and pcp is None:
            key = "free" if m.group(1) == "pages free" else m.group(1)
            cur.fields[key] = int(m.group(2))
            continue
        m = _PROT.match(line)
        if m:
            cur.protection = tuple(int(x) for x in m.group(1).replace(",", " ").split())
    if not zones:
        raise ZoneinfoError(f"{source} is not a /proc/zoneinfo: no 'Node N, zone NAME' line")
    for z in zones:
        if "min" not in z.fields or "low" not in z.fields or "high" not in z.fields:
            raise ZoneinfoError(
                f"{source}: node {z.node} zone {z.name} has no min/low/high watermark lines")
        if z.managed == 0 and z.fields.get("present", 0) and "managed" not in z.fields:
            raise ZoneinfoError(f"{source}: node {z.node} zone {z.name} has no page counts")
    return Zoneinfo(zones)


def read_zoneinfo(path: str) -> Zoneinfo:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise ZoneinfoError(f"{path} is not a /proc/zoneinfo: not UTF-8 text") from None
    except OSError as e:
        raise ZoneinfoError(f"cannot read zoneinfo file {path}: {e.strerror}") from None
    return parse_zoneinfo(text, path)
