#!/usr/bin/env bash
# The two user models' FP32 teachers (seed 0), from the repo root, as committed in teachers/:
# Treppe 8 epochs (as the shipped zoo teachers; 93.44 %), Faltkette 1 epoch (88.76 %; time ran short).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH=experiments/user_model
python -m genie_exp.train +model=custom model.target=user_nets.Treppe train.epochs=8 progress=false \
    train.out=experiments/user_model/teachers/treppe.pt hydra.run.dir=/tmp/genie-train-Treppe
python -m genie_exp.train +model=custom model.target=user_nets.Faltkette train.epochs=1 progress=false \
    train.out=experiments/user_model/teachers/faltkette.pt hydra.run.dir=/tmp/genie-train-Faltkette
