"""Which device a stage runs on, from `trainer.accelerator` (auto: a GPU when there is one)."""
from __future__ import annotations

import os

import torch
from omegaconf import DictConfig


def stage_device(cfg: DictConfig) -> torch.device:
    acc = str(cfg.trainer.accelerator)
    use_gpu = acc in ("gpu", "cuda") or (acc == "auto" and torch.cuda.is_available())
    if use_gpu and "LOCAL_RANK" in os.environ:  # a DDP process (set by Lightning's launcher): its own GPU
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return torch.device("cuda" if use_gpu else "cpu")


def lightning_accelerator(cfg: DictConfig) -> str:
    return "gpu" if stage_device(cfg).type == "cuda" else "cpu"
