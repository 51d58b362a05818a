"""Issue #18: the nightly history (sweep/history.py). Three synthetic nights against one
baseline, the third slower at scale: each night's headline numbers are kept with its version,
git revision and verdict, and `sweep report --history` draws them with the regression marked."""

import datetime as dt
import struct

import numpy as np

from sweep import history, regress

from .cli_run import run
from .synth import write_sweep


def slower_at_scale(mix, policy, cpus, mem):
    return 1.3 if mix == "grows" and policy == "pcp-buddy" and cpus >= 64 else 1.0


def write_nights(tmp_path, scales):
    """A history store of one night per entry of `scales` (None: as the baseline), each
    decided against one synthetic baseline; returns the store's path."""
    base = tmp_path / "base"
    write_sweep(base, seed=1)
    store = tmp_path / "history"
    for night, scale in enumerate(scales):
        cand = tmp_path / f"night{night}"
        write_sweep(cand, seed=2 + night, scale=scale)
        outcome = regress.decide(regress.load(str(base), "synthetic", None),
                                 regress.load(str(cand), "synthetic", None))
        history.record(str(store), str(cand), "synthetic", "synthetic", outcome,
                       now=dt.datetime(2026, 12, 1 + night, 3, 0, tzinfo=dt.UTC))
    return store


def test_nights_are_kept_and_drawn_with_the_regression_marked(tmp_path, capsys):
    store = write_nights(tmp_path, (None, None, slower_at_scale))
    sweep, h = history.read(str(store))
    assert sweep == "synthetic"
    nights = list(dict.fromkeys(h["night"].tolist()))
    assert nights == ["2026-12-01T03:00:00Z", "2026-12-02T03:00:00Z", "2026-12-03T03:00:00Z"]
    verdicts = [h["verdict"][h["night"] == n][0] for n in nights]
    assert verdicts[2] == "regression" and verdicts[0] != "regression"
    # the slowed series is the one marked, on the third night only
    marked = {(n, m, s) for n, m, s, r in zip(h["night"], h["mix"], h["series"], h["regressed"],
                                              strict=True) if r}
    assert marked and all(n == nights[2] and m == "grows" for n, m, _ in marked)
    # a kept number is the mean over seeds of the night's points
    sel = ((h["night"] == nights[0]) & (h["mix"] == "flat") & (h["cpus"] == 8)
           & (h["series"] == "upstream") & (h["metric"] == "sys_frac"))
    assert sel.sum() == 2 and np.all(np.abs(h["value"][sel] - 0.10) < 0.01)  # two mems
    out = tmp_path / "page"
    code, stdout, err = run(["report", "--history", str(store), "--out", str(out)], capsys)
    assert code == 0, err
    text = (out / "history.md").read_text()
    assert "| 2026-12-03T03:00:00Z | synthetic |" in text and "regression" in text
    html = (out / "history.html").read_text()
    assert "<table>" in html and "`" not in html
    for mix in ("grows", "flat"):
        png = (out / f"history-{mix}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", png[16:24])
        assert width > 1000 and height > 300


def test_history_errors_are_one_line(tmp_path, capsys):
    code, _, err = run(["report", "--history", str(tmp_path / "none"), "--out",
                        str(tmp_path / "o")], capsys)
    assert code == 2 and "no such directory" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run(["report", "--history", str(tmp_path / "empty"), "--out",
                        str(tmp_path / "o")], capsys)
    assert code == 2 and "no night recorded yet" in err


def test_history_sits_beside_a_local_baseline():
    from sweep.commands.nightly import history_dir

    assert history_dir("/srv/pcp-sweep/main/", None) == "/srv/pcp-sweep/main-history"
    assert history_dir("s3://bucket/main", None) == ""
    assert history_dir("/srv/main", "/srv/h") == "/srv/h"
