"""Parse and format sizes (`64GiB`, `1TiB`, `512MiB`) and durations (`100ms`, `2s`)."""

from __future__ import annotations

import re

from allocator.params.errors import SpecError

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "kib": 1 << 10,
    "kb": 1 << 10,
    "m": 1 << 20,
    "mib": 1 << 20,
    "mb": 1 << 20,
    "g": 1 << 30,
    "gib": 1 << 30,
    "gb": 1 << 30,
    "t": 1 << 40,
    "tib": 1 << 40,
    "tb": 1 << 40,
}
_TIME_UNITS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_NUM = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$")
# Ceilings that keep every later sum and product inside the engine's int64 arithmetic: a
# simulated day is far beyond any run (steady state is reached in seconds), an exbibyte far
# beyond any machine (Spec bounds mem to 16 TiB).
MAX_DURATION_NS = 86_400 * 1_000_000_000
MAX_SIZE_BYTES = 1 << 60


def parse_size(text: str | int, field: str = "size") -> int:
    """Bytes from `64GiB`, `1TiB`, `512MiB`, `2048` (bytes). Binary units; `GB` means GiB as in
    the kernel's own messages."""
    if isinstance(text, bool):
        raise SpecError(f"{field} must be a size such as 64GiB, got {text!r}")
    if isinstance(text, int):
        value = text
    else:
        m = _NUM.match(str(text))
        unit = m.group(2).lower() if m else None
        if not m or unit not in _SIZE_UNITS:
            raise SpecError(
                f"{field} must be a size such as 512MiB, 64GiB or 1TiB, got {text!r}")
        exact = float(m.group(1)) * _SIZE_UNITS[unit]
        if exact != int(exact):
            raise SpecError(f"{field} must be a whole number of bytes, got {text!r}")
        value = int(exact)
    if value > MAX_SIZE_BYTES:
        raise SpecError(f"{field} must be at most 1EiB, got {text!r}")
    return value


def parse_duration(text: str | int, field: str = "duration") -> int:
    """Nanoseconds from `100ms`, `2s`, `500us`, `1000ns`. A bare number is nanoseconds."""
    if isinstance(text, bool):
        raise SpecError(f"{field} must be a duration such as 100ms, got {text!r}")
    if isinstance(text, int):
        value = text
    else:
        s = str(text).strip()
        if s.startswith("-"):
            raise SpecError(f"{field} must not be negative, got {text!r}")
        m = _NUM.match(s)
        unit = m.group(2).lower() if m else None
        if unit == "":
            unit = "ns"
        if not m or unit not in _TIME_UNITS:
            raise SpecError(
                f"{field} must be a duration such as 500us, 100ms or 2s, got {text!r}")
        value = int(round(float(m.group(1)) * _TIME_UNITS[unit]))
    if value > MAX_DURATION_NS:
        raise SpecError(f"{field} must be at most 86400s (a simulated day), got {text!r}")
    return value


def format_size(nbytes: int | float) -> str:
    """`64GiB`, `1.5TiB`, `512MiB`: the largest binary unit that keeps the number >= 1."""
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= scale:
            return f"{nbytes / scale:g}{unit}"
    return f"{int(nbytes)}B"
