#!/usr/bin/env bash
# A new user's walk-through with two nets of their own (experiments/modern_blocks/user_nets.py:
# GateNet and ShuffleNetish, teachers from experiments/modern_blocks/train_teachers.sh): a CLI run of
# each, the API on the same models and settings (its distillation reads the CLI's cached set), the
# API runs' export and verify, and one report over the four runs. A small budget (64 images, 20
# distillation and 50 reconstruction steps, 1,000 test images): the point is the path, not top-1.
#   experiments/newcomer/walkthrough.sh [OUT]   (default /tmp/genie-newcomer)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py=$root/.venv/bin/python
out=${1:-/tmp/genie-newcomer}
weights=${WEIGHTS:-/tmp/genie-modern-blocks}
rm -rf "$out"; mkdir -p "$out"
export GENIE_CACHE_DIR="$out/cache" PYTHONPATH="$root/experiments/modern_blocks${PYTHONPATH:+:$PYTHONPATH}"
budget=(distill.samples=64 distill.batch_size=32 distill.iters=20 recon.iters=50 quant.calib_samples=64
        data.eval_samples=1000 progress=false)
for net in GateNet:gatenet ShuffleNetish:shufflenetish; do
  cls=${net%%:*}; file=${net#*:}
  "$py" -m genie_exp +model=custom model.target=user_nets.$cls model.weights="$weights/$file.pt" "${budget[@]}" \
    hydra.run.dir="$out/cli-$cls" | tail -1
done
"$py" "$here/walkthrough_api.py" "$out" "$weights"
"$py" -m genie_exp.export "$out/api-GateNet" --format onnx --verify --data fashion_mnist --eval-samples 1000
"$py" -m genie_exp.report "$out" --out "$out/report" | tail -8
