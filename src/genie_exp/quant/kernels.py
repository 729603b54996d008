"""Fused kernels for the reconstruction step (recon.compile): the quantizers' elementwise chains, the
QDrop input mix and the reconstruction loss, each as ONE torch.compile'd kernel forward and one
backward, written as custom autograd functions so that only float tensors are saved and the model's
own layers (convolutions, BN, activations) stay eager, at their floor.

Why not compile the whole step: every unit shape is then a graph of its own (tens of seconds of
compile each on a CPU), and inductor's CPU kernels that store the boolean masks autograd saves for a
ReLU ran several times slower than eager on this project's machine (experiments/time_to_accuracy).
These kernels are shape-generic (core/compiled.py): one compile per kernel and process, and inductor's
on-disk cache makes later processes cheap. The formulas are the eager code's (quant/lsq.py,
quant/weight.py, quant/qdrop.py, recon/recon_module.py); tests/test_kernels.py holds them equal."""
from __future__ import annotations

from typing import Optional

import torch

from ..core.compiled import kernel
from .rounding import GAMMA, ZETA


# ---- dense tensors as flat views in memory order (NCHW or NHWC alike) ------------------------------
def flat(x: torch.Tensor, rows: bool = False) -> torch.Tensor:
    """`x` (dense, any of the two layouts) as a view in memory order: 1-D, or 2-D (dim 0, the rest)
    with `rows`. Elementwise kernels then see one shape family, whatever the layer."""
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        x = x.permute(0, 2, 3, 1)
    elif not x.is_contiguous():
        x = x.contiguous()
    return x.reshape(x.shape[0], -1) if rows else x.reshape(-1)


def unflat(y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """The flat `y` (from `flat`) as a tensor shaped and laid out like `like`."""
    return y.as_strided(like.shape, like.stride()) if like.dim() != 4 or like.is_contiguous() or \
        like.is_contiguous(memory_format=torch.channels_last) else y.view(like.shape)


def same_layout(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    if x.dim() == 4 and like.is_contiguous(memory_format=torch.channels_last) and not like.is_contiguous():
        return x.contiguous(memory_format=torch.channels_last)
    return x.contiguous()


_SCALARS: dict[tuple, torch.Tensor] = {}


def _scalar(value: float, like: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A 0-d tensor holding `value` (kept: the same few bounds come back every step). Kernels take
    numbers as tensors so that a new value does not compile a new kernel."""
    key = (float(value), like.device, dtype)
    t = _SCALARS.get(key)
    if t is None:
        t = _SCALARS[key] = torch.tensor(value, device=like.device, dtype=dtype)
    return t


# ---- LSQ + QDrop (quant/lsq.py) ------------------------------------------------------------------
def _lsq_forward(x, scale, lo, hi, mask):
    xs = x / scale
    out = torch.round(torch.clamp(xs, lo, hi)) * scale
    return out if mask is None else torch.lerp(out, x, mask)


def _lsq_backward(grad, x, scale, lo, hi, mask, rounded: bool):
    xs = x / scale
    if rounded:
        r = torch.round(xs)
        inside = ((r > lo) & (r < hi)).to(grad.dtype)
        r = torch.clamp(r, lo, hi)
    else:
        cl = torch.clamp(xs, lo, hi)
        inside = (cl == xs).to(grad.dtype)
        r = torch.round(cl)
    grad_q = grad if mask is None else grad * (1.0 - mask)
    grad_in = grad_q * inside
    grad_x = grad_in if mask is None else grad_in + grad * mask
    return grad_x, (grad_q * r - grad_in * xs).sum()


lsq_forward_kernel, lsq_backward_kernel = kernel(_lsq_forward), kernel(_lsq_backward)


class FusedLsq(torch.autograd.Function):
    """quant/lsq.LsqQDrop in two kernels; saves x and the mask only (the rest is recomputed). Tensors
    go in as flat views in memory order, so one compiled kernel serves every layer."""

    @staticmethod
    def forward(ctx, x, scale, lo: int, hi: int, mask: Optional[torch.Tensor], rounded: bool = False):
        bounds = (_scalar(lo, x), _scalar(hi, x))
        m = None if mask is None else flat(same_layout(mask, x))
        ctx.save_for_backward(x, scale, *bounds, *([m] if m is not None else []))
        ctx.rounded = rounded
        return unflat(lsq_forward_kernel(flat(x), scale, *bounds, m), x)

    @staticmethod
    def backward(ctx, grad):
        x, scale, lo, hi, *m = ctx.saved_tensors
        grad_x, grad_scale = lsq_backward_kernel(flat(same_layout(grad, x)), flat(x), scale, lo, hi,
                                                 m[0] if m else None, ctx.rounded)
        return unflat(grad_x, x), grad_scale.reshape(()) if ctx.needs_input_grad[1] else None, None, None, None, None


# ---- the soft-rounded weights and their regulariser (quant/weight.py) ------------------------------
# Per output channel: every weight tensor is seen as (channels, the rest) in memory order.
def _soft_weight_forward(rounding, base, zero_point, scale, qmax):
    h = torch.clamp(torch.sigmoid(rounding) * (ZETA - GAMMA) + GAMMA, 0, 1)
    return (torch.clamp(base + h + zero_point, min=0).minimum(qmax) - zero_point) * scale


def _soft_weight_backward(grad, rounding, base, zero_point, scale, qmax, rw, beta):
    sig = torch.sigmoid(rounding)
    u = sig * (ZETA - GAMMA) + GAMMA
    h = torch.clamp(u, 0, 1)
    q = base + h + zero_point
    dh = sig * (1 - sig) * (ZETA - GAMMA) * ((u >= 0) & (u <= 1)).to(grad.dtype)
    inside_q = ((q >= 0) & (q <= qmax)).to(grad.dtype)
    # the regulariser rw * sum(1 - |2h - 1|^beta): d/dh = -rw * beta * |2h-1|^(beta-1) * sign(2h-1) * 2
    t = 2 * h - 1
    d_rounding = grad * scale * inside_q * dh - rw * beta * t.abs().pow(beta - 1) * torch.sign(t) * 2 * dh
    d_scale = (grad * (torch.clamp(q, min=0).minimum(qmax) - zero_point)).sum(1, keepdim=True)
    return d_rounding, d_scale


def _round_loss(rounding, beta):
    h = torch.clamp(torch.sigmoid(rounding) * (ZETA - GAMMA) + GAMMA, 0, 1)
    return (1 - (2 * h - 1).abs().pow(beta)).sum()


soft_weight_kernel, soft_weight_backward_kernel = kernel(_soft_weight_forward), kernel(_soft_weight_backward)
round_loss_kernel = kernel(_round_loss)


class FusedSoftWeight(torch.autograd.Function):
    """The soft-rounded weights w(V, s) and, through the same backward, the gradient of the rounding
    regulariser `rw * round_loss(V, beta)` (its value comes from `round_loss`): one kernel each way
    per layer instead of about twenty small ones."""

    @staticmethod
    def forward(ctx, rounding, scale, base, zero_point, qmax: int, rw: torch.Tensor, beta: torch.Tensor):
        v, b = flat(rounding, rows=True), flat(base, rows=True)
        zp, s = zero_point.reshape(-1, 1), scale.reshape(-1, 1)
        top = _scalar(qmax, rounding)
        ctx.save_for_backward(rounding, v, b, zp, s, top, rw, beta)
        ctx.scale_shape = scale.shape
        return unflat(soft_weight_kernel(v, b, zp, s, top), rounding)

    @staticmethod
    def backward(ctx, grad):
        rounding, v, b, zp, s, top, rw, beta = ctx.saved_tensors
        d_rounding, d_scale = soft_weight_backward_kernel(flat(same_layout(grad, rounding), rows=True), v, b, zp, s,
                                                          top, rw, beta)
        d_scale = d_scale.view(ctx.scale_shape) if ctx.needs_input_grad[1] else None
        return unflat(d_rounding, rounding), d_scale, None, None, None, None, None


def round_loss(rounding: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """The regulariser's value (no gradient: FusedSoftWeight's backward carries it)."""
    with torch.no_grad():
        return round_loss_kernel(flat(rounding), beta)


# ---- the QDrop input mix and the reconstruction loss (recon/recon_module.py) -----------------------
def _mix(x_fp, x_q, idx, mask):
    return torch.lerp(x_q[idx], x_fp[idx], mask)


def _loss_forward(out, target, idx, inv_positions):
    return (out - target[idx]).pow(2).sum() * inv_positions


def _loss_backward(grad, out, target, idx, inv_positions):
    return grad * (2.0 * inv_positions) * (out - target[idx])


mix_kernel, loss_kernel, loss_backward_kernel = kernel(_mix), kernel(_loss_forward), kernel(_loss_backward)


def mix(x_fp: torch.Tensor, x_q: torch.Tensor, idx: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """QDrop at a unit's input for the batch `idx`: the FP element where the mask is 1."""
    like = x_q[:idx.shape[0]]
    out = mix_kernel(flat(x_fp, rows=True), flat(x_q, rows=True), idx, flat(same_layout(mask, like), rows=True))
    return unflat(out, like)


class FusedLoss(torch.autograd.Function):
    """The squared error summed over channels, mean over batch and positions, against target[idx]."""

    @staticmethod
    def forward(ctx, out, target, idx):
        like = same_layout(out, target[:1])  # the target's layout (a copy only if out's differs)
        o, t = flat(like, rows=True), flat(target, rows=True)
        inv = _scalar(out.shape[1] / out.numel(), out)
        ctx.save_for_backward(o, t, idx, inv)
        ctx.geometry = (like.shape, like.stride())
        return loss_kernel(o, t, idx, inv)

    @staticmethod
    def backward(ctx, grad):
        o, t, idx, inv = ctx.saved_tensors
        return loss_backward_kernel(grad, o, t, idx, inv).as_strided(*ctx.geometry), None, None
