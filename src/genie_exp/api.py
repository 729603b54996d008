"""The Python API: Genie on a plain `nn.Module`, no Hydra and no config files.

    images = genie_exp.distill(model, samples=256)              # Genie-D: synthetic calibration images
    qmodel = genie_exp.quantize(model, images, w_bits=2, a_bits=4)  # Genie-M: the fake-quantized model
    top1 = genie_exp.evaluate(qmodel, test_images, test_labels)

Every keyword's default is the CLI's, read from the dataclasses in config.py (the one place defaults
live); any other field of DistillConfig / QuantConfig / ReconConfig is a keyword too, or pass one
config object per stage. The functions call the same stages as the CLI (distill/, recon/stage.py)."""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Optional, Sequence

import torch
import torch.nn as nn

from .artifact import load_quantized, model_reference, recipe, save_quantized
from .config import QuantConfig, ReconConfig, TrainerConfig, check_bits, check_fields, with_options
from .core.context import RunContext
from .core.errors import UserError
from .distill.entry import distill

_Q, _R, _T = QuantConfig, ReconConfig, TrainerConfig
__all__ = ["distill", "quantize", "evaluate", "load_quantized", "save_quantized", "QuantReport"]


@dataclasses.dataclass
class QuantReport:
    """What `quantize` did, reachable as `qmodel.genie_report`."""
    method: str
    w_bits: int
    a_bits: int
    plan: str  # e.g. "9 blocks, 2 layers (conv1, fc)"
    units: list[dict]  # per reconstructed unit: name, kind, seconds, loss (final), loss_start
    seconds: float


def quantize(model: nn.Module, calib: torch.Tensor, w_bits: int = _Q.w, a_bits: int = _Q.a, method: str = "genie",
             iters: int = _R.iters, batch_size: int = _R.batch_size, seed: int = 0, *, blocks: Sequence[str] = (),
             device: Any = None, progress: bool = True, precision: str = _T.precision,
             channels_last: Optional[bool] = None, quant: Optional[QuantConfig] = None,
             recon: Optional[ReconConfig] = None, **options: Any) -> nn.Module:
    """A fake-quantized copy of `model` (eval mode, on `device`), calibrated on the images `calib`.

    method: genie (Genie-M: rounding and weight steps learned jointly, block by block) | adaround
    (the same reconstruction, steps fixed) | rtn (round to nearest). `blocks`: class names to
    reconstruct as blocks (by default the graph decides; see README). Other keywords: any field of
    QuantConfig (first_layer_bits, fold_bn, calib_samples, ...) or ReconConfig (lr_rounding,
    qdrop_prob, act_init, ...). The report (plan, per-unit losses, seconds) is `qmodel.genie_report`."""
    from .quant.methods import quant_method
    from .recon.stage import quantize_model

    m = quant_method(method)
    check_bits(w_bits, "w_bits")
    check_bits(a_bits, "a_bits")
    q0 = dataclasses.replace(quant or QuantConfig(), w=int(w_bits), a=int(a_bits))
    r0 = dataclasses.replace(recon or ReconConfig(), iters=iters, batch_size=batch_size)
    qcfg, rcfg = with_options([q0, r0], options, [QuantConfig, ReconConfig])
    check_fields(qcfg, "quant")
    check_fields(rcfg, "recon")
    if not isinstance(calib, torch.Tensor) or calib.dim() != 4 or calib.shape[0] < 1:
        raise UserError("quantize: calib must be a tensor of images (N, C, H, W)")
    if m.reconstruct and rcfg.batch_size > calib.shape[0]:
        raise UserError(f"quantize: batch_size={rcfg.batch_size} is larger than the {calib.shape[0]} calibration images")
    ctx = RunContext.local(device, seed, progress, precision,
                           _T.channels_last if channels_last is None else channels_last)
    home = _device_of(model)
    t0 = time.time()
    try:
        result = quantize_model(model.to(ctx.device).eval(), calib, qcfg, method, rcfg, ctx, list(blocks))
    finally:
        model.to(home)
    student = result.student
    student.genie_report = QuantReport(method, int(w_bits), int(a_bits), result.plan.summary(), result.units,
                                       round(time.time() - t0, 3))
    # what save_quantized stores next to the state (the class is imported again on load)
    student.genie_recipe = recipe(model_reference(model), calib.shape[1:], qcfg, result.plan.blocks,
                                  result.plan.to_dict())
    return student


@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 256,
             device: Any = None) -> float:
    """Top-1 accuracy of `model` on (images, labels), as a fraction in [0, 1]."""
    if len(images) != len(labels):
        raise UserError(f"evaluate: {len(images)} images but {len(labels)} labels")
    dev = torch.device(device) if device is not None else _device_of(model)
    was_training = model.training
    model.eval()
    correct = 0
    try:
        for x, y in zip(images.split(batch_size), labels.split(batch_size)):
            correct += int((model(x.to(dev)).argmax(1).cpu() == y.cpu()).sum())
    finally:
        model.train(was_training)
    return correct / max(len(labels), 1)


def _device_of(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")
