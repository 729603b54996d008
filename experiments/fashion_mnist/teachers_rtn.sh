#!/usr/bin/env bash
# The shipped teachers under plain round-to-nearest at W8A8 (W4A4 comes from quant_table.sh), with the
# default Genie-D calibration images. Writes runs/teachers/<model>-w8a8-genie-rtn/ and reports/teachers/.
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
OUT=$HERE/runs/teachers
for model in resnet20 mobilenetv2; do
  run $OUT/$model-w8a8-genie-rtn +model=$model quantizer=rtn quant.w=8 quant.a=8
done
$PY experiments/results.py $HERE
$PY -m genie_exp.report $HERE/results.jsonl --only runs/teachers/ --out $HERE/reports/teachers
