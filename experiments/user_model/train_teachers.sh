#!/usr/bin/env bash
# The two user models' FP32 teachers (seed 0, 8 epochs, as the shipped zoo teachers), from the repo root.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH=experiments/user_model
for net in Treppe Faltkette; do
  python -m genie_exp.train +model=custom model.target=user_nets.$net train.epochs=8 progress=false \
      train.out=experiments/user_model/teachers/${net,,}.pt hydra.run.dir=/tmp/genie-train-$net
done
