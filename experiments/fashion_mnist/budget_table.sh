#!/usr/bin/env bash
# What the embedded default's CPU budget costs: resnet20, Genie-D + Genie-M at W2A4 (the most
# budget-sensitive setting), distillation steps 100 / 200 / 400 per batch and reconstruction steps
# 250 / 500 / 1000 per unit (200 and 500 are the defaults; those runs come from quant_table.sh).
set -euo pipefail
# A run whose directory exists or whose line is in results.jsonl is skipped (done, or running in another
# shell): delete it to rerun. The run dirs (runs/, not in git) go into results.jsonl at the end
# (experiments/results.py), the report is made from that file into reports/<table>/.
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
HERE=experiments/fashion_mnist
run() { local dir=$1; shift; [ -e "$dir" ] && return 0
  grep -qF "{\"name\": \"${dir#$HERE/}\", " $HERE/results.jsonl 2>/dev/null && return 0  # in results.jsonl
  mkdir -p "$dir"; $PY -m genie_exp "$@" progress=false hydra.run.dir="$dir"; }
OUT=$HERE/runs/budget
# cheaper points first
run $OUT/distill100-recon500 quant.w=2 quant.a=4 distill.iters=100
run $OUT/distill200-recon250 quant.w=2 quant.a=4 recon.iters=250
run $OUT/distill400-recon500 quant.w=2 quant.a=4 distill.iters=400
run $OUT/distill200-recon1000 quant.w=2 quant.a=4 recon.iters=1000
$PY experiments/results.py $HERE
$PY -m genie_exp.report $HERE/results.jsonl --only runs/budget/ --out $HERE/reports/budget
