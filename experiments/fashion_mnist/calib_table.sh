#!/usr/bin/env bash
# Calibration source comparison (RTN quantizer, so only the images differ): resnet20 on Fashion-MNIST,
# genie / zeroq / noise / real at W4A8 and W4A4. Writes runs/calib/* and reports/calib/report.md.
set -euo pipefail
. "$(dirname "$0")/run_lib.sh"  # run DIR OVERRIDES...: skips a run already made
OUT=$HERE/runs/calib
for calib in genie zeroq noise real; do
  for wa in "4 8" "4 4"; do
    set -- $wa
    run $OUT/$calib-w$1a$2 quantizer=rtn distill=$calib quant.w=$1 quant.a=$2
  done
done
$PY experiments/results.py $HERE
$PY -m genie_exp.report $HERE/results.jsonl --only runs/calib/ --out $HERE/reports/calib
