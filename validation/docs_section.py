"""The generated sections of docs/validation.md: a script's table between its two markers."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "validation.md"


def write_section(text: str, start: str, end: str, path: Path = DOCS) -> None:
    """Replace what stands between the markers `start` and `end` of `path` with `text`."""
    doc = path.read_text()
    if start not in doc:
        raise SystemExit(f"{path}: no {start} marker")
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    path.write_text(pattern.sub(lambda _: f"{start}\n{text}\n{end}", doc))
