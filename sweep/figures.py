"""How pcp-sweep draws a figure and lays out a page, in one place for the report and the
nightly history.

Every figure is PAGE_PX wide at DPI, the width of the page's text column, so a browser shows it
at its own size and its type at the size set here (none smaller than MIN_FONT_PT points,
12.5 px at DPI 100); panels wrap into rows of at most COLUMNS rather than widening the figure.
PNG and SVG are written side by side, each atomically. `page` renders a Markdown text to a
static HTML page with markdown-it-py (CommonMark with tables) in the one style sheet.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from markdown_it import MarkdownIt  # noqa: E402

PAGE_PX = 1100  # the page's text column (STYLE's max-width) and every figure's width
DPI = 100
COLUMNS = 3  # panels per row
MIN_FONT_PT = 9  # the smallest type in any figure: tick labels and legends

matplotlib.rcParams.update({
    "svg.fonttype": "none",  # text stays text: smaller, searchable SVGs
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "legend.title_fontsize": MIN_FONT_PT,
    "figure.titlesize": 11,
})

STYLE = (f"body{{font-family:sans-serif;max-width:{PAGE_PX}px;margin:auto;padding:0 8px;"
         "line-height:1.4}img{max-width:100%;display:block;margin:8px 0}"
         "table{border-collapse:collapse}"
         "td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}"
         "td:first-child,th:first-child{text-align:left}code{background:#f4f4f4}")


def panels(n: int, row_in: float = 3.2, columns: int = COLUMNS) -> tuple[Any, list[Any]]:
    """A figure of `n` panels in rows of `columns`, PAGE_PX wide; the unused cells of the
    last row are hidden."""
    cols = max(1, min(columns, n))
    rows = max(1, math.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(PAGE_PX / DPI, row_in * rows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def save(fig: Any, stem: Path) -> list[Path]:
    """`stem`.png and `stem`.svg, each written to a temporary name and moved into place."""
    fig.tight_layout()
    paths = []
    for ext in ("png", "svg"):
        path = stem.with_suffix(f".{ext}")
        tmp = path.with_name(f".{path.name}.tmp")
        fig.savefig(tmp, format=ext, dpi=DPI)
        os.replace(tmp, path)
        paths.append(path)
    plt.close(fig)
    return paths


def page(title: str, md: str) -> str:
    """A Markdown text as a static HTML page (raw HTML in the text is escaped, not passed)."""
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(md)
    esc = title.replace("&", "&amp;").replace("<", "&lt;")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{esc}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>\n")
