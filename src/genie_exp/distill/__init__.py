"""The distillation stage: calibration images for quantization, from Genie-D (a generator and its
latents fitted to the teacher's BN statistics), ZeroQ (the pixels fitted), noise or real images."""
from __future__ import annotations

import inspect
import sys
import types
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


class _CallablePackage(types.ModuleType):
    """`genie_exp.distill(model, ...)` is the Python API's distillation (entry.py): the stage package
    and the function share the one name, so calling the package calls the function."""

    def __call__(self, *args, **kwargs) -> torch.Tensor:
        return distill(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
__signature__ = inspect.signature(distill)
__doc__ = f"{__doc__}\n\ndistill{__signature__}:\n{distill.__doc__}"

__all__ = ["distill", "SOURCES", "CalibSet", "Distilled", "calibration_set", "distill_images", "noise_images", "real_images",
           "save_image_grid", "source"]
