#!/usr/bin/env bash
# The shipped teachers under plain round-to-nearest at W8A8 (W4A4 comes from quant_table.sh), with the
# default Genie-D calibration images. Writes runs/teachers/<model>-w8a8-genie-rtn/ and reports/teachers/.
set -euo pipefail
. "$(dirname "$0")/run_lib.sh"  # run DIR OVERRIDES...: skips a run already made
OUT=$HERE/runs/teachers
for model in resnet20 mobilenetv2; do
  run $OUT/$model-w8a8-genie-rtn +model=$model quantizer=rtn quant.w=8 quant.a=8
done
$PY experiments/results.py $HERE
$PY -m genie_exp.report $HERE/results.jsonl --only runs/teachers/ --out $HERE/reports/teachers
