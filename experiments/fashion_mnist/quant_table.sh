#!/usr/bin/env bash
# Quantizer comparison on Genie-D images (zero-shot) plus Genie-M on real images (few-shot reference):
# rtn / adaround / genie at W4A4, W2A4, W3A3 for the given models (default: resnet20 mobilenetv2).
# Every run uses the default budgets of conf/ (distill 256 images x 200 steps, recon 500 steps/unit).
# Writes runs/quant/<model>-w<W>a<A>-<calib>-<quantizer>/ and reports/quant/report.md.
set -euo pipefail
. "$(dirname "$0")/run_lib.sh"  # run DIR OVERRIDES...: skips a run already made
OUT=$HERE/runs/quant
MODELS=${*:-resnet20 mobilenetv2}
for model in $MODELS; do
  for wa in "4 4" "2 4" "3 3"; do
    set -- $wa
    for q in rtn adaround genie; do
      run $OUT/$model-w$1a$2-genie-$q +model=$model quantizer=$q distill=genie quant.w=$1 quant.a=$2
    done
    run $OUT/$model-w$1a$2-real-genie +model=$model quantizer=genie distill=real quant.w=$1 quant.a=$2
  done
done
$PY experiments/results.py $HERE
$PY -m genie_exp.report $HERE/results.jsonl --only runs/quant/ --out $HERE/reports/quant
