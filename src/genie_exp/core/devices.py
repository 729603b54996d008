"""Which device this process computes on, decided once (the run context holds it)."""
from __future__ import annotations

import os

import torch

ACCELERATORS = ("auto", "cpu", "gpu", "cuda")


def pick_device(accelerator: str = "auto") -> torch.device:
    """auto: a GPU when there is one. A DDP process (LOCAL_RANK set by Lightning's launcher or by
    torchrun / SLURM) takes its own GPU."""
    acc = str(accelerator)
    use_gpu = acc in ("gpu", "cuda") or (acc == "auto" and torch.cuda.is_available())
    if use_gpu and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return torch.device("cuda" if use_gpu else "cpu")


def trainer_devices(device: torch.device) -> dict:
    """`accelerator` / `devices` of a Lightning Trainer that computes on `device` alone."""
    if device.type == "cuda":
        return {"accelerator": "gpu", "devices": [device.index] if device.index is not None else 1}
    return {"accelerator": "cpu", "devices": 1}
