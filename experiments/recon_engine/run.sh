#!/usr/bin/env bash
# One reconstruction-engine run: run.sh NAME SEED [overrides...] -> experiments/recon_engine/runs/NAME/s<SEED>/
# (not in git; `python experiments/results.py experiments/recon_engine` adds the run dirs to results.jsonl).
# A run already in results.jsonl or runs/ is skipped.
# One thread per job (two jobs share the 2-core machine); the calibration cache is shared, so every
# variant of a seed reads the same distilled images and differs only in what the variant changes.
# CODE=DIR runs another checkout's src/ (e.g. a worktree of the code before the change).
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 seed=$2; shift 2
out=experiments/recon_engine/runs/$name/s$seed
[ -f "$out/metrics.json" ] && exit 0
grep -qF "{\"name\": \"runs/$name/s$seed\", " experiments/recon_engine/results.jsonl 2>/dev/null && exit 0
export OMP_NUM_THREADS=1 WANDB_MODE=disabled GENIE_CACHE_DIR=${GENIE_CACHE_DIR:-/tmp/genie-exp-cache}
export PYTHONPATH=${CODE:+$CODE/src:}experiments/user_model${PYTHONPATH:+:$PYTHONPATH}
python -m genie_exp seed=$seed progress=false hydra.run.dir=$out "$@" > /dev/null 2> >(tail -5 >&2)
