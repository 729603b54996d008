#!/usr/bin/env bash
# The GPU check of the speed issue, in one go on a machine with one GPU (about 8 minutes on an H100):
#  1. the user-model scenario end to end, whole process timed from outside: a user's ResNet-20-sized
#     net (user_nets.Treppe, its own block class), W2A4, 256 images, 200 + 500 steps, seed 0, an empty
#     cache: the first process after start (cold) and the same command again (warm), then the same with
#     distill.parallel_batches=2 (both batches in one step);
#  2. `python -m genie_exp.bench` on random-init resnet18 and mobilenetv2 at 224x224 with the paper's
#     batch sizes (experiments/imagenet/gpu_check.sh): the paper-budget projections;
#  3. experiments/bench/gpu_summary.py writes $OUT/gpu.json (device, date, user_model_end_to_end_s,
#     user_model_top1, resnet18_paper_budget_projected_s, mobilenetv2_paper_budget_projected_s, ...).
# What it needs that such a machine may lack, in the ignored folder .gpu/: wheels/ (hydra-core,
# omegaconf, antlr4-python3-runtime: installed into .gpu/site when hydra is missing) and fashion-mnist/
# (the four .gz files). Prepare it here with `experiments/bench/gpu_prepare.sh`.
#   experiments/bench/gpu_check.sh                     (on the GPU machine; OUT defaults to experiments/bench)
#   EXTRA="distill.iters=3 recon.iters=3 data.eval_samples=64" OUT=/tmp/gc experiments/bench/gpu_check.sh
#                                                      (a CPU smoke run: overrides appended to the user runs)
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-python}
OUT=${OUT:-experiments/bench}
EXTRA=${EXTRA:-}
IMAGENET_EXTRA=${IMAGENET_EXTRA:-}
mkdir -p "$OUT/gpu_check"
if ! $PY -c "import hydra, omegaconf" 2>/dev/null; then
  $PY -m pip install --quiet --no-deps --no-index --target .gpu/site .gpu/wheels/*.whl || exit 1
fi
export PYTHONPATH=src:experiments/user_model${PYTHONPATH:+:$PYTHONPATH}:$(pwd)/.gpu/site WANDB_MODE=disabled
FMNIST=${FMNIST:-.gpu/fashion-mnist}
[ -d "$FMNIST" ] || FMNIST=/usr/share/datasets/fashion-mnist
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/gpu_check/device.txt" 2>/dev/null \
  || echo "cpu" > "$OUT/gpu_check/device.txt"
$PY -c "import torch, sys; print(sys.version.split()[0], torch.__version__, torch.version.cuda)" >> "$OUT/gpu_check/device.txt"

user_run() {  # user_run NAME [overrides...]: one whole process, wall time from outside into NAME/wall_s
  local name=$1; shift
  local dir=$OUT/gpu_check/$name cache
  cache=$(mktemp -d)
  rm -rf "$dir"
  local t0 t1
  t0=$(date +%s.%N)
  $PY -m genie_exp +model=custom model.target=user_nets.Treppe model.weights=experiments/user_model/teachers/treppe.pt \
    quant.w=2 quant.a=4 seed=0 progress=false data.root=$FMNIST "paths.cache_dir=$cache" hydra.run.dir=$dir \
    "$@" $EXTRA > "$OUT/gpu_check/$name.log" 2>&1
  local rc=$?
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc > "$dir/wall_s" 2>/dev/null || $PY -c "print($t1 - $t0)" > "$dir/wall_s"
  echo "$name: rc $rc, $(cat "$dir/wall_s") s"
}
user_run user-cold
user_run user-warm
user_run user-parallel2 distill.parallel_batches=2
OUT=$OUT/gpu_check EXTRA=$IMAGENET_EXTRA PY=$PY experiments/imagenet/gpu_check.sh > "$OUT/gpu_check/imagenet.log" 2>&1 \
  || echo "imagenet bench failed: see $OUT/gpu_check/imagenet.log"
$PY experiments/bench/gpu_summary.py "$OUT/gpu_check" "$OUT/gpu.json"
