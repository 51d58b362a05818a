"""The model's boot arithmetic held against real /proc/zoneinfo files (docs/validation.md s9).

For each file: the machine is the file's (managed pages per zone, CPUs per node), the model
derives min_free_kbytes, watermarks, protection and pagesets, and `sweep describe --zoneinfo`
compares them with what the file prints. Prints a markdown table: per file, the kernel as
recorded, how many printed values match (watermarks within 1%, pagesets and protection equal),
the largest watermark difference, and the notes that explain the rest.

    python validation/zoneinfo_samples.py [DIR]   (default: tests/sweep/data/zoneinfo)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sweep.commands import describe as d  # noqa: E402
from sweep.zoneinfo import read_zoneinfo  # noqa: E402

# the kernel each file comes from, as ../shared/reference/zoneinfo/README.md records it
KERNELS = {
    "own-machine": "6.18.44 (this machine)",
    "prometheus": "4.19-5.x",
    "jds2001": "RHEL 8.0, 4.18.0-80",
    "csm-csci442": "Ubuntu 3.13.0-77",
    "twaite": "Ubuntu 3.2.0-58",
    "GoClever": "Android 3.4.5, 32-bit",
    "root-001": "before 4.6", "root-002": "before 4.6", "root-003": "before 4.6",
    "root-004": "not recorded", "root-005": "not recorded", "root-006": "4.1-5.3",
    "root-007": "5.14 or later",
}
RECENT = ("own-machine", "root-007")  # v5.14 or later: must be within 1% (issue #14)


def kernel_of(name: str) -> str:
    return next((v for k, v in KERNELS.items() if k in name), "?")


def row(path: Path) -> str:
    zi = read_zoneinfo(str(path))
    short = path.name.replace("__proc_zoneinfo.txt", "").replace("__zoneinfo.txt", "")
    if zi.unsupported():
        return f"| {short} | {kernel_of(short)} | - | - | not laid out: {zi.unsupported()} |"
    boot = d.boot_of(d.spec_for(None, None, None, [], zi), zi)
    res = d.compare(boot, zi)
    rows = res["rows"]
    ok = sum(r["ok"] for r in rows)
    wm = [r["rel"] for r in rows if r["field"] in d.WMARKS]
    worst = f"{100 * max(wm):.2f}%" if wm else "-"
    notes = "; ".join(res["notes"]).replace("|", "/")
    return f"| {short} | {kernel_of(short)} | {ok}/{len(rows)} | {worst} | {notes} |"


def main() -> int:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests/sweep/data/zoneinfo"
    print("| file | kernel | values equal (watermarks within 1%) | largest watermark "
          "difference | what explains the rest |")
    print("|---|---|---|---|---|")
    for path in sorted(folder.glob("*.txt")):
        print(row(path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
