"""Initial step sizes by grid search over clip ratios 1.00, 0.99, ..., 0.01 (lowest mean |x - q(x)|^p)."""
from __future__ import annotations

import torch

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


@torch.no_grad()
def search_act_scale(x: torch.Tensor, bits: int, signed: bool, p: float = 2.4,
                     max_elements: int = 2 ** 18) -> float:
    """Per tensor, symmetric: the step size (a float)."""
    xf = x.detach().flatten().float()
    if xf.numel() > max_elements:  # an evenly strided subset: deterministic and representative
        xf = xf[:: (xf.numel() + max_elements - 1) // max_elements]
    lo, hi = act_levels(bits, signed)
    amax = float(xf.abs().max())
    if amax == 0.0:
        return 1e-8
    best_err, best_scale = float("inf"), amax / hi
    for r in RATIOS:
        scale = r * amax / hi
        err = float((torch.clamp(torch.round(xf / scale), lo, hi) * scale - xf).abs().pow(p).mean())
        if err < best_err:
            best_err, best_scale = err, scale
    return best_scale
