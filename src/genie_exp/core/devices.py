"""Which device this process computes on, decided once (the run context holds it), and the checks
that a device asked for exists here."""
from __future__ import annotations

import os
from typing import Any

import torch

from ..choices import ACCELERATORS
from .errors import UserError



def check_accelerator(accelerator: Any) -> None:
    """trainer.accelerator: one of ACCELERATORS, and a GPU only where one is visible."""
    acc = str(accelerator)
    if acc not in ACCELERATORS:
        raise UserError(f"unknown trainer.accelerator '{acc}' (choose from: {', '.join(ACCELERATORS)})")
    if acc in ("gpu", "cuda") and not torch.cuda.is_available():
        raise UserError(f"trainer.accelerator={acc}: no GPU is visible here (CUDA is not available); use "
                        f"trainer.accelerator=cpu or auto")


def pick_device(accelerator: str = "auto") -> torch.device:
    """auto: a GPU when there is one. A DDP process (LOCAL_RANK set by Lightning's launcher or by
    torchrun / SLURM) takes its own GPU."""
    acc = str(accelerator)
    use_gpu = acc in ("gpu", "cuda") or (acc == "auto" and torch.cuda.is_available())
    if use_gpu and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return torch.device("cuda" if use_gpu else "cpu")


def parse_device(device: Any) -> torch.device:
    """The API's `device=`: a torch.device that exists on this machine, or a one-line UserError."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise UserError(f"device={device!r} is not a device name (e.g. 'cpu', 'cuda', 'cuda:1')") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"device='{dev}': no GPU is visible here (CUDA is not available); use device='cpu' "
                            f"or leave device unset")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UserError(f"device='{dev}': this machine has {torch.cuda.device_count()} GPU(s) (cuda:0 .. "
                            f"cuda:{torch.cuda.device_count() - 1})")
    elif dev.type != "cpu":
        raise UserError(f"device='{dev}': genie-exp computes on 'cpu' or 'cuda'")
    return dev


def trainer_devices(device: torch.device) -> dict:
    """`accelerator` / `devices` of a Lightning Trainer that computes on `device` alone."""
    if device.type == "cuda":
        return {"accelerator": "gpu", "devices": [device.index] if device.index is not None else 1}
    return {"accelerator": "cpu", "devices": 1}
