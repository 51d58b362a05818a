"""Read kmem tracepoint text: `perf script`, `trace-cmd report`, raw ftrace (`trace`,
`trace_pipe`). Line formats: ../shared/reference/calibration.md s6, include/trace/events/kmem.h.

One regular expression finds the common part of every prefix: the CPU in brackets, the
timestamp in seconds, then the event (perf prefixes its subsystem, `kmem:`), whatever precedes
them (ftrace's `comm-pid`, its optional `(tgid)` column and its 4- or 5-character irq/preempt
flags, which trace-cmd leaves out; perf's `comm tid`, and a period column). Fields are
`key=value` pairs in any order.

Events kept: mm_page_alloc, mm_page_free, mm_page_free_batched, and the old names
mm_page_free_direct (= mm_page_free) and mm_pagevec_free (= mm_page_free_batched, order 0).
Other kmem events (mm_page_alloc_zone_locked, mm_page_pcpu_drain, mm_page_alloc_extfrag, ...)
and other subsystems' events are counted and skipped. A line that names a kept event but whose
fields do not parse is malformed: counted, with its line number.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

ALLOC, FREE = 0, 1
_KEPT = {
    "mm_page_alloc": ALLOC,
    "mm_page_free": FREE,
    "mm_page_free_direct": FREE,  # before 2.6.39
    "mm_page_free_batched": FREE,
    "mm_pagevec_free": FREE,  # before 3.3
}
_ORDER0 = {"mm_page_free_batched", "mm_pagevec_free"}  # a fixed order=0 (or none printed)
LINE = re.compile(  # the prefix every format shares; groups cpu, ts, event, fields
    r"\[(?P<cpu>\d+)\]\s+(?:[^\s\[\]]{1,6}\s+)?(?P<ts>\d+\.\d+):\s+(?:\d+\s+)?"
    r"(?:[A-Za-z_]\w*:)?(?P<event>[A-Za-z_]\w*):(?:\s+(?P<fields>.*))?$"
)
_FIELD = re.compile(r"(\w+)=(\S+)")
_MENTION = re.compile(r"\b(" + "|".join(sorted(_KEPT, key=len, reverse=True)) + r"):")
MAX_REPORTED = 5


@dataclass(frozen=True)
class Event:
    line: int
    ts_ns: int
    cpu: int
    kind: int  # ALLOC or FREE
    pfn: int  # 0: failed allocation
    order: int
    migratetype: int  # -1 when not printed (frees)
    gfp: str


@dataclass
class ParseStats:
    lines: int = 0
    events: Counter = field(default_factory=Counter)  # kept events by name
    skipped: Counter = field(default_factory=Counter)  # other events by name
    malformed: int = 0
    malformed_lines: list[int] = field(default_factory=list)

    def bad(self, line: int) -> None:
        self.malformed += 1
        if len(self.malformed_lines) < MAX_REPORTED:
            self.malformed_lines.append(line)


def _ts_ns(text: str) -> int:
    secs, _, frac = text.partition(".")
    return int(secs) * 1_000_000_000 + int((frac + "000000000")[:9])


def _int(text: str) -> int:
    """Decimal or 0x-prefixed hex (older kernels print pfn in decimal, newer in hex)."""
    return int(text, 16) if text.lower().startswith("0x") else int(text, 10)


def parse_lines(lines: Iterable[str], stats: ParseStats) -> Iterator[Event]:
    for number, raw in enumerate(lines, 1):
        stats.lines = number
        m = LINE.search(raw)
        if m is None:
            if _MENTION.search(raw):
                stats.bad(number)  # names a kept event, yet has no cpu/timestamp prefix
            continue
        name = m.group("event")
        kind = _KEPT.get(name)
        if kind is None:
            stats.skipped[name] += 1
            continue
        fields = dict(_FIELD.findall(m.group("fields") or ""))
        try:
            pfn = _int(fields["pfn"])
            order = 0 if name in _ORDER0 and "order" not in fields else _int(fields["order"])
            mt = _int(fields["migratetype"]) if kind == ALLOC else -1
        except (KeyError, ValueError):
            stats.bad(number)
            continue
        if not 0 <= order <= 10 or pfn < 0 or (kind == ALLOC and not -1 <= mt <= 5):
            stats.bad(number)
            continue
        stats.events[name] += 1
        yield Event(number, _ts_ns(m.group("ts")), int(m.group("cpu")), kind, pfn, order, mt,
                    fields.get("gfp_flags", ""))
