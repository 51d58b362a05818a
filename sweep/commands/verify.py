"""`sweep verify [SWEEP]`: open every stored file of a sweep (or of all) and check it whole:
Parquet structure, readable, and for a point or failure one row whose ids are its name's.
`sweep run` checks each point file's structure at every plan and moves a damaged one aside
(store.quarantine); this is the full check, for a nightly job or after a disk incident."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from allocator.params.errors import SpecError

from ..compact import sweeps
from ..store import KINDS, _fs, check_point_file


def verify(root: str, sweep: str | None = None) -> tuple[int, list[tuple[str, str]]]:
    """(files checked, [(file, what is wrong)]) over the sweep's points, samples and
    failures."""
    fs, base = _fs(root)
    checked = 0
    damaged = []
    for name in [sweep] if sweep else sweeps(root):
        for kind in KINDS:
            selector = pafs.FileSelector(f"{base}/{name}/{kind}", allow_not_found=True)
            for info in fs.get_file_info(selector):
                if info.base_name.startswith(".") or not info.base_name.endswith(".parquet"):
                    continue
                checked += 1
                reason = check_point_file(fs, info.path)
                if reason is not None:
                    damaged.append((f"{name}/{kind}/{info.base_name}", reason))
    return checked, damaged


def verify_and_print(root: str, sweep: str | None, out: Any) -> int:
    """`sweep verify`: each damaged file on a line, the count; the exit code (1: damage)."""
    if sweep is not None and not Path(root, sweep).is_dir() and "://" not in root:
        raise SpecError(f"no sweep {sweep!r} under {root!r}")
    checked, damaged = verify(root, sweep)
    for name, reason in damaged:
        out.print(f"damaged: {name}: {reason}", markup=False, highlight=False, soft_wrap=True)
    out.print(f"{checked} file(s) checked, {len(damaged)} damaged", markup=False)
    return 1 if damaged else 0
