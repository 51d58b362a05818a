#!/bin/sh
# The validation suite at full size (docs/validation.md); rfc_table.py alone takes 22 minutes on 2 cores:
#   sh validation/full.sh
# The small sizes of the same checks run with the tests (pytest). The sensitivity sweep of
# section 6 is a cluster job at steady state (scenarios/sensitivity.toml, then
# validation/sensitivity.py --results DIR --markdown docs/validation/sensitivity.md).
set -e
here=$(dirname "$0")
python -m pytest -q "$here/../tests/sweep/test_describe_table.py" \
    "$here/../tests/sweep/test_lock_accounting.py" "$here/../tests/allocator/test_behaviour.py"
python "$here/calibration.py" --cpus 32 --duration 60ms --out "$here/../docs/validation"
python "$here/behaviour_plots.py" --out "$here/../docs/validation"
python "$here/../benchmarks/rfc_table.py" --seeds 3 --choice-seeds 2
python "$here/profiles.py" --cap 30s --json "$here/../docs/validation/profiles.json" --write-docs
python "$here/steady_synthetic.py"
python "$here/steady_state.py" --cpus 16 --mem 16GiB --seed 1 --cap 60s
python "$here/zoneinfo_samples.py"
