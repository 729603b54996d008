"""`genie_exp.distill(model, ...)`: the distillation stage on a plain model. The settings are one DistillConfig (the CLI's defaults), with the
keywords given on top."""
from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Optional

import torch
import torch.nn as nn

from ..config import SEED_MAX, DistillConfig, TrainerConfig, check_number, check_section, with_options
from ..core.context import RunContext, default_cache_dir
from ..core.errors import UserError
from ..core.inputs import check_model, check_runs_on, restored
from .sources import SOURCES, calibration_set

# what distill() tags its images with (a tensor attribute), so a run made from them records their settings
DISTILL_TAG = "genie_distill"


def distill_config(config: Optional[DistillConfig], options: dict, **given: Any) -> DistillConfig:
    """`config` (else the defaults) with every keyword given (None: not given) on the field it names;
    `method` is the field `name`."""
    if config is not None and not isinstance(config, DistillConfig):
        raise UserError(f"distill: config= must be a genie_exp.config.DistillConfig, got {type(config).__name__}")
    fields = {("name" if k == "method" else k): v for k, v in given.items() if v is not None}
    keywords = [k for k in inspect.signature(distill).parameters if k != "options"]
    (spec,) = with_options([dataclasses.replace(config or DistillConfig(), **fields)], options, [DistillConfig],
                           keywords)
    methods = [name for name in SOURCES if name != "real"]
    if spec.name not in methods:
        raise UserError(f"distill(method='{spec.name}'): choose from {', '.join(methods)} (real images are your "
                        f"own tensor: pass them to quantize)")
    check_section(spec, "distill")
    if SOURCES[spec.name].synthetic and spec.samples % spec.batch_size:
        raise UserError(f"distill: samples={spec.samples} is not a multiple of batch_size={spec.batch_size}")
    return spec


def distill(model: nn.Module, samples: Optional[int] = None, batch_size: Optional[int] = None,
            iters: Optional[int] = None, method: Optional[str] = None, seed: int = 0, *, image_size: int = 32,
            device: Any = None, progress: bool = True, precision: str = TrainerConfig.precision,
            channels_last: Optional[bool] = None, cache_dir: Any = True, config: Optional[DistillConfig] = None,
            **options: Any) -> torch.Tensor:
    """`samples` calibration images (N, 3, image_size, image_size) for `model`, in its input space.

    The settings are `config` (a DistillConfig; the defaults when not given) with every keyword given
    on top of the field it names (method is its `name`). method: genie (Genie-D: a generator and
    latents fitted to the model's BatchNorm statistics) | zeroq (the pixels fitted) | noise
    (Gaussian). Real images are your own tensor: pass them to `quantize` directly. Other keywords: any
    field of DistillConfig (lr_latent, lr_generator, lr_pixels, latent_dim, swing, parallel_batches,
    early_stop, input_prior, output_affine, class_loss). `cache_dir`: where the set (and each finished
    batch) is kept, keyed by the model's weights and every setting: by default (True) the CLI's cache
    (paths.cache_dir: $GENIE_CACHE_DIR or ~/.cache/genie_exp), so a set the CLI distilled for the same
    model and settings is read back, and the other way round; None or False: nothing cached. `model`
    comes back as it was (device, modes, weights, hooks), also when distillation fails. The images
    carry their settings (`images.genie_distill`), which `quantize(..., run_dir=...)` records."""
    spec = distill_config(config, options, method=method, samples=samples, batch_size=batch_size, iters=iters)
    check_number(seed, "seed", 0, SEED_MAX, True)
    check_number(image_size, "distill: image_size", 1, None, True)
    check_model(model, "distill")
    if cache_dir is True:
        cache_dir = default_cache_dir()
    elif cache_dir is False:
        cache_dir = None
    ctx = RunContext.local(device, seed, progress, precision,
                           TrainerConfig.channels_last if channels_last is None else channels_last, cache_dir)
    check_runs_on(model, torch.zeros(2, 3, int(image_size), int(image_size)), "distill")
    with restored(model):
        images = calibration_set(spec, model.to(ctx.device).eval(), int(image_size), ctx,
                                 model_name=type(model).__name__).images
    setattr(images, DISTILL_TAG, dataclasses.asdict(spec))
    return images
