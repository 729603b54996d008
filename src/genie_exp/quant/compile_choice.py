"""recon.compile: whether a reconstruction runs the compiled kernels of quant/kernels.py. `auto` asks
for two things: that torch.compile can build kernels here (a C++ compiler on a CPU, Triton on a GPU),
and that the reconstruction is long enough to repay the kernels' compile."""
from __future__ import annotations

import importlib.util
import shutil

import torch

from ..core.errors import UserError

CHOICES = ("auto", "true", "false")
# Optimizer steps in all (recon.iters x units) from which `auto` compiles: the kernels' first compile
# costs tens of seconds on a 2-core CPU and saves a few milliseconds per step
# (experiments/time_to_accuracy/README.md, "Compile or not").
AUTO_MIN_STEPS = 3000


def can_compile(device: torch.device) -> bool:
    if device.type == "cuda":
        return importlib.util.find_spec("triton") is not None
    return device.type == "cpu" and any(shutil.which(c) for c in ("g++", "c++", "clang++"))


def use_kernels(choice: str, device: torch.device, total_steps: int) -> bool:
    choice = str(choice).lower()
    if choice not in CHOICES:
        raise UserError(f"unknown recon.compile '{choice}' (choose from: {', '.join(CHOICES)})")
    if choice == "false":
        return False
    if not can_compile(device):
        if choice == "true":
            raise UserError(f"recon.compile=true: torch.compile cannot build kernels on this {device.type} (no C++ "
                            f"compiler{' or Triton' if device.type == 'cuda' else ''}); use recon.compile=auto or false")
        return False
    return choice == "true" or total_steps >= AUTO_MIN_STEPS
