#!/usr/bin/env bash
# The embedded benchmark as Hydra multiruns: resnet20 and mobilenetv2 x W4A4 / W3A3 / W2A4 x
# rtn / adaround / genie on Genie-D images, plus Genie-M on real images, seeds 0 1 2 (the seed sets
# the distilled images, the batches and QDrop draws). One multirun per (seed, bit setting), seed-major,
# so a cut-short sweep still holds whole seeds. Jobs of one seed share one distilled set per model
# (the calibration cache). The run dirs go to runs/sweep/ (not in git); a multirun whose last job has
# metrics.json or a line in results.jsonl is skipped. Then the run dirs into results.jsonl as lines
# runs/sweep/... (experiments/results.py) and the report (table, plot, html) over them into runs/sweep/.
# The README's benchmark table is the committed sweep (code d68bbd9), the lines sweep/... of results.jsonl:
# a rerun here neither skips nor joins them.
#   experiments/fashion_mnist/sweep.sh [SEEDS...]     (default: 0 1 2)
#   BITS="2,4 3,3" experiments/fashion_mnist/sweep.sh 1 2    (only these W,A settings; default all three)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
HERE=experiments/fashion_mnist
OUT=$HERE/runs/sweep
finished() { [ -e "$1/metrics.json" ] || grep -qF "{\"name\": \"${1#$HERE/}\", " $HERE/results.jsonl 2>/dev/null; }
SEEDS=${*:-0 1 2}
BITS=${BITS:-4,4 3,3 2,4}
for seed in $SEEDS; do
  for wa in $BITS; do
    set -- ${wa/,/ }
    dir=$OUT/seed$seed-w$1a$2
    finished $dir/genie/5 || $PY -m genie_exp -m +model=resnet20,mobilenetv2 quantizer=rtn,adaround,genie \
      distill=genie quant.w=$1 quant.a=$2 seed=$seed progress=false hydra.sweep.dir=$dir/genie
    finished $dir/real/1 || $PY -m genie_exp -m +model=resnet20,mobilenetv2 quantizer=genie \
      distill=real quant.w=$1 quant.a=$2 seed=$seed progress=false hydra.sweep.dir=$dir/real
  done
done
$PY experiments/results.py $HERE
$PY -m genie_exp.report $HERE/results.jsonl --only runs/sweep/ --out $OUT
