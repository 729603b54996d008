#!/usr/bin/env bash
# The teachers of this study, 3 epochs each on the embedded data (Fashion-MNIST at 3x32x32), one thread
# each, side by side: GateNet and ShuffleNetish (user_nets.py, never registered) and torchvision's
# mobilenet_v3_small(num_classes=10). They land in $WEIGHTS (default /tmp/genie-modern-blocks); a
# teacher already there is kept.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py=${1:-$root/.venv/bin/python}
weights=${WEIGHTS:-/tmp/genie-modern-blocks}
mkdir -p "$weights"
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
train() {  # NAME MODEL_ARGS...
  local name=$1; shift
  [[ -f "$weights/$name.pt" ]] && return 0
  "$py" -m genie_exp.train +model=custom "$@" model.weights="$weights/$name.pt" train.epochs=3 \
    train.out="$weights/$name.pt" progress=false hydra.run.dir="$weights/train_$name"
}
train gatenet model.target=user_nets.GateNet &
train shufflenetish model.target=user_nets.ShuffleNetish &
train mbv3s model.target=torchvision.models.mobilenet_v3_small model.factory=true +model.kwargs.num_classes=10 &
wait
