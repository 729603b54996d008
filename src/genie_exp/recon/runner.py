"""`reconstruct(...)`: Genie-M / AdaRound reconstruction of a fake-quant student, unit by unit, input to
output (BRECQ order). For each unit it caches the teacher's input/output and the partially quantized
student's input, then fits a `ReconModule` with a Lightning Trainer."""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence

import pytorch_lightning as pl
import torch
import torch.nn as nn

from ..errors import UserError
from ..distributed import SINGLE, World, ddp_strategy
from ..layout import channels_last as nhwc, to_layout
from ..progress import StageProgressBar
from ..quiet import quiet_lightning
from ..quant.layer import QuantLayer, quant_layers
from ..rng import derived_seed, seeded
from .recon_module import ReconModule
from .units import Unit, execution_order, find_units

if TYPE_CHECKING:
    from .checkpoint import ReconCheckpoint

log = logging.getLogger(__name__)
CHUNK = 128  # images per forward pass while caching a unit's tensors


class _Stop(Exception):
    """Raised from a hook once the unit has been seen: the rest of the forward pass is not needed."""


@torch.no_grad()
def _capture(model: nn.Module, module: nn.Module, calib: torch.Tensor, device: torch.device,
             want_output: bool) -> tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
    """The first positional input of `module` (before its own pre-hooks) and, if asked, its output,
    for every calibration image; (None, None) if the forward pass never reaches `module`."""
    xs: list[torch.Tensor] = []
    ys: list[torch.Tensor] = []

    def pre(_m, args):
        # clone: the module (or an in-place op) could otherwise change the cached input
        xs.append(args[0].detach().clone())
        if not want_output:
            raise _Stop

    def post(_m, _args, out):
        ys.append(out.detach())
        raise _Stop

    # prepend: capture the block input before the block's own input-quantizer pre-hook rewrites it
    hooks = [module.register_forward_pre_hook(pre, prepend=True)]
    if want_output:
        hooks.append(module.register_forward_hook(post))
    try:
        for chunk in calib.split(CHUNK):
            try:
                model(chunk.to(device, non_blocking=True))
            except _Stop:
                pass
            if not xs:  # the forward never reached the unit
                return None, None
    finally:
        for h in hooks:
            h.remove()
    return torch.cat(xs), (torch.cat(ys) if want_output else None)


def _trainer_args(device: torch.device, world: World) -> dict:
    if world.size > 1:
        return {**world.trainer_args, "strategy": ddp_strategy(world.backend)}
    if device.type == "cuda":
        return {"accelerator": "gpu", "devices": [device.index] if device.index is not None else 1}
    return {"accelerator": "cpu", "devices": 1}


def _freeze_unit(unit: nn.Module) -> None:
    """Hard rounding without reconstruction (a unit the forward pass never reaches)."""
    for layer in quant_layers(unit):
        layer.weight_quantizer.mode = "hard"
        layer.weight_quantizer.freeze(layer.module.weight)


def reconstruct(student: nn.Module, teacher: nn.Module, calib: torch.Tensor, cfg_recon: Any,
                learn_weight_step: bool, extra_blocks: Iterable[str] = (), progress: bool = True,
                device: Optional[torch.device | str] = None, logger: Any = None, seed: int = 0,
                checkpoint: Optional["ReconCheckpoint"] = None, callbacks: Sequence = (),
                channels_last: bool = False, world: World = SINGLE, precision: str = "32-true") -> list[dict]:
    """Reconstruct every unit of `student` (in place) against `teacher` on the images `calib`.

    `learn_weight_step`: True for Genie-M (steps learned with V), False for AdaRound (steps fixed).
    Returns one dict per reconstructed unit, in execution order: name, kind, seconds, loss (mean
    reconstruction loss over the last 5% of the steps) and loss_start (the same over the first 5%).
    Afterwards every weight quantizer is frozen with hard rounding and both models are in eval mode on
    `device` (default: CUDA if available).

    Unit i draws its random numbers (batches, QDrop) from its own seed (seed, i). A `checkpoint`
    (recon.checkpoint.ReconCheckpoint) is restored first and saved after every unit: the units it
    lists are skipped and their results returned again with `"resumed": True`. `channels_last` runs the
    stage in NHWC layout (same values, faster convolutions); the models are NCHW again afterwards.

    In a DDP `world` rank r caches the unit tensors of calibration images r, r + size, ... only, draws
    recon.batch_size / size of them per step, and the Trainer's DDPStrategy averages the gradients:
    the same global batch, 1/size of the work per rank. Rank 0 alone writes the checkpoint."""
    device = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    iters = int(cfg_recon.iters)
    if int(cfg_recon.batch_size) % world.size:
        raise UserError(f"recon.batch_size={cfg_recon.batch_size} must be a multiple of the number of DDP "
                        f"processes ({world.size})")
    shard = calib[world.rank::world.size]
    stream = "recon" if world.size == 1 else f"recon/rank{world.rank}"
    teacher_modules = dict(teacher.named_modules())
    student.to(device).eval()
    teacher.to(device).eval()
    units = find_units(student, tuple(extra_blocks), layer_types=(QuantLayer,))
    order = execution_order(student, calib[:2].to(device), {u.name: u.module for u in units})
    by_name = {u.name: u for u in units}
    results: list[dict] = []
    done = checkpoint.restore(student) if checkpoint is not None else {}
    if channels_last:
        shard = to_layout(shard, True)
    with quiet_lightning(), nhwc(student, teacher, enabled=channels_last):
        for index, name in enumerate(order):
            unit: Unit = by_name[name]
            if name in done:
                results.append({**done[name], "resumed": True})
                continue
            if name not in teacher_modules:
                raise UserError(f"recon: the teacher has no module '{name}' to match the student's unit "
                                f"(was the student converted from this teacher?)")
            t0 = time.time()
            x_fp, y_fp = _capture(teacher, teacher_modules[name], shard, device, want_output=True)
            x_q, _ = _capture(student, unit.module, shard, device, want_output=False)
            if x_fp is None or x_q is None:
                log.warning("recon: unit '%s' is never reached by a forward pass; hard-rounded as is", name)
                _freeze_unit(unit.module)
                continue
            # Its own seed: the unit sees the same numbers whether or not earlier units ran in this process.
            with seeded(derived_seed(seed, stream, index)):
                result = _fit_unit(unit, x_fp, x_q, y_fp, cfg_recon, learn_weight_step, iters,
                                   progress and world.is_main, device, logger, t0, callbacks, world, precision)
            del x_fp, x_q, y_fp
            results.append(result)
            if checkpoint is not None and world.is_main:
                checkpoint.save(student, [{k: v for k, v in r.items() if k != "resumed"} for r in results])
    student.eval()
    return results


def _fit_unit(unit: Unit, x_fp: torch.Tensor, x_q: torch.Tensor, y_fp: torch.Tensor, cfg_recon: Any,
              learn_weight_step: bool, iters: int, progress: bool, device: torch.device, logger: Any,
              t0: float, callbacks: Sequence = (), world: World = SINGLE, precision: str = "32-true") -> dict:
    module = ReconModule(unit.module, unit.name, x_fp, x_q, y_fp, cfg_recon, learn_weight_step, iters,
                         batch_size=int(cfg_recon.batch_size) // world.size)
    bars = [StageProgressBar(f"recon {unit.name}", refresh_rate=max(1, iters // 200))] if progress else []
    trainer = pl.Trainer(max_steps=iters, logger=logger or False, enable_checkpointing=False,
                         enable_progress_bar=progress, enable_model_summary=False, callbacks=bars + list(callbacks),
                         log_every_n_steps=max(1, min(50, iters // 10)), num_sanity_val_steps=0, precision=precision,
                         **_trainer_args(device, world))
    if iters > 0:
        try:
            trainer.fit(module, train_dataloaders=range(iters))  # dummy batches: the module samples its own
        finally:
            unit.module.to(device)  # Lightning's teardown moves the fitted module to the CPU
    module.finish()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    first, last = module.loss_summary()
    return {"name": unit.name, "kind": unit.kind, "seconds": time.time() - t0, "loss": last, "loss_start": first}
