#!/usr/bin/env bash
# The bench of the embedded default (latest.json, what `make bench` writes) and of the speed switches
# that change numerics or budget, one after the other on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
OUT=experiments/bench
$PY -m genie_exp.bench progress=false bench.out=$OUT/latest.json
$PY -m genie_exp.bench progress=false trainer.precision=bf16-mixed bench.out=$OUT/bf16-mixed.json
$PY -m genie_exp.bench progress=false distill.early_stop=50 bench.out=$OUT/early-stop-50.json
$PY -m genie_exp.bench progress=false distill.parallel_batches=2 bench.out=$OUT/parallel-2.json
