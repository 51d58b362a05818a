"""validation/retrodiction.py: every case is a valid spec of the model (or says why it cannot
be one), the scoring counts what it says, and the stored results render."""

import json
import math
import sys
from pathlib import Path

from allocator import Spec

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "validation"))
import retrodiction  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def test_every_case_builds_on_the_model_or_says_why_not():
    for case in retrodiction.CASES:
        if case.missing:
            assert not case.steps and len(case.missing) > 20  # a reason, not a word
            continue
        assert case.role in ("validation", "calibration", "variant") and case.machine_note
        for _, keys in case.steps:
            Spec.from_flat({**case.machine, **keys, "duration": "auto", "warmup": "auto"})
        for m in case.metrics:
            assert len(m.published) == len(case.steps)


def test_the_v6_7_steps_add_the_series_patch_by_patch():
    case = next(c for c in retrodiction.CASES if c.key == "v67-kbuild")
    reverts = [Spec.from_flat({"cpus": 2, "mem": "64MiB", **k}).reverts for _, k in case.steps]
    assert [len(r) for r in reverts[1:]] == [7, 6, 4, 2, 0]
    assert all(set(b) <= set(a) for a, b in zip(reverts[1:], reverts[2:], strict=False))


def _result(values):
    return {"steps": [{"label": f"s{i}", "stationary": True, "values": {"m": (v, 0.0)}}
                      for i, v in enumerate(values)]}


def test_sign_and_ratio_are_counted_as_documented():
    case = retrodiction.Case("t", "", "", "validation", {}, "",
                             steps=(("a", {}), ("b", {}), ("c", {}), ("d", {})),
                             metrics=(retrodiction.Metric("m", "x", (100.0, 90.0, 110.0, 100.2)),))
    rows = retrodiction.changes(case, _result((1.0, 0.8, 0.95, 1.001)))
    # -10% published, -20% model: same sign, ratio 2; +10% vs -5%: opposite; +0.2% vs +0.1%:
    # both below 0.5%, agreeing with no ratio
    assert [r["sign"] for r in rows] == [True, False, True]
    assert math.isclose(rows[0]["ratio"], 2.0) and math.isnan(rows[2]["ratio"])


def test_the_stored_results_render_with_their_score():
    stored = json.loads((ROOT / "docs" / "retrodiction" / "results.json").read_text())
    text = retrodiction.markdown(stored["results"], stored["cap"], stored["seed"],
                                 stored["sim_version"])
    assert text in (ROOT / "docs" / "validation.md").read_text()
    assert "Score (validation rows only): sign agrees on" in text


def test_the_calibrated_handoff_results_render_between_their_own_markers():
    stored = json.loads((ROOT / "docs" / "retrodiction" / "zone-lock-handoff.json").read_text())
    assert stored["sets"] == {"cost.zone_lock_handoff_ns": "480", "cost.zone_page_ns": "20"}
    text = retrodiction.markdown(stored["results"], stored["cap"], stored["seed"],
                                 stored["sim_version"], stored["sets"])
    doc = (ROOT / "docs" / "validation.md").read_text()
    start, end = doc.index(retrodiction.SET_START), doc.index(retrodiction.SET_END)
    assert text in doc[start:end]
    assert "--set cost.zone_lock_handoff_ns=480" in text
