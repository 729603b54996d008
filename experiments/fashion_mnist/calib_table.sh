#!/usr/bin/env bash
# Calibration source comparison (RTN quantizer, so only the images differ): resnet20 on Fashion-MNIST,
# genie / zeroq / noise / real at W4A8 and W4A4. Writes runs/calib/* and reports/calib/report.md.
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
OUT=$HERE/runs/calib
for calib in genie zeroq noise real; do
  for wa in "4 8" "4 4"; do
    set -- $wa
    run $OUT/$calib-w$1a$2 quantizer=rtn distill=$calib quant.w=$1 quant.a=$2
  done
done
$PY experiments/results.py $HERE
$PY -m genie_exp.report $HERE/results.jsonl --only runs/calib/ --out $HERE/reports/calib
