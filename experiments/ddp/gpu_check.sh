#!/usr/bin/env bash
# The DDP check on a machine with ONE GPU: the embedded default (W4A4 on Fashion-MNIST, make run's
# budget) once as one process and once as two DDP ranks that share the GPU. NCCL refuses two ranks on
# one device, so the ranks use gloo (trainer.ddp_backend=gloo, which all-reduces CUDA tensors) and are
# started here as a cluster would start them: two "nodes" of one device each (NODE_RANK, LOCAL_RANK).
# With N GPUs use `trainer=ddp trainer.devices=N` instead (README, "Scale out").
#   experiments/ddp/gpu_check.sh                  (on a machine with a GPU)
#   ACC=cpu EXTRA="distill.iters=10 recon.iters=40" experiments/ddp/gpu_check.sh   (a CPU smoke run)
# Results: $OUT/{single,ddp2}/ (run dirs with metrics.json) and the summary lines printed; the committed
# experiments/ddp/gpu_check/ddp-{single,ddp2}.json are those two metrics.json, ddp.log the output.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-experiments/ddp/gpu_check}
ACC=${ACC:-gpu}
EXTRA=${EXTRA:-}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
PORT=${PORT:-29517}
COMMON="data.root=$DATA progress=false logger=csv trainer.accelerator=$ACC $EXTRA"
mkdir -p $OUT
start=$(date +%s)
$PY -m genie_exp $COMMON paths.cache_dir=$OUT/cache-single hydra.run.dir=$OUT/single
echo "single process: $(( $(date +%s) - start )) s"
start=$(date +%s)
pids=()
for r in 1 0; do
  MASTER_ADDR=127.0.0.1 MASTER_PORT=$PORT NODE_RANK=$r LOCAL_RANK=0 \
    $PY -m genie_exp $COMMON trainer=ddp trainer.accelerator=$ACC trainer.devices=1 trainer.num_nodes=2 \
      trainer.ddp_backend=gloo paths.cache_dir=$OUT/cache-ddp2 hydra.run.dir=$OUT/ddp2 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait $p; done
echo "two DDP ranks on one device: $(( $(date +%s) - start )) s"
$PY - $OUT <<'PY'
import json, sys
from pathlib import Path
for name in ("single", "ddp2"):
    for p in sorted((Path(sys.argv[1]) / name).rglob("metrics.json")):
        m = json.loads(p.read_text())
        print(name, {k: m.get(k) for k in ("world_size", "ddp_ranks_agree", "fp32_top1", "quant_top1", "eval_samples", "seconds")})
PY
