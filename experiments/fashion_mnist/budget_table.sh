#!/usr/bin/env bash
# What the embedded default's CPU budget costs: resnet20, Genie-D + Genie-M at W2A4 (the most
# budget-sensitive setting), distillation steps 100 / 200 / 400 per batch and reconstruction steps
# 250 / 500 / 1000 per unit (200 and 500 are the defaults; those runs come from quant_table.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
OUT=experiments/fashion_mnist/runs/budget
for it in 100 400; do
  $PY -m genie_exp quant.w=2 quant.a=4 distill.iters=$it progress=false hydra.run.dir=$OUT/distill$it-recon500
done
for it in 250 1000; do
  $PY -m genie_exp quant.w=2 quant.a=4 recon.iters=$it progress=false hydra.run.dir=$OUT/distill200-recon$it
done
