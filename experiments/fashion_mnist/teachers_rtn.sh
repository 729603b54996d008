#!/usr/bin/env bash
# The shipped teachers under plain round-to-nearest at W8A8 (W4A4 comes from quant_table.sh), with the
# default Genie-D calibration images. Writes runs/teachers/<model>-w8a8-genie-rtn/.
set -euo pipefail
# A run whose directory exists is skipped (done, or running in another shell): delete it to rerun.
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
run() { local dir=$1; shift; [ -e "$dir" ] && return 0; mkdir -p "$dir"; $PY -m genie_exp "$@" progress=false hydra.run.dir="$dir"; }
OUT=experiments/fashion_mnist/runs/teachers
for model in resnet20 mobilenetv2; do
  run $OUT/$model-w8a8-genie-rtn +model=$model quantizer=rtn quant.w=8 quant.a=8
done
$PY -m genie_exp.report $OUT
