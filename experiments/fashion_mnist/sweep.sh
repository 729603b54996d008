#!/usr/bin/env bash
# The embedded benchmark as Hydra multiruns: resnet20 and mobilenetv2 x W4A4 / W3A3 / W2A4 x
# rtn / adaround / genie on Genie-D images, plus Genie-M on real images, seeds 0 1 2 (the seed sets
# the distilled images, the batches and QDrop draws). One multirun per (seed, bit setting), seed-major,
# so a cut-short sweep still holds whole seeds. Jobs of one seed share one distilled set per model
# (the calibration cache). A multirun whose last job has metrics.json is skipped. Then the report (table, plot, html) over all of it.
#   experiments/fashion_mnist/sweep.sh [SEEDS...]     (default: 0 1 2)
#   BITS="2,4 3,3" experiments/fashion_mnist/sweep.sh 1 2    (only these W,A settings; default all three)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
OUT=experiments/fashion_mnist/sweep
SEEDS=${*:-0 1 2}
BITS=${BITS:-4,4 3,3 2,4}
for seed in $SEEDS; do
  for wa in $BITS; do
    set -- ${wa/,/ }
    dir=$OUT/seed$seed-w$1a$2
    [ -e "$dir/genie/5/metrics.json" ] || $PY -m genie_exp -m +model=resnet20,mobilenetv2 quantizer=rtn,adaround,genie \
      distill=genie quant.w=$1 quant.a=$2 seed=$seed progress=false hydra.sweep.dir=$dir/genie
    [ -e "$dir/real/1/metrics.json" ] || $PY -m genie_exp -m +model=resnet20,mobilenetv2 quantizer=genie \
      distill=real quant.w=$1 quant.a=$2 seed=$seed progress=false hydra.sweep.dir=$dir/real
  done
done
$PY -m genie_exp.report $OUT --out $OUT
