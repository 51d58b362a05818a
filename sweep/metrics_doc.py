"""docs/metrics.md, written from the metric catalogue and each built-in policy's own metrics:
every field of a run's record, documented once. tests/sweep/test_docs.py fails while the file
differs from `render()`; PCP_SWEEP_UPDATE_DOCS=1 rewrites it."""

from __future__ import annotations

from pathlib import Path

from allocator import registered_policies
from allocator.core import catalogue

METRICS_MD = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"


def _row(m: catalogue.Metric) -> str:
    better = {1: "higher", -1: "lower", 0: ""}[m.better]
    gain = f"`{m.gain.name}` ({m.gain.kind})" if m.gain else ""
    return (f"| `{m.name}` | {m.unit} | {m.doc} | {m.kernel} | {m.source} | {better} | "
            f"{gain} |")


def render() -> str:
    head = ["| field | unit | what it is | kernel's name | source | better | gain |",
            "|---|---|---|---|---|---|---|"]
    out = [
        "# Metrics",
        "",
        "Every field of a run's record (`sweep simulate --json`, the `points` view), written by",
        "`sweep/metrics_doc.py` from the metric catalogue (`allocator/core/catalogue.py`),",
        "where each is defined once. *source*: how the simulator collects it (the catalogue's",
        "docstring); *better*: which way `regress` and `compare` count as better, for the metrics",
        "they check; *gain*: the column of the `gains` view computed on it (`sweep/views.sql`).",
        "Counters kept only to derive another field are not in the record and not listed.",
    ]
    for group, names in catalogue.groups().items():
        out += ["", f"## {group}", "", *head]
        out += [_row(catalogue.BY_NAME[n]) for n in names]
    for name, cls in sorted(registered_policies().items()):
        if cls.metrics:
            out += ["", f"## policy {name}", "", "Only in this policy's records.", "", *head]
            out += [_row(m) for m in cls.metrics]
    out += ["", "## The time series (`samples` view, `sweep simulate --samples-csv`)", "",
            "| column | unit | what each row holds |", "|---|---|---|"]
    out += [f"| `{n}` | {u} | {d} |" for n, u, d in catalogue.SERIES]
    return "\n".join(out) + "\n"
