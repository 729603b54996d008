#!/usr/bin/env bash
# One run of the depthwise-gap study: run.sh NAME SEED [overrides...] -> $RUNS/NAME/s<SEED>/ and one line
# {name, seed, wall_s, rc} in walls.jsonl (the whole process, timed from outside). mobilenetv2 W2A4
# Genie-M unless the overrides say otherwise (a +model=... among them replaces mobilenetv2). One thread
# per job; the calibration cache is shared, so every variant of a seed that leaves distillation alone
# reads the same distilled images. CODE=DIR runs another checkout's src/ (a frozen copy while the
# working tree changes). Run dirs stay out of git: `python experiments/results.py experiments/depthwise`
# turns them into results.jsonl (runs/images/NAME/sSEED: results_table.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 seed=$2; shift 2
here=experiments/depthwise
runs=${RUNS:-$here/runs/images}
out=$runs/$name/s$seed
[ -f "$out/metrics.json" ] && exit 0
export OMP_NUM_THREADS=1 WANDB_MODE=disabled GENIE_CACHE_DIR=${GENIE_CACHE_DIR:-/tmp/genie-depthwise-cache}
export PYTHONPATH=${CODE:+$CODE/src:}experiments/user_model${PYTHONPATH:+:$PYTHONPATH}
model=+model=mobilenetv2
for a in "$@"; do case $a in +model=*) model=;; esac; done
t0=$(date +%s.%N)
rc=0
.venv/bin/python -m genie_exp $model quant.w=2 quant.a=4 seed=$seed progress=false \
  hydra.run.dir=$out "$@" > /dev/null 2> >(tail -5 >&2) || rc=$?
wall=$(echo "$(date +%s.%N) - $t0" | bc)
echo "{\"name\": \"$name\", \"seed\": $seed, \"wall_s\": $wall, \"rc\": $rc, \"overrides\": \"$*\", \"code\": \"${CODE:-}\"}" >> $here/walls.jsonl
