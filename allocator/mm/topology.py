"""The machine as the kernel sees it at boot: nodes (pg_data_t), each with its zones and CPUs.

Zone indices follow `enum zone_type` (include/linux/mmzone.h, x86-64: ZONE_DMA, ZONE_DMA32,
ZONE_NORMAL, ZONE_MOVABLE, ZONE_DEVICE; the last two always empty here). Two layouts, `zones`
in the spec:

- `x86_64` (default): node 0 starts with ZONE_DMA (the first 16 MiB, pfn 1-4095; 3840 pages
  managed, as on v5.13+ kernels, which reserve the first 1 MiB: the own machine's and sample
  007's zoneinfo in ../shared/reference/zoneinfo/ both show 3840) and ZONE_DMA32 (the rest of
  the first 4 GiB that is RAM: DMA32_BYTES below); every node's remaining memory is ZONE_NORMAL.
- `normal`: each node one ZONE_NORMAL holding all of its memory (the model before topology,
  kept for calibration kernels and like-for-like comparisons).

The memory map, kernel image and firmware reservations are not modelled: every page of `mem`
is managed, except the 256 reserved pages of ZONE_DMA. A real file's managed pages come in
as `zone_pages` instead (`topology_from_pages`; sweep/zoneinfo.py reads them from the file).

What the engine runs is, by default, one zone (`simulated`): the zone a node-local workload's
allocations land in, the highest populated zone of the last node. With several nodes that is
the symmetric shortcut: nodes alike in CPUs and memory, a node-local workload, so each node
runs the same way and the machine is `nodes` copies of one. `knob.symmetric_nodes = 0` runs
every populated zone of every node instead (`populated_zones`), each CPU allocating along its
node's zonelist (`zonelists`): fallback into another node or into DMA32 under memory pressure,
frees of remote pages, one kswapd per node.
"""

from __future__ import annotations

from dataclasses import dataclass

from allocator.core.consts import PAGE_SHIFT, PAGEBLOCK_NR_PAGES
from allocator.params.errors import SpecError

ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, ZONE_MOVABLE, ZONE_DEVICE = range(5)
ZONE_NAMES = ("DMA", "DMA32", "Normal", "Movable", "Device")
MAX_NR_ZONES = len(ZONE_NAMES)
# gfp_zone(GFP_USER) on x86-64: the highest zone counted by nr_free_buffer_pages() and by
# set_recommended_min_free_kbytes(), which skips the zones above it (Movable) in its
# for_each_populated_zone() loop (mm/khugepaged.c, v6.10-v7.0 as read).
GFP_USER_ZONE = ZONE_NORMAL

LAYOUTS = ("x86_64", "normal")
DMA_SPAN_PAGES = 4096  # 16 MiB: MAX_DMA_PFN on x86-64
DMA_MANAGED_PAGES = 3840  # the first 1 MiB reserved (x86 since v5.13)
# RAM below 4 GiB above ZONE_DMA: 4 GiB less the 32-bit PCI/MMIO hole. Servers in the samples
# show 1.7-1.9 GiB managed (2x E5-2690: 449237 pages; sample 007: 503771), desktops and VMs
# 1.6-3.8 GiB. 2 GiB - 16 MiB spans a 2 GiB hole, as on the servers.
DMA32_BYTES = (2 << 30) - (16 << 20)

DEFAULT_DISTANCE_LOCAL, DEFAULT_DISTANCE_REMOTE = 10, 20  # node_distance(), as ACPI SLIT
ALIKE_TOLERANCE = 0.01  # nodes whose managed memory differs by less are alike


@dataclass(frozen=True)
class ZoneShape:
    node: int
    idx: int  # enum zone_type
    managed_pages: int
    present_pages: int
    spanned_pages: int

    @property
    def name(self) -> str:
        return ZONE_NAMES[self.idx]

    @property
    def populated(self) -> bool:
        """populated_zone(): present pages (the kernel tests present, not managed)."""
        return self.present_pages > 0


@dataclass(frozen=True)
class Topology:
    """Nodes, their CPUs, and every zone of every node (empty ones included, as zoneinfo
    prints them), in node then zone order: the order of for_each_zone()."""

    node_cpus: tuple[int, ...]
    zones: tuple[ZoneShape, ...]

    @property
    def nodes(self) -> int:
        return len(self.node_cpus)

    @property
    def cpus(self) -> int:
        return sum(self.node_cpus)

    def node_zones(self, node: int) -> list[ZoneShape]:
        return [z for z in self.zones if z.node == node]

    def node_managed(self, node: int) -> int:
        return sum(z.managed_pages for z in self.node_zones(node))

    def node_present(self, node: int) -> int:
        return sum(z.present_pages for z in self.node_zones(node))

    def alike(self) -> str:
        """'' if every node has the same CPUs and (within ALIKE_TOLERANCE) the same present
        memory, else what differs. Present, not managed: node 0's low zones lose a fixed
        few hundred pages to the firmware and the kernel (DMA's 3840 of 4096), which would
        make small alike nodes look different."""
        if len(set(self.node_cpus)) > 1:
            return f"nodes have different CPU counts ({', '.join(map(str, self.node_cpus))})"
        sizes = [self.node_present(n) for n in range(self.nodes)]
        if max(sizes) - min(sizes) > ALIKE_TOLERANCE * max(sizes):
            return "nodes have different memory (" + ", ".join(
                f"node {n}: {s} pages" for n, s in enumerate(sizes)) + ")"
        return ""

    def populated_zones(self) -> list[ZoneShape]:
        """Every zone the full simulation runs: node, then zone order, at least a pageblock
        managed (the model keeps whole pageblocks)."""
        return [z for z in self.zones if z.managed_pages >= PAGEBLOCK_NR_PAGES]

    def simulated(self) -> ZoneShape:
        """The zone the engine runs: node-local allocations on the last node land in its
        highest populated zone. The last node: with several nodes it has no lower zones,
        so it stands for the nodes that are all Normal."""
        node = self.nodes - 1
        zones = [z for z in self.node_zones(node) if z.managed_pages > 0]
        return max(zones, key=lambda z: z.idx)


def node_order(nodes: int, local: int, distance: tuple[tuple[int, ...], ...] | None = None
               ) -> list[int]:
    """build_zonelists()'s node order for `local` (find_next_best_node(), mm/page_alloc.c
    v6.18): the local node, then the others by node_distance(), a node numbered below the
    local one penalised by 1 so that equal distances go to the next nodes first (2 of 4: 2, 3,
    0, 1). Not modelled: node_load[], which spreads equal-distance nodes' first choices, and
    PENALTY_FOR_NODE_WITH_CPUS (every node here has CPUs). `distance` defaults to 10 local, 20
    remote."""
    def dist(a: int, b: int) -> int:
        if distance is not None:
            return distance[a][b]
        return DEFAULT_DISTANCE_LOCAL if a == b else DEFAULT_DISTANCE_REMOTE
    others = [n for n in range(nodes) if n != local]
    return [local, *sorted(others, key=lambda n: (dist(local, n) + (n < local), n))]


def zonelists(zones: list[ZoneShape], nodes: int) -> list[list[int]]:
    """Each node's ZONELIST_FALLBACK as indexes into `zones`: node by node in node_order(),
    each node's zones from the highest down (build_zonerefs_node()); only the zones given
    (the simulated ones)."""
    out = []
    for local in range(nodes):
        order: list[int] = []
        for n in node_order(nodes, local):
            order += sorted((k for k, z in enumerate(zones) if z.node == n),
                            key=lambda k: -zones[k].idx)
        out.append(order)
    return out


def _zone(node: int, idx: int, managed: int, present: int | None = None) -> ZoneShape:
    present = managed if present is None else present
    return ZoneShape(node, idx, managed, present, present)


def build_topology(cpus: int, mem_bytes: int, nodes: int = 1, layout: str = "x86_64") -> Topology:
    """CPUs and memory split evenly over `nodes`, zones laid out as `layout`."""
    if layout not in LAYOUTS:
        raise SpecError(f"zones must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 1:
        raise SpecError(f"nodes must be a positive integer, got {nodes!r}")
    if nodes > cpus:
        raise SpecError(f"nodes ({nodes}) must not exceed cpus ({cpus}): every node has a CPU")
    if cpus % nodes:
        raise SpecError(f"cpus ({cpus}) must split evenly over {nodes} nodes")
    block = PAGEBLOCK_NR_PAGES << PAGE_SHIFT
    if mem_bytes % (nodes * block):
        raise SpecError(
            f"mem must split into whole 2MiB pageblocks over {nodes} nodes, got {mem_bytes} bytes")
    node_pages = (mem_bytes // nodes) >> PAGE_SHIFT
    zones: list[ZoneShape] = []
    for node in range(nodes):
        left = node_pages
        dma = dma32 = 0
        if layout == "x86_64" and node == 0:
            dma = DMA_SPAN_PAGES
            dma32 = min(left - dma, DMA32_BYTES >> PAGE_SHIFT)
            left -= dma + dma32
        zones.append(ZoneShape(node, ZONE_DMA, DMA_MANAGED_PAGES if dma else 0, dma - 1 if dma
                               else 0, dma - 1 if dma else 0))
        zones.append(_zone(node, ZONE_DMA32, dma32))
        zones.append(_zone(node, ZONE_NORMAL, left))
        zones.append(_zone(node, ZONE_MOVABLE, 0))
        zones.append(_zone(node, ZONE_DEVICE, 0))
    return Topology(node_cpus=(cpus // nodes,) * nodes, zones=tuple(zones))


def topology_from_pages(cpus: int, pages: tuple[tuple[int, int, int], ...]) -> Topology:
    """A machine from each node's managed DMA, DMA32 and Normal pages (a zoneinfo's), CPUs
    split evenly; present is taken as managed."""
    nodes = len(pages)
    if nodes > cpus:
        raise SpecError(f"nodes ({nodes}) must not exceed cpus ({cpus}): every node has a CPU")
    if cpus % nodes:
        raise SpecError(f"cpus ({cpus}) must split evenly over {nodes} nodes")
    zones = []
    for node, row in enumerate(pages):
        for idx, managed in enumerate(row):
            zones.append(_zone(node, idx, managed))
        zones += [_zone(node, ZONE_MOVABLE, 0), _zone(node, ZONE_DEVICE, 0)]
    top = Topology(node_cpus=(cpus // nodes,) * nodes, zones=tuple(zones))
    if top.simulated().managed_pages < 4 * PAGEBLOCK_NR_PAGES:
        raise SpecError("zone_pages: the last node's highest zone needs at least 4 pageblocks")
    return top


def parse_zone_pages(value: object) -> tuple[tuple[int, int, int], ...]:
    """'DMA,DMA32,Normal;DMA,DMA32,Normal;...' managed pages, one group per node."""
    text = str(value).strip()
    rows = []
    for group in text.split(";"):
        parts = group.split(",")
        try:
            row = tuple(int(p, 10) for p in parts)
        except ValueError:
            row = ()
        if len(row) != 3 or min(row) < 0:
            raise SpecError(
                "zone_pages is 'DMA,DMA32,Normal' managed pages per node, nodes separated by "
                f"';' (e.g. '3840,503771,507637;0,0,1020184'), got {text!r}")
        rows.append(row)
    return tuple(rows)


def format_zone_pages(pages: tuple[tuple[int, int, int], ...]) -> str:
    return ";".join(",".join(str(p) for p in row) for row in pages)
