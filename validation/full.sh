#!/bin/sh
# The validation suite at full size (docs/validation.md), about 20 minutes on 2 cores:
#   sh validation/full.sh [RESULTS_DIR]
# The small sizes of the same checks run with the tests (pytest).
set -e
results=${1:-results}
here=$(dirname "$0")
python -m pytest -q "$here/../tests/sweep/test_describe_table.py" \
    "$here/../tests/sweep/test_lock_accounting.py" "$here/../tests/allocator/test_behaviour.py"
python "$here/calibration.py" --cpus 32 --duration 60ms --out "$here/../docs/validation"
python "$here/behaviour_plots.py" --out "$here/../docs/validation"
python "$here/../benchmarks/rfc_table.py" --duration 2s --warmup 1s --seeds 3
sweep run "$here/../scenarios/sensitivity.toml" --results "$results"
python "$here/sensitivity.py" --results "$results" \
    --markdown "$here/../docs/validation/sensitivity.md"
