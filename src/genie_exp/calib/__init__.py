"""Calibration images for the quantization stage: genie | zeroq | noise | real, all (N, 3, S, S)."""
from __future__ import annotations

import torch
import torch.nn as nn
from omegaconf import DictConfig

from ..data import DataSpec
from ..errors import UserError
from .baselines import noise_images, real_images


def make_calibration(cfg: DictConfig, teacher: nn.Module, data: DataSpec) -> torch.Tensor:
    d = cfg.distill
    if d.name == "noise":
        return noise_images(int(d.samples), data.image_size, int(cfg.seed))
    if d.name == "real":
        return real_images(data, int(d.samples), int(cfg.seed))
    raise UserError(f"calibration source '{d.name}' is not available (choose from: noise, real)")
