#!/usr/bin/env bash
# One run of the time-to-accuracy study: run.sh NAME SEED [overrides...] -> runs/NAME/s<SEED>/ (not in git;
# `python experiments/results.py experiments/time_to_accuracy` adds it to results.jsonl, sweep.sh does at
# its end) and one line {name, seed, wall_s, rc} in walls.jsonl (the whole process, timed from outside).
# A run already in results.jsonl or runs/ is skipped. One thread per job,
# two jobs at a time (sweep.sh), so every wall is a paired one-thread wall. The calibration cache is
# shared: a run whose distillation setting and seed ran before reads that set (table.py adds the
# producing run's distillation seconds back). CODE=DIR runs another checkout's src/ (the old default).
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 seed=$2; shift 2
case ${1:-} in CODE=*) export CODE=${1#CODE=}; shift;; esac  # a queue line's CODE=DIR (sweep.sh passes words)
here=experiments/time_to_accuracy
out=$here/runs/$name/s$seed
[ -f "$out/metrics.json" ] || [ -f "$out/paper.log" ] && exit 0
grep -qF "{\"name\": \"runs/$name/s$seed\", " $here/results.jsonl 2>/dev/null && exit 0
export OMP_NUM_THREADS=1 WANDB_MODE=disabled GENIE_CACHE_DIR=${GENIE_CACHE_DIR:-/tmp/genie-tta-cache${CODE:+-other}}
export PYTHONPATH=${CODE:+$CODE/src:}experiments/user_model${PYTHONPATH:+:$PYTHONPATH}
t0=$(date +%s.%N)
rc=0
if [ "${1:-}" = PAPER ]; then  # the paper's code through a driver outside the repository (README.md here)
  shift
  mkdir -p $out
  .venv/bin/python "${GENIE_PAPER_DRIVER:?set GENIE_PAPER_DRIVER to the paper code driver}" --seed $seed "$@" \
    --out $here/paper_code.jsonl > $out/paper.log 2>&1 || rc=$?
else
  .venv/bin/python -m genie_exp seed=$seed progress=false hydra.run.dir=$out "$@" > /dev/null 2> >(tail -3 >&2) || rc=$?
fi
wall=$(echo "$(date +%s.%N) - $t0" | bc)
echo "{\"name\": \"$name\", \"seed\": $seed, \"wall_s\": $wall, \"rc\": $rc, \"code\": \"${CODE:-}\"}" >> $here/walls.jsonl
