#!/usr/bin/env bash
# Calibration source comparison (RTN quantizer, so only the images differ): resnet20 on Fashion-MNIST,
# genie / zeroq / noise / real at W4A8 and W4A4. Writes runs/calib/* and runs/calib/report.md.
set -euo pipefail
# A run whose directory exists is skipped (done, or running in another shell): delete it to rerun.
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
run() { local dir=$1; shift; [ -e "$dir" ] && return 0; mkdir -p "$dir"; $PY -m genie_exp "$@" progress=false hydra.run.dir="$dir"; }
OUT=experiments/fashion_mnist/runs/calib
for calib in genie zeroq noise real; do
  for wa in "4 8" "4 4"; do
    set -- $wa
    run $OUT/$calib-w$1a$2 quantizer=rtn distill=$calib quant.w=$1 quant.a=$2
  done
done
$PY -m genie_exp.report $OUT
