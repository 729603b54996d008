#!/usr/bin/env bash
# What the embedded default's CPU budget costs: resnet20, Genie-D + Genie-M at W2A4 (the most
# budget-sensitive setting), distillation steps 100 / 200 / 400 per batch and reconstruction steps
# 250 / 500 / 1000 per unit (200 and 500 are the defaults; those runs come from quant_table.sh).
set -euo pipefail
. "$(dirname "$0")/run_lib.sh"  # run DIR OVERRIDES...: skips a run already made
OUT=$HERE/runs/budget
# cheaper points first
run $OUT/distill100-recon500 quant.w=2 quant.a=4 distill.iters=100
run $OUT/distill200-recon250 quant.w=2 quant.a=4 recon.iters=250
run $OUT/distill400-recon500 quant.w=2 quant.a=4 distill.iters=400
run $OUT/distill200-recon1000 quant.w=2 quant.a=4 recon.iters=1000
$PY experiments/results.py $HERE
$PY -m genie_exp.report $HERE/results.jsonl --only runs/budget/ --out $HERE/reports/budget
