"""The distillation stage: calibration images for quantization, from Genie-D (a generator and its
latents fitted to the teacher's BN statistics), ZeroQ (the pixels fitted), noise or real images.
The Python API's `genie_exp.distill(model, ...)` is entry.py's `distill`."""
from __future__ import annotations

from pathlib import Path

import torch

from .baselines import noise_images, real_images
from .driver import Distilled, distill_images
from .entry import distill
from .sources import SOURCES, CalibSet, calibration_set, source


def save_image_grid(images: torch.Tensor, data, path: Path, n: int = 64) -> Path:
    """De-normalised synthetic samples as one PNG."""
    from torchvision.utils import save_image

    from ..core.io import atomic_write

    # through a temp file: a full disk leaves no half-written PNG and ends in one line
    atomic_write(path, lambda f: save_image(data.denormalize(images[:n]), f, format="png", nrow=8))
    return path


__all__ = ["distill", "SOURCES", "CalibSet", "Distilled", "calibration_set", "distill_images", "noise_images", "real_images",
           "save_image_grid", "source"]
