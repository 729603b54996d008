#!/usr/bin/env bash
# One zero-shot (or distill=real) run per line of a queue file, one thread, each into runs/<tag>/ (not in
# git); at the end the new run dirs go into results.jsonl (experiments/results.py), which table.py reads.
# A tag already in results.jsonl or runs/ is skipped. Usage: experiments/modern_blocks/run.sh QUEUE [PY]
#   a queue line: TAG OVERRIDES...   e.g.  gate-w4-s0 +model=gatenet quant.w=4 seed=0
# Teachers: train_teachers.sh (they land in $WEIGHTS, default /tmp/genie-modern-blocks).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
queue=$1
py=${2:-$root/.venv/bin/python}
weights=${WEIGHTS:-/tmp/genie-modern-blocks}
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
while read -r tag rest; do
  [[ -z "$tag" || "$tag" == \#* ]] && continue
  out="$here/runs/$tag"; mkdir -p "$here/runs"
  [[ -f "$out/metrics.json" ]] && continue
  grep -qF "{\"name\": \"runs/$tag\", " "$here/results.jsonl" 2>/dev/null && continue
  model=${rest%% *}; rest=${rest#* }
  case "$model" in
    gatenet) model_args="+model=custom model.target=user_nets.GateNet model.weights=$weights/gatenet.pt" ;;
    shuffle) model_args="+model=custom model.target=user_nets.ShuffleNetish model.weights=$weights/shufflenetish.pt" ;;
    mbv3s) model_args="+model=custom model.target=torchvision.models.mobilenet_v3_small model.factory=true +model.kwargs.num_classes=10 model.weights=$weights/mbv3s.pt" ;;
    *) echo "unknown model $model" >&2; exit 2 ;;
  esac
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$py" -m genie_exp $model_args $rest trainer.accelerator=cpu progress=false hydra.run.dir="$out" > "$out.log" 2>&1 || { echo "failed: $tag" >&2; continue; }
  printf '{"tag": "%s", "wall_s": %.1f}\n' "$tag" "$(echo "$(date +%s.%N) - $start" | bc)" >> "$here/walls.jsonl"
done < "$queue"
"$root/.venv/bin/python" "$here/../results.py" "$here"
