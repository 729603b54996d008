"""`reconstruct(...)`: Genie-M / AdaRound reconstruction of a fake-quant student, unit by unit, input to
output (BRECQ order), as the reconstruction plan (partition/plan.py) lists them. For each unit it caches
the teacher's input/output and the partially quantized student's input, then fits a `ReconModule`
with a Lightning Trainer."""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Optional

import torch
import torch.nn as nn

from ..config import ReconConfig
from ..core.context import RunContext
from ..core.errors import UserError
from ..core.layout import channels_last as nhwc, to_layout, use_nhwc
from ..core.quiet import quiet_lightning
from ..partition import Plan, plan_units
from ..core import compiled
from ..quant.layer import act_quantizers, quant_layers
from ..core.rng import derived_seed, seeded
from ..core.signals import set_stage, stage
from .recon_module import ReconModule, fit

if TYPE_CHECKING:
    from .checkpoint import ReconCheckpoint

log = logging.getLogger(__name__)
CHUNK = 128  # images per forward pass while caching a unit's tensors


class _Stop(Exception):
    """Raised from a hook once the unit has been seen: the rest of the forward pass is not needed."""


def _stop(*_args) -> None:
    raise _Stop


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


@torch.no_grad()
def _init_unit_activations(student: nn.Module, unit: nn.Module, images: torch.Tensor, device: torch.device) -> None:
    """Set the steps of the activation quantizers inside `unit` from one forward pass of `images`
    through the student, stopped after the unit (later units do not matter here)."""
    quantizers = act_quantizers(unit)
    for q in quantizers:
        q.calibrating = True
    hook = unit.register_forward_hook(_stop)
    try:
        student(images.to(device, non_blocking=True))
    except _Stop:
        pass
    finally:
        hook.remove()
        for q in quantizers:
            q.calibrating = False


def reconstruct(student: nn.Module, teacher: nn.Module, calib: torch.Tensor, cfg_recon: ReconConfig,
                learn_weight_step: bool, ctx: Optional[RunContext] = None, plan: Optional[Plan] = None,
                checkpoint: Optional["ReconCheckpoint"] = None, act_init_samples: int = 0,
                fused_kernels: bool = False) -> list[dict]:
    """Reconstruct every unit of `plan` in `student` (in place) against `teacher` on the images `calib`
    (plan None: the graph plan of `teacher`, partition/plan.py), computing as `ctx` says (default: the
    best device, progress bars on). The model that changes comes first; the paper's code passes the
    FP model first.

    `learn_weight_step`: True for Genie-M (steps learned with V), False for AdaRound (steps fixed).
    Returns one dict per reconstructed unit, in execution order: name, kind, seconds, loss (mean
    reconstruction loss over the last 5% of the steps) and loss_start (the same over the first 5%).
    Afterwards every weight quantizer is frozen with hard rounding and both models are in eval mode on
    ctx.device.

    Unit i draws its random numbers (batches, QDrop) from its own seed (ctx.seed, i). A `checkpoint`
    (recon.checkpoint.ReconCheckpoint) is restored first and saved after every unit: the units it
    lists are skipped and their results returned again with `"resumed": True`. ctx.channels_last runs
    the stage in NHWC layout (same values, faster convolutions; not for models core.layout.nhwc_safe
    refuses); the models are NCHW again afterwards.
    `act_init_samples` > 0 sets each unit's activation steps just before its reconstruction, from that
    many calibration images through the student as reconstructed so far (recon.act_init=per_unit).
    `fused_kernels`: the steps run the compiled kernels of quant/kernels.py (recon.compile).

    In a DDP world rank r caches the unit tensors of calibration images r, r + size, ... only, draws
    recon.batch_size / size of them per step, and ReconModule averages the gradients over the ranks:
    the same global batch, 1/size of the work per rank. Rank 0 alone writes the checkpoint."""
    ctx = ctx or RunContext()
    device, world = ctx.device, ctx.world
    if int(cfg_recon.batch_size) % world.size:
        raise UserError(f"recon.batch_size={cfg_recon.batch_size} must be a multiple of the number of DDP "
                        f"processes ({world.size})")
    if plan is None:
        plan = plan_units(teacher.eval(), calib[:2].to(next(teacher.parameters()).device))
    shard = calib[world.rank::world.size]
    stream = "recon" if world.size == 1 else f"recon/rank{world.rank}"
    teacher_modules = dict(teacher.named_modules())
    student.to(device).eval()
    teacher.to(device).eval()
    results: list[dict] = []
    if checkpoint is not None:
        checkpoint.follow(world)
    done = checkpoint.restore(student) if checkpoint is not None else {}
    cl = use_nhwc(ctx.channels_last, teacher)
    shard = to_layout(shard, cl)
    # stage(): the stage line goes back to the caller's once every unit is done (set_stage names each)
    with quiet_lightning(), nhwc(student, teacher, enabled=cl), stage("reconstruction"):
        for index, unit in enumerate(plan.units):
            name = unit.name
            module = student.get_submodule(name)
            if name in done:
                results.append({**done[name], "resumed": True})
                continue
            if name not in teacher_modules:
                raise UserError(f"recon: the teacher has no module '{name}' to match the student's unit "
                                f"(was the student converted from this teacher?)")
            t0 = time.time()
            # the unit's whole turn (capture, fit, checkpoint) is its stage: a signal at any moment of it,
            # even right after its checkpoint is written, names this unit
            set_stage(f"reconstruction, unit {name} ({index + 1}/{len(plan.units)})")
            if act_init_samples:  # the same images on every rank, so the ranks agree on the steps
                _init_unit_activations(student, module, to_layout(calib[:act_init_samples], cl), device)
            x_fp, y_fp = _capture(teacher, teacher_modules[name], shard, device, want_output=True)
            x_q, _ = _capture(student, module, shard, device, want_output=False)
            if x_fp is None or x_q is None:
                log.warning("recon: unit '%s' is never reached by a forward pass; hard-rounded as is", name)
                for layer in quant_layers(module):
                    layer.freeze()
                continue
            # Its own seed: the unit sees the same numbers whether or not earlier units ran in this process.
            with seeded(derived_seed(ctx.seed, stream, index)):
                first = not any("seconds" in r and not r.get("resumed") for r in results)
                recon = ReconModule(module, name, x_fp, x_q, y_fp, cfg_recon, learn_weight_step,
                                    batch_size=int(cfg_recon.batch_size) // world.size, world=world,
                                    estimate_units=len(plan.units) - index if first else 0)
                with compiled.fused(fused_kernels):
                    _fit_unit(recon, ctx)
            del x_fp, x_q, y_fp
            first, last = recon.loss_summary()
            results.append({"name": name, "kind": unit.kind, "seconds": time.time() - t0, "loss": last,
                            "loss_start": first})
            if checkpoint is not None and world.is_main:
                checkpoint.save(student, [{k: v for k, v in r.items() if k != "resumed"} for r in results])
    student.eval()
    return results


def _fit_unit(recon: ReconModule, ctx: RunContext) -> None:
    fit(recon, ctx)
    if ctx.device.type == "cuda":
        torch.cuda.synchronize(ctx.device)
