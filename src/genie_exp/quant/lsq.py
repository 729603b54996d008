"""LSQ fake quantization with QDrop as one autograd function.

Forward: q = clamp(round(x / s), lo, hi) * s, then QDrop keeps x where the mask is 1.
Backward (LSQ, Esser et al. 2020, straight-through rounding): dq/dx = 1 where x/s lies in [lo, hi],
else 0; dq/ds = round(x/s) - x/s there, lo or hi elsewhere. With `rounded`, round(x/s) must lie
strictly inside (lo, hi) instead: what autograd gives for clamp(round_ste(x/s), lo, hi) * s, since
clamp passes no gradient at its bounds; so elements that round to lo or hi count as clipped.
Written by hand because autograd's version of the same formula made about 30 passes over the
activation per step, clamp's backward among them using torch.where, which is slow on the CPU
(see experiments/bench); this one makes 5 passes forward and 4 backward (2 of them read-only dot
products), with the clip test kept from the forward pass."""
from __future__ import annotations

from typing import Optional

import torch


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """sum(a * b) in one read-only pass when both are dense with the same strides (NCHW or NHWC)."""
    if a.stride() == b.stride() and (a.is_contiguous() or a.is_contiguous(memory_format=torch.channels_last)):
        n = a.numel()
        return torch.dot(a.as_strided((n,), (1,)), b.as_strided((n,), (1,)))
    return (a * b).sum()


class LsqQDrop(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: torch.Tensor, lo: int, hi: int, mask: Optional[torch.Tensor],
                rounded: bool = False):
        xs = x / scale
        if rounded:
            r = torch.round(xs)
            clip_test = (r > lo) & (r < hi)  # the elements whose gradient passes
            r.clamp_(lo, hi)
        else:
            clip_test = xs.clamp(lo, hi)  # equal to xs exactly where x/s lies in [lo, hi]
            r = torch.round(clip_test)  # = clamp(round(x/s)): the bounds are integers
        out = r * scale
        if mask is not None:
            out.lerp_(x, mask)
        ctx.save_for_backward(xs, r, mask, clip_test)
        ctx.rounded = rounded
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        xs, r, mask, clip_test = ctx.saved_tensors
        inside = clip_test if ctx.rounded else clip_test == xs  # bool: promoted inside the products
        grad_q = grad if mask is None else torch.addcmul(grad, grad, mask, value=-1.0)  # grad * (1 - m)
        grad_in = grad_q * inside
        # the kept FP elements pass their gradient through unchanged
        grad_x = grad_in if mask is None else torch.addcmul(grad_in, grad, mask)
        grad_scale = None
        if ctx.needs_input_grad[1]:
            # sum(grad_q * (r - x/s * inside)), as two dot products over tensors already at hand
            grad_scale = (_dot(grad_q, r) - _dot(grad_in, xs)).reshape(())
        return grad_x, grad_scale, None, None, None, None


def lsq_qdrop(x: torch.Tensor, scale: torch.Tensor, lo: int, hi: int,
              mask: Optional[torch.Tensor] = None, rounded: bool = False) -> torch.Tensor:
    return LsqQDrop.apply(x, scale, lo, hi, mask, rounded)
