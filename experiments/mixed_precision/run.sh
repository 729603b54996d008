#!/usr/bin/env bash
# One run of the mixed-precision study: run.sh NAME SEED [overrides...] -> runs/NAME/s<SEED>/ (not in git;
# `python experiments/results.py experiments/mixed_precision` turns the run dirs into results.jsonl) and one
# line {name, seed, wall_s, rc, overrides} in walls.jsonl. W?A4 Genie-M at the default budget; one thread per
# job (sweep: `grep -v '^#' queue.txt | xargs -P 2 -L 1 ./run.sh`). The calibration cache is shared, so the
# uniform and the mixed runs of a model and seed quantize the same distilled images. CODE=DIR runs another
# checkout's src/ (a frozen copy while the working tree changes).
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 seed=$2; shift 2
here=experiments/mixed_precision
out=$here/runs/$name/s$seed
[ -f "$out/metrics.json" ] && exit 0
export OMP_NUM_THREADS=1 WANDB_MODE=disabled GENIE_CACHE_DIR=${GENIE_CACHE_DIR:-/tmp/genie-depthwise-cache}
export PYTHONPATH=${CODE:+$CODE/src:}experiments/user_model${PYTHONPATH:+:$PYTHONPATH}
t0=$(date +%s.%N)
rc=0
.venv/bin/python -m genie_exp quant.a=4 seed=$seed progress=false hydra.run.dir=$out "$@" > /dev/null 2> >(tail -5 >&2) || rc=$?
wall=$(echo "$(date +%s.%N) - $t0" | bc)
echo "{\"name\": \"$name\", \"seed\": $seed, \"wall_s\": $wall, \"rc\": $rc, \"overrides\": \"$*\"}" >> $here/walls.jsonl
