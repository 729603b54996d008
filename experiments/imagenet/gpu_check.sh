#!/usr/bin/env bash
# The GPU check of the ImageNet path, in one go (meant to finish well under 8 minutes on one H100):
# random-init resnet18 and mobilenetv2 at 224x224 with the paper's batch sizes (distillation 128,
# reconstruction 32) and shortened step counts, on a generated ImageFolder (no download). For each it
# prints the bench: per-step times of both stages against their floors, peak GPU memory, and the time
# the steps alone would take at the paper's budgets (`projected_paper_s`); resnet18 once more with
# trainer.precision=bf16-mixed. Results: experiments/imagenet/gpu_check/<model>[-bf16].json.
#   experiments/imagenet/gpu_check.sh        (on a machine with a GPU)
#   EXTRA="data.image_size=64 data.resize=72 distill.iters=4 recon.iters=4" experiments/imagenet/gpu_check.sh
#                                            (a CPU smoke run of the same script: overrides appended)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-experiments/imagenet/gpu_check}
EXTRA=${EXTRA:-}
DATA=$(mktemp -d)/imagenet
mkdir -p $OUT
$PY - "$DATA" <<'PY'
import sys
from pathlib import Path
import numpy as np
from PIL import Image
rng = np.random.default_rng(0)
for split in ("train", "val"):
    for c in range(10):
        d = Path(sys.argv[1]) / split / f"class{c}"
        d.mkdir(parents=True, exist_ok=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(d / f"{i}.png")
PY
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi: CPU run"
COMMON="data=imagenet data.root=$DATA model.pretrained=false distill.samples=256 distill.batch_size=128
        distill.iters=40 recon.iters=150 recon.batch_size=32 quant.calib_samples=64 data.eval_samples=40
        progress=false bench.reps=5 bench.warmup=3 paths.cache_dir=$(mktemp -d)"
for model in resnet18 mobilenetv2; do
  $PY -m genie_exp.bench +model=$model $COMMON $EXTRA bench.out=$OUT/$model.json
done
$PY -m genie_exp.bench +model=resnet18 $COMMON trainer.precision=bf16-mixed $EXTRA bench.out=$OUT/resnet18-bf16.json
