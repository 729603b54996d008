#!/usr/bin/env bash
# Fills the ignored folder .gpu/ with what experiments/bench/gpu_check.sh needs on a GPU machine that
# has torch, Lightning and timm but not Hydra, OmegaConf or the embedded data: the wheels (Python 3.12,
# manylinux) and the four Fashion-MNIST files. Run it here, before the check; the folder travels with it.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
mkdir -p .gpu/wheels .gpu/fashion-mnist
$PY -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \
  -d .gpu/wheels hydra-core==1.3.8 omegaconf==2.3.1
ls .gpu/wheels/antlr4_python3_runtime-4.9.3-*.whl >/dev/null 2>&1 || \
  $PY -m pip wheel --quiet --no-deps -w .gpu/wheels antlr4-python3-runtime==4.9.3
cp /usr/share/datasets/fashion-mnist/*.gz .gpu/fashion-mnist/
du -sh .gpu
