"""`sweep index`: compact a store's point files into the index segments queries read."""

from __future__ import annotations

from typing import Any


def index(results: str, sweep: str | None, out: Any) -> None:
    from ..compact import indexes

    files = indexes(results, only=sweep)
    out.print(f"{len(files['points'])} point segment(s), {len(files['samples'])} samples "
              f"segment(s) under {results}", markup=False)
