"""Floors: the forward+backward passes a step cannot skip, timed alone in the faster memory layout.

Distillation: the generator and the teacher at the distillation batch (their sum). Reconstruction:
each unit of the FP teacher at the reconstruction batch, with an MSE loss on its output."""
from __future__ import annotations

import copy
from typing import Iterable

import torch
import torch.nn as nn

from ..distillation.generator import Generator
from ..partition import Plan
from .timing import median_seconds

LAYOUTS = (torch.contiguous_format, torch.channels_last)


AUTOCAST = {"32-true": None, "bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}


def _fastest(make_fn, device: torch.device, reps: int, warmup: int, precision: str = "32-true") -> float:
    """The lower median over the two memory layouts (a floor must not be slowed by a layout choice),
    under the autocast of the stages' `precision`."""
    dtype = AUTOCAST[precision]

    def timed(fn):
        if dtype is None:
            return fn

        def under_autocast():
            with torch.autocast(device.type, dtype=dtype):
                fn()
        return under_autocast
    return min(median_seconds(timed(make_fn(fmt)), device, reps, warmup) for fmt in LAYOUTS)


def _as(x: torch.Tensor, fmt) -> torch.Tensor:
    return x.contiguous(memory_format=fmt) if x.dim() == 4 else x


def generator_floor(latent_dim: int, image_size: int, batch: int, device: torch.device,
                    reps: int = 10, warmup: int = 3, precision: str = "32-true") -> float:
    def make(fmt):
        gen = Generator(latent_dim, image_size).to(device).to(memory_format=fmt)
        z = torch.randn(batch, latent_dim, device=device, requires_grad=True)
        return lambda: gen(z).sum().backward()
    return _fastest(make, device, reps, warmup, precision)


def teacher_floor(teacher: nn.Module, image_size: int, batch: int, device: torch.device,
                  reps: int = 10, warmup: int = 3, precision: str = "32-true") -> float:
    """Forward+backward to the input (the weights are frozen while distilling)."""
    model = copy.deepcopy(teacher).to(device).eval().requires_grad_(False)

    def make(fmt):
        net = model.to(memory_format=fmt)
        x = _as(torch.randn(batch, 3, image_size, image_size, device=device), fmt).requires_grad_(True)
        return lambda: net(x).sum().backward()
    return _fastest(make, device, reps, warmup, precision)


@torch.no_grad()
def _unit_inputs(teacher: nn.Module, names: Iterable[str], example: torch.Tensor) -> dict[str, torch.Tensor]:
    modules = dict(teacher.named_modules())
    seen: dict[str, torch.Tensor] = {}
    hooks = [modules[n].register_forward_pre_hook(lambda _m, a, n=n: seen.setdefault(n, a[0].detach().clone()))
             for n in names]
    try:
        teacher(example)
    finally:
        for h in hooks:
            h.remove()
    return seen


def unit_floors(teacher: nn.Module, image_size: int, batch: int, device: torch.device, plan: Plan,
                reps: int = 10, warmup: int = 3, precision: str = "32-true") -> dict[str, float]:
    """Per reconstruction unit of `plan` (execution order): its plain FP forward+backward at `batch`."""
    model = copy.deepcopy(teacher).to(device).eval()
    order = [u.name for u in plan.units]
    units = {n: model.get_submodule(n) for n in order}
    example = torch.randn(batch, 3, image_size, image_size, device=device)
    inputs = _unit_inputs(model, order, example)
    floors = {}
    for name in order:
        if name not in inputs:
            continue
        unit = units[name].requires_grad_(True)

        def make(fmt, unit=unit, x=inputs[name]):
            unit.to(memory_format=fmt)
            xin = _as(x, fmt)
            target = torch.randn_like(unit(xin))

            def step():
                unit.zero_grad(set_to_none=True)
                (unit(xin) - target).pow(2).sum(1).mean().backward()
            return step
        floors[name] = _fastest(make, device, reps, warmup, precision)
    return floors
