"""validation/profiles.py: every profile's runs are valid specs of the model, each on the
profile's own kernel first, and the stored run renders into docs/validation.md section 7."""

import json
import sys
from pathlib import Path

from allocator import Spec

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "validation"))
import profiles  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def test_every_profile_runs_on_its_machine_and_kernel():
    for p in profiles.PROFILES:
        runs = profiles.variants(p)
        assert runs[0][1] == {"kernel": p.kernel}
        assert runs[1][1] == {"kernel": p.kernel, "knob.lru_lock": 1}
        for _, keys in runs:
            spec = Spec.from_flat({**p.machine, **keys, "duration": "auto"})
            assert spec.cpus == p.machine["cpus"] and spec.nodes == p.machine["nodes"]


def test_the_stored_run_renders_into_the_docs():
    stored = json.loads((ROOT / "docs" / "validation" / "profiles.json").read_text())
    text = profiles.markdown(stored["results"], stored["cap"], stored["seed"],
                             stored["sim_version"])
    assert text in (ROOT / "docs" / "validation.md").read_text()
    assert "| published |" in text and "knob.lru_lock = 1" in text
