#!/usr/bin/env bash
# Calibration source comparison (RTN quantizer, so only the images differ): resnet20 on Fashion-MNIST,
# genie / zeroq / noise / real at W4A8 and W4A4. Writes runs/calib/* and runs/calib/report.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
OUT=experiments/fashion_mnist/runs/calib
for calib in genie zeroq noise real; do
  for wa in "4 8" "4 4"; do
    set -- $wa
    $PY -m genie_exp quantizer=rtn distill=$calib quant.w=$1 quant.a=$2 progress=false \
        hydra.run.dir=$OUT/$calib-w$1a$2
  done
done
$PY -m genie_exp.report $OUT
