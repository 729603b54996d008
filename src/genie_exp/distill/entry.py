"""`genie_exp.distill(model, ...)`: the distillation stage on a plain model (the package itself is
callable, see __init__.py). Defaults are DistillConfig's, the CLI's."""
from __future__ import annotations

import dataclasses
from typing import Any, Optional

import torch
import torch.nn as nn

from ..config import DistillConfig, TrainerConfig, check_fields, with_options
from ..core.context import RunContext
from ..core.errors import UserError
from .sources import SOURCES, calibration_set

_D = DistillConfig


def distill(model: nn.Module, samples: int = _D.samples, batch_size: int = _D.batch_size, iters: int = _D.iters,
            method: str = "genie", seed: int = 0, *, image_size: int = 32, device: Any = None,
            progress: bool = True, precision: str = TrainerConfig.precision, channels_last: Optional[bool] = None,
            cache_dir: Any = None, config: Optional[DistillConfig] = None, **options: Any) -> torch.Tensor:
    """`samples` calibration images (N, 3, image_size, image_size) for `model`, in its input space.

    method: genie (Genie-D: a generator and latents fitted to the model's BatchNorm statistics) |
    zeroq (the pixels fitted) | noise (Gaussian). Real images are your own tensor: pass them to
    `quantize` directly. Other keywords: any field of DistillConfig (lr_latent, lr_generator,
    lr_pixels, latent_dim, swing, parallel_batches, early_stop, input_prior, output_affine,
    class_loss). `cache_dir`: keep the set (and each finished batch) there, keyed by the model's
    weights and every setting, as the CLI does. The model comes back on its own device, in eval mode."""
    methods = [name for name in SOURCES if name != "real"]
    if method not in methods:
        raise UserError(f"distill(method='{method}'): choose from {', '.join(methods)} (real images are your "
                        f"own tensor: pass them to quantize)")
    base = config or DistillConfig()
    (spec,) = with_options([dataclasses.replace(base, name=method, samples=samples, batch_size=batch_size,
                                                iters=iters)], options, [DistillConfig])
    check_fields(spec, "distill")
    if SOURCES[method].synthetic and spec.samples % spec.batch_size:
        raise UserError(f"distill: samples={spec.samples} is not a multiple of batch_size={spec.batch_size}")
    ctx = RunContext.local(device, seed, progress, precision,
                           TrainerConfig.channels_last if channels_last is None else channels_last, cache_dir)
    param = next(model.parameters(), None)
    home = param.device if param is not None else torch.device("cpu")
    try:
        return calibration_set(spec, model.to(ctx.device).eval(), int(image_size), ctx,
                               model_name=type(model).__name__).images
    finally:
        model.to(home)
