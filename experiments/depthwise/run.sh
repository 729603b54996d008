#!/usr/bin/env bash
# One run of the depthwise-gap study: run.sh NAME SEED [overrides...] -> experiments/depthwise/runs/NAME/s<SEED>/
# mobilenetv2 W2A4 Genie-M unless the overrides say otherwise (a +model=... among them replaces mobilenetv2). One thread per job; the calibration cache
# is shared, so every variant of a seed that leaves distillation alone reads the same distilled images.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 seed=$2; shift 2
out=experiments/depthwise/runs/$name/s$seed
[ -f "$out/metrics.json" ] && exit 0
export OMP_NUM_THREADS=1 WANDB_MODE=disabled GENIE_CACHE_DIR=${GENIE_CACHE_DIR:-/tmp/genie-exp-cache}
export PYTHONPATH=experiments/user_model${PYTHONPATH:+:$PYTHONPATH}
model=+model=mobilenetv2
for a in "$@"; do case $a in +model=*) model=;; esac; done
.venv/bin/python -m genie_exp $model quant.w=2 quant.a=4 seed=$seed progress=false \
  hydra.run.dir=$out "$@" > /dev/null 2> >(tail -5 >&2)
