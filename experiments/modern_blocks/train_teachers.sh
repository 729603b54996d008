#!/usr/bin/env bash
# The two teachers of this study, 3 epochs each on the embedded data (Fashion-MNIST at 3x32x32), one
# thread each, side by side: GateNet (user_nets.py, never registered) and torchvision's
# mobilenet_v3_small(num_classes=10). They land in $WEIGHTS (default /tmp/genie-modern-blocks).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py=${1:-$root/.venv/bin/python}
weights=${WEIGHTS:-/tmp/genie-modern-blocks}
mkdir -p "$weights"
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
"$py" -m genie_exp.train +model=custom model.target=user_nets.GateNet model.weights="$weights/gatenet.pt" \
  train.epochs=3 train.out="$weights/gatenet.pt" progress=false hydra.run.dir="$weights/train_gatenet" &
"$py" -m genie_exp.train +model=custom model.target=torchvision.models.mobilenet_v3_small model.factory=true \
  +model.kwargs.num_classes=10 model.weights="$weights/mbv3s.pt" train.epochs=3 train.out="$weights/mbv3s.pt" \
  progress=false hydra.run.dir="$weights/train_mbv3s" &
wait
