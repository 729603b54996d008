"""LSQ fake quantization with QDrop as one autograd function.

Forward: q = clamp(round(x / s), lo, hi) * s, then QDrop keeps x where the mask is 1.
Backward (LSQ, Esser et al. 2020, straight-through rounding): dq/dx = 1 where x/s lies in [lo, hi],
else 0; dq/ds = round(x/s) - x/s there, lo or hi elsewhere. With `rounded`, round(x/s) must lie
strictly inside (lo, hi) instead: what autograd gives for clamp(round_ste(x/s), lo, hi) * s, since
clamp passes no gradient at its bounds; so elements that round to lo or hi count as clipped.
Written by hand because autograd's version of the same formula made about 30 passes over the
activation per step, clamp's backward among them using torch.where, which is slow on the CPU
(see experiments/bench)."""
from __future__ import annotations

from typing import Optional

import torch


class LsqQDrop(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: torch.Tensor, lo: int, hi: int, mask: Optional[torch.Tensor],
                rounded: bool = False):
        xs = x / scale
        r = torch.round(xs)
        inside = ((r > lo) & (r < hi)) if rounded else None
        r = r.clamp_(lo, hi)
        q = r * scale
        out = q if mask is None else torch.lerp(q, x, mask)
        ctx.save_for_backward(xs, r, mask, inside)
        ctx.lo, ctx.hi = lo, hi
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        xs, r, mask, inside = ctx.saved_tensors
        inside = ((xs >= ctx.lo) & (xs <= ctx.hi) if inside is None else inside).to(grad.dtype)
        grad_q = grad if mask is None else torch.addcmul(grad, grad, mask, value=-1.0)  # grad * (1 - m)
        grad_x = grad_q * inside
        if mask is not None:
            grad_x.addcmul_(grad, mask)  # the kept FP elements pass their gradient through unchanged
        grad_scale = None
        if ctx.needs_input_grad[1]:
            grad_scale = (grad_q * torch.addcmul(r, xs, inside, value=-1.0)).sum().reshape(())
        return grad_x, grad_scale, None, None, None, None


def lsq_qdrop(x: torch.Tensor, scale: torch.Tensor, lo: int, hi: int,
              mask: Optional[torch.Tensor] = None, rounded: bool = False) -> torch.Tensor:
    return LsqQDrop.apply(x, scale, lo, hi, mask, rounded)
