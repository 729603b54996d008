"""Initial step sizes by grid search over clip ratios 1.00, 0.99, ..., 0.01 (lowest mean |x - q(x)|^p)."""
from __future__ import annotations

import torch

from ..choices import ACT_GRIDS

RATIOS = torch.arange(100, 0, -1, dtype=torch.float64).div(100).tolist()


def fake_quant_asym(x: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor, bits: int) -> torch.Tensor:
    qmax = 2 ** bits - 1
    return (torch.clamp(torch.round(x / scale) + zero_point, 0, qmax) - zero_point) * scale


@torch.no_grad()
def search_weight_range(w: torch.Tensor, bits: int, p: float = 2.4) -> tuple[torch.Tensor, torch.Tensor]:
    """Per output channel, asymmetric: (scale, zero_point), each of shape (C,)."""
    wf = w.detach().flatten(1).float()
    wmin = wf.min(1).values.clamp(max=0)
    wmax = wf.max(1).values.clamp(min=0)
    qmax = 2 ** bits - 1
    best_err = torch.full_like(wmin, float("inf"))
    best_scale = torch.ones_like(wmin)
    best_zp = torch.zeros_like(wmin)
    for r in RATIOS:
        lo, hi = wmin * r, wmax * r
        scale = ((hi - lo) / qmax).clamp(min=1e-8)
        zp = torch.round(-lo / scale)
        err = (fake_quant_asym(wf, scale[:, None], zp[:, None], bits) - wf).abs().pow(p).mean(1)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best_scale = torch.where(better, scale, best_scale)
        best_zp = torch.where(better, zp, best_zp)
    return best_scale, best_zp


def act_levels(bits: int, signed: bool) -> tuple[int, int]:
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)



def _subset(x: torch.Tensor, max_elements: int) -> torch.Tensor:
    xf = x.detach().flatten().float()
    if xf.numel() > max_elements:  # an evenly strided subset: deterministic and representative
        xf = xf[:: (xf.numel() + max_elements - 1) // max_elements]
    return xf


def _lp_error(xf: torch.Tensor, scale: float, lo: int, hi: int, p: float) -> float:
    return float((torch.clamp(torch.round(xf / scale), lo, hi) * scale - xf).abs().pow(p).mean())


@torch.no_grad()
def search_act_grid(x: torch.Tensor, bits: int, grid: str = "symmetric", p: float = 2.4,
                    max_elements: int = 2 ** 18) -> tuple[float, int]:
    """Per tensor: (step size, offset), the offset being how many of the 2^bits levels lie below zero
    (an activation is round(clamp(x / step, -offset, 2^bits - 1 - offset)) * step).

    Non-negative inputs get offset 0. Signed inputs get the symmetric grid (offset 2^(bits-1), the
    paper's); with grid="auto" also the grid whose zero sits where the range puts it (offset
    round((2^bits - 1) * -min / (max - min))), and the one of the two with the lower error wins:
    Hardswish, SiLU or GELU outputs reach only a little below zero, where half of a symmetric grid's
    levels go unused."""
    if grid not in ACT_GRIDS:
        raise ValueError(f"unknown activation grid {grid!r} (choose from: {', '.join(ACT_GRIDS)})")
    xf = _subset(x, max_elements)
    xmin, xmax = float(x.min()), float(x.max())  # the whole tensor decides the sign, as it always did
    levels = 2 ** bits - 1
    if xmin >= 0:
        return _symmetric(xf, bits, False, p)[1], 0
    err, scale = _symmetric(xf, bits, True, p)
    best = (err, scale, 2 ** (bits - 1))
    offset = min(max(round(levels * -xmin / (xmax - xmin)), 0), 2 ** (bits - 1)) if xmax > 0 else 2 ** (bits - 1)
    if grid == "auto" and offset != best[2]:
        lo, hi = -offset, levels - offset
        # the step that just covers the range on both sides of the grid, then clipped as below
        full = max(-xmin / offset if offset else 0.0, xmax / hi)
        for r in RATIOS:
            err = _lp_error(xf, r * full, lo, hi, p)
            if err < best[0]:
                best = (err, r * full, offset)
    return best[1], best[2]


def _symmetric(xf: torch.Tensor, bits: int, signed: bool, p: float) -> tuple[float, float]:
    """(lp error, step) of the best clip ratio on the grid act_levels(bits, signed)."""
    lo, hi = act_levels(bits, signed)
    amax = float(xf.abs().max())
    if amax == 0.0:
        return 0.0, 1e-8
    best_err, best_scale = float("inf"), amax / hi
    for r in RATIOS:
        scale = r * amax / hi
        err = _lp_error(xf, scale, lo, hi, p)
        if err < best_err:
            best_err, best_scale = err, scale
    return best_err, best_scale


@torch.no_grad()
def search_act_scale(x: torch.Tensor, bits: int, signed: bool, p: float = 2.4,
                     max_elements: int = 2 ** 18) -> float:
    """Per tensor, symmetric: the step size (a float)."""
    return _symmetric(_subset(x, max_elements), bits, signed, p)[1]
