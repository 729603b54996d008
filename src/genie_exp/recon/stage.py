"""The quantization stage: plan the units, convert the teacher to a fake-quant student, set the
activation steps, reconstruct (Genie-M / AdaRound) or not (RTN). Returns what it made.

Names against the paper's code: its `quantize_model` swaps the layers for quantized ones, which is
quant/convert.py's `convert` here; `quantize_model` here is the whole stage around it."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional, Sequence

import torch
import torch.nn as nn

from ..config import QuantConfig, ReconConfig
from ..core.compiled import use_kernels
from ..core.context import RunContext
from ..core.errors import UserError
from ..partition import Plan, plan_units
from ..partition.plan import LAYER_TYPES
from ..partition.trace import execution_order
from ..quant import calibrate_activations, convert
from ..quant.fold import fold_batchnorm
from ..quant.layer_bits import layer_bits_of, matches
from ..quant.methods import quant_method
from ..quant.mixed import Allocation, allocated_layers, mixed_allocation
from .checkpoint import ReconCheckpoint
from .images import reconstruction_images
from .runner import reconstruct

# recon.compile=auto compiles from this many optimizer steps in all (recon.iters x units): where the
# steps' saving covers a first compile from an empty cache (2-core CPU: 37.6 s against 2.4 ms a step;
# experiments/time_to_accuracy/README.md, "Compile or not").
AUTO_MIN_STEPS = 16_000


@dataclass
class QuantResult:
    student: nn.Module  # the fake-quantized model, eval mode, on ctx.device
    plan: Plan
    units: list[dict] = field(default_factory=list)  # per reconstructed unit: name, kind, seconds, loss, loss_start
    reference: Optional[nn.Module] = None  # what was quantized: the teacher, or its BN-folded copy
    compiled: bool = False  # the reconstruction ran the compiled kernels (recon.compile)
    quant: Optional[QuantConfig] = None  # the settings quantized with: quant.layer_bits holds a budget's allocation
    allocation: Optional[Allocation] = None  # quant.budget's bits per layer and the sensitivities they came from


def make_plan(reference: nn.Module, calib: torch.Tensor, user_blocks: Sequence[str] = (), depthwise: bool = True,
              announce: bool = True) -> Plan:
    """The reconstruction units of `reference`, printed as one summary line, then a line per unit
    (name, class, why it is a unit), then the warnings."""
    plan = plan_units(reference, calib[:2], list(user_blocks), depthwise=depthwise)
    if announce:
        print("\n".join([f"reconstruction plan: {plan.summary()}", *plan.unit_lines()]), flush=True)
        for w in plan.warnings:  # printed once: a log record too would repeat it on the CLI's stdout
            print(f"warning: {w}", flush=True)
    return plan


# Activations that reach only a little below zero: a symmetric signed grid leaves half its levels unused
BELOW_ZERO_TAILS = (nn.Hardswish, nn.SiLU, nn.GELU, nn.Mish, nn.ELU)


def grid_hint(model: nn.Module, act_grid: str) -> Optional[str]:
    """A one-line suggestion where the model has such activations and quant.act_grid is symmetric."""
    if act_grid != "symmetric":
        return None
    kinds = sorted({type(m).__name__ for m in model.modules() if isinstance(m, BELOW_ZERO_TAILS)})
    if not kinds:
        return None
    return (f"the model has {', '.join(kinds)} activations, which reach only a little below zero; "
            f"quant.act_grid=auto gives their quantizers a zero-point grid (README, 'Bring your own model')")


def quantize_model(teacher: nn.Module, calib: torch.Tensor, quant: QuantConfig, method: str, recon: ReconConfig, ctx: RunContext,
                   user_blocks: Sequence[str] = (), checkpoint: Optional[ReconCheckpoint] = None,
                   act_images: Optional[torch.Tensor] = None) -> QuantResult:
    """`quant` and `recon`: QuantConfig / ReconConfig (or their config nodes); `method`: genie |
    adaround | rtn. `checkpoint` makes the reconstruction resumable (see recon/checkpoint.py).
    `act_images`: other images to set the activation steps' initial ranges from (quant.act_ranges)."""
    m = quant_method(method)
    if not bool(torch.isfinite(calib).all()):  # RTN would return an all-NaN model without a word
        raise UserError("quantize: the calibration images hold NaN/inf values")
    distilled = calib
    if m.reconstruct:
        calib = reconstruction_images(calib, recon)
    device = next(teacher.parameters()).device
    example = calib[:2].to(device)
    # With fold_bn the folded FP model (the same function) is both what is quantized and the target.
    reference = fold_batchnorm(teacher, example) if quant.fold_bn else teacher
    plan = make_plan(reference, example, user_blocks, bool(recon.group_depthwise), announce=m.reconstruct and ctx.is_main)
    allocation = None
    if quant.budget.weight_bits_avg is not None:
        allocation = allocate_bits(reference, distilled.to(device), quant, plan)
        quant = dataclasses.replace(quant, layer_bits={**allocation.layer_bits(), **dict(quant.layer_bits)})
        if ctx.is_main:
            print(allocation.summary(), flush=True)
    hint = grid_hint(reference, str(quant.act_grid))
    if hint and ctx.is_main:
        print(f"note: {hint}", flush=True)
    student = convert(reference, int(quant.w), int(quant.a), example, first_layer_bits=quant.first_layer_bits,
                      quantize_image=quant.quantize_image, second_input_bits=quant.second_input_bits,
                      last_layer_bits=quant.last_layer_bits, blocks=plan.blocks, p=quant.lp,
                      act_grid=str(quant.act_grid), gate_layers=plan.gate_layers, gate_bits=quant.gate_bits,
                      layer_bits=dict(quant.layer_bits))
    if quant.layer_bits and ctx.is_main:
        print(per_layer_line(student, quant.layer_bits), flush=True)
    per_unit = m.reconstruct and recon.act_init == "per_unit"
    if not per_unit:  # per_unit: each unit's steps are set just before its reconstruction
        ranges = calib if act_images is None else act_images
        calibrate_activations(student, ranges.to(device), int(quant.calib_samples))
    units: list[dict] = []
    compiled = m.reconstruct and use_kernels(recon.compile, "recon.compile", ctx.device,
                                             int(recon.iters) * len(plan.units), AUTO_MIN_STEPS)
    if m.reconstruct:
        units = reconstruct(student, reference, calib, recon, m.learn_weight_step, ctx, plan, checkpoint,
                            act_init_samples=int(quant.calib_samples) if per_unit else 0, fused_kernels=compiled)
    return QuantResult(student.to(ctx.device).eval(), plan, units, reference, compiled, quant, allocation)


def allocate_bits(reference: nn.Module, images: torch.Tensor, quant: QuantConfig, plan: Plan) -> Allocation:
    """quant.budget's weight bits for the layers that would get quant.w (quant/mixed.py)."""
    layers = {n: mod for n, mod in reference.named_modules() if isinstance(mod, LAYER_TYPES)}
    order = execution_order(reference, images[:2], layers)
    names = allocated_layers(order, plan.gate_layers, quant.first_layer_bits, quant.last_layer_bits, quant.gate_bits,
                             dict(quant.layer_bits))
    return mixed_allocation(reference, images, names, float(quant.budget.weight_bits_avg), p=float(quant.lp))


def per_layer_line(student: nn.Module, layer_bits: dict) -> str:
    """The layers quant.layer_bits names, with the bits they got (W: weights, A: input; A- an FP input
    or one its block quantizes)."""
    bits = layer_bits_of(student)
    named = [n for n in bits if matches(n, layer_bits)]
    shown = ", ".join(f"{n} W{bits[n]['w']}A{bits[n]['a'] if bits[n]['a'] is not None else '-'}" for n in named[:12])
    return f"per-layer bits (quant.layer_bits): {shown}" + (f", ... ({len(named)} layers)" if len(named) > 12 else "")
