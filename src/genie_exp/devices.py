"""Which device a stage runs on, from `trainer.accelerator` (auto: a GPU when there is one)."""
from __future__ import annotations

import torch
from omegaconf import DictConfig


def stage_device(cfg: DictConfig) -> torch.device:
    acc = str(cfg.trainer.accelerator)
    use_gpu = acc in ("gpu", "cuda") or (acc == "auto" and torch.cuda.is_available())
    return torch.device("cuda" if use_gpu else "cpu")


def lightning_accelerator(cfg: DictConfig) -> str:
    return "gpu" if stage_device(cfg).type == "cuda" else "cpu"
