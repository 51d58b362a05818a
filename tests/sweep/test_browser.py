"""Issue #18: the report and the history page as a reader sees them, in a real headless
Chromium driven by Playwright: every image loads and is shown at its own size (so its type is
the size figures.py sets), no Markdown shows literally, and the first screen carries the
verdicts.

Chromium comes from the distribution (Debian's `chromium`); where none is installed the tests
are skipped with that reason, except where PCP_SWEEP_REQUIRE_BROWSER is set (.ci/run installs
it and sets that), so a CI without the browser fails instead of passing quietly.
"""

import os
import re
import shutil

import pytest

from sweep import figures, history
from sweep.report import write_report

from .synth import write_sweep
from .test_history import slower_at_scale, write_nights
from .test_report import grows

VIEWPORT = {"width": 1280, "height": 800}
# flags for a closed network: no background fetches, no first-run, no sandbox (root in CI)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def _chromium():
    exe = os.environ.get("PCP_SWEEP_CHROMIUM") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p),
        None)
    why = None
    if exe is None:
        why = "no Chromium installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        why = "playwright is not installed (pip install -e '.[test]')"
    if why and os.environ.get("PCP_SWEEP_REQUIRE_BROWSER"):
        pytest.fail(f"PCP_SWEEP_REQUIRE_BROWSER is set but {why}")
    if why:
        pytest.skip(why)
    return exe


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=FLAGS)
        yield b
        b.close()


def _open(browser, path):
    page = browser.new_page(viewport=VIEWPORT)
    failed = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, failed


def _check_page(page, failed):
    images = page.evaluate("[...document.images].map(i => ({src: i.getAttribute('src'), "
                           "complete: i.complete, natural: i.naturalWidth, shown: i.width}))")
    assert images, "no figure on the page"
    assert not failed, f"requests failed: {failed}"
    for im in images:
        assert im["complete"] and im["natural"] > 0, f"{im['src']} did not load"
        # shown at its own width: not scaled down, so the type is the size figures.py set
        assert im["natural"] == figures.PAGE_PX and im["shown"] == im["natural"], im
    text = page.evaluate("document.body.innerText")
    for mark in ("**", "`", "](", "|---", "![", "\n# ", "\n## "):
        assert mark not in "\n" + text, f"literal Markdown {mark!r} on the page"
    return text


def test_report_in_a_browser(browser, tmp_path):
    results = tmp_path / "results"
    write_sweep(results, sys_gain=grows, noise=0.01)
    out = tmp_path / "report"
    write_report(str(results), "synthetic", out)
    page, failed = _open(browser, out / "index.html")
    text = _check_page(page, failed)
    assert text.startswith("Does pcp-buddy's gain grow")
    # the first screen: the completeness line and the first verdict, above any figure
    first = page.locator("li").first.locator("strong").filter(
        has_text=re.compile(r"^((not )?supported|inconclusive)")).first
    box = first.bounding_box()
    assert box and box["y"] + box["height"] <= VIEWPORT["height"], box
    line = page.locator("h1 + p")
    assert re.match(r"(Stored|Grid unknown)", line.inner_text()), line.inner_text()
    assert line.bounding_box()["y"] < box["y"]
    assert page.locator("img").first.bounding_box()["y"] > box["y"]
    page.close()


def test_history_page_in_a_browser(browser, tmp_path):
    store = write_nights(tmp_path, (None, slower_at_scale))
    out = tmp_path / "page"
    history.write_page(str(store), None, out)
    page, failed = _open(browser, out / "history.html")
    text = _check_page(page, failed)
    assert text.startswith("Nightly history: synthetic")
    assert page.locator("table").first.bounding_box()["y"] < VIEWPORT["height"]
    assert "regression" in text
    page.close()
