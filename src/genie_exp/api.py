"""The Python API: Genie on a plain `nn.Module`, no Hydra and no config files.

    images = genie_exp.distill(model, samples=256)              # Genie-D: synthetic calibration images
    qmodel = genie_exp.quantize(model, images, w_bits=2, a_bits=4)  # Genie-M: the fake-quantized model
    top1 = genie_exp.evaluate(qmodel, test_images, test_labels)

The settings are one config object per stage (DistillConfig / QuantConfig / ReconConfig, whose
defaults are the CLI's: config.py is the one place defaults live); a keyword overrides just the field
it names, and any field is a keyword. The functions call the same stages as the CLI (distillation/, recon/stage.py)."""
from __future__ import annotations

import dataclasses
import inspect
import time
from typing import Any, Optional, Sequence

import torch
import torch.nn as nn

from .api_run import check_test, distill_record, write_run
from .artifact import load_quantized, recipe, save_quantized
from .config import SEED_MAX, BudgetConfig, QuantConfig, ReconConfig, TrainerConfig, check_bits, check_number, check_section, with_options
from .core.context import RunContext
from .core.devices import parse_device
from .core.errors import UserError
from .core.inputs import check_blocks, check_images, check_labels, check_model, check_runs_on, device_of, restored
from .top1 import count_correct
from .distillation.entry import distill
from .models.reference import reference_of

_T = TrainerConfig
__all__ = ["distill", "quantize", "evaluate", "load_quantized", "save_quantized", "QuantReport"]


@dataclasses.dataclass
class QuantReport:
    """What `quantize` did, reachable as `qmodel.genie_report`."""
    method: str
    w_bits: int
    a_bits: int
    plan: str  # e.g. "9 blocks, 2 layers (conv1, fc)"
    units: list[dict]  # per reconstructed unit: name, kind, class, reason, seconds, loss (final), loss_start
    seconds: float


def configs_for(quant: Optional[QuantConfig], recon: Optional[ReconConfig], options: dict,
                **given: Any) -> tuple[QuantConfig, ReconConfig]:
    """The settings `quantize` runs with: the config objects passed (else the defaults), then every
    keyword the caller gave (None: not given) on the field it names, and nothing else."""
    for obj, cls, name in ((quant, QuantConfig, "quant"), (recon, ReconConfig, "recon")):
        if obj is not None and not isinstance(obj, cls):
            raise UserError(f"quantize: {name}= must be a genie_exp.config.{cls.__name__}, got {type(obj).__name__}")
    named = {"w_bits": ("quant", "w"), "a_bits": ("quant", "a"), "iters": ("recon", "iters"),
             "batch_size": ("recon", "batch_size")}
    fields: dict = {"quant": {}, "recon": {}}
    for key, value in given.items():
        if value is not None:
            group, field = named[key]
            fields[group][field] = value
    q0 = dataclasses.replace(quant or QuantConfig(), **fields["quant"])
    r0 = dataclasses.replace(recon or ReconConfig(), **fields["recon"])
    qcfg, rcfg = with_options([q0, r0], options, [QuantConfig, ReconConfig], QUANTIZE_KEYWORDS)
    check_bits(qcfg.w, "w_bits")
    check_bits(qcfg.a, "a_bits")
    check_section(qcfg, "quant")
    check_section(rcfg, "recon")
    return qcfg, rcfg


def quantize(model: nn.Module, calib: torch.Tensor, w_bits: Optional[int] = None, a_bits: Optional[int] = None,
             method: str = "genie", iters: Optional[int] = None, batch_size: Optional[int] = None, seed: int = 0, *,
             blocks: Sequence[str] = (), device: Any = None, progress: bool = True, precision: str = _T.precision,
             channels_last: Optional[bool] = None, quant: Optional[QuantConfig] = None,
             recon: Optional[ReconConfig] = None, run_dir: Any = None, test: Any = None,
             weight_bits_avg: Optional[float] = None, **options: Any) -> nn.Module:
    """A fake-quantized copy of `model` (eval mode, on `device`), calibrated on the images `calib`.

    The settings are `quant` / `recon` (QuantConfig / ReconConfig; the defaults when not given), with
    every keyword given on top of the field it names: w_bits / a_bits are quant.w / quant.a, iters /
    batch_size are recon.iters / recon.batch_size, and any other keyword is a field of QuantConfig
    (first_layer_bits, fold_bn, calib_samples, ...) or ReconConfig (lr_rounding, qdrop_prob, act_init,
    ...). method: genie (Genie-M: rounding and weight steps learned jointly, block by block) | adaround
    (the same reconstruction, steps fixed) | rtn (round to nearest). `blocks`: class names to
    reconstruct as blocks (by default the graph decides; see README). The report (plan, per-unit
    losses, seconds) is `qmodel.genie_report`. `model` comes back as it was (device, modes, weights).
    `run_dir` (with `test=(images, labels)`): also write quantized.pt and metrics.json there, the files
    of a CLI run, so the report and the export take this run too (api_run.py). `weight_bits_avg`:
    quant.budget.weight_bits_avg, mixed precision by the layers' damage on `calib` (quant/mixed.py)."""
    from .quant.methods import quant_method
    from .recon.stage import quantize_model

    m = quant_method(method)
    qcfg, rcfg = configs_for(quant, recon, options, w_bits=w_bits, a_bits=a_bits, iters=iters,
                             batch_size=batch_size)
    if weight_bits_avg is not None:
        qcfg = dataclasses.replace(qcfg, budget=BudgetConfig(weight_bits_avg=weight_bits_avg))
        check_section(qcfg, "quant")
    check_number(seed, "seed", 0, SEED_MAX, True)
    check_model(model, "quantize")
    calib_info = distill_record(calib)
    calib = check_images(calib, "quantize: calib")
    test = check_test(run_dir, test)
    user_blocks = check_blocks(blocks, "quantize")
    if m.reconstruct and rcfg.batch_size > calib.shape[0]:
        raise UserError(f"quantize: batch_size={rcfg.batch_size} is larger than the {calib.shape[0]} calibration images")
    ctx = RunContext.local(device, seed, progress, precision,
                           _T.channels_last if channels_last is None else channels_last)
    check_runs_on(model, calib, "quantize")
    t0 = time.time()
    with restored(model):
        result = quantize_model(model.to(ctx.device).eval(), calib, qcfg, method, rcfg, ctx, user_blocks)
    student = result.student
    planned = {u.name: {"class": u.class_name, "reason": u.reason} for u in result.plan.units}
    units = [{"name": r["name"], "kind": r["kind"], **planned.get(r["name"], {}), **r} for r in result.units]
    student.genie_report = QuantReport(method, int(qcfg.w), int(qcfg.a), result.plan.summary(), units,
                                       round(time.time() - t0, 3))
    # what save_quantized stores next to the state (the class is imported again on load)
    student.genie_recipe = recipe(reference_of(model), calib.shape[1:], result.quant, result.plan.blocks,
                                  result.plan.to_dict())
    if run_dir is not None:
        tops = (evaluate(model, *test), evaluate(student, *test))
        write_run(run_dir, model, student, calib_info, calib.shape[0], qcfg, rcfg, method, seed, tops, len(test[1]),
                  units, {"recon": student.genie_report.seconds, "total": round(time.time() - t0, 3)})
    return student


QUANTIZE_KEYWORDS = [k for k in inspect.signature(quantize).parameters if k != "options"]


@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 256,
             device: Any = None) -> float:
    """Top-1 accuracy of `model` on (images, labels), as a fraction in [0, 1] (tensors or NumPy
    arrays). Non-finite logits are an error, not a class."""
    check_model(model, "evaluate")
    images = check_images(images, "evaluate: images")
    labels = check_labels(labels, len(images), "evaluate: labels")
    check_number(batch_size, "evaluate: batch_size", 1, None, True)
    dev = parse_device(device) if device is not None else device_of(model)
    correct = 0
    with restored(model):
        model.eval()
        for x, y in zip(images.split(batch_size), labels.split(batch_size)):
            correct += count_correct(model(x.to(dev)), y, "evaluate")
    return correct / len(labels)
