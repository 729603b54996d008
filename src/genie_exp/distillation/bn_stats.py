"""The BatchNorm-statistics loss of Genie-D / ZeroQ, computed per batch within a group of batches.

The teacher is in eval mode, so its outputs for one image do not depend on the rest of the batch;
running G batches concatenated gives each batch exactly the statistics it would have alone. Two
switches depart from the paper's loss: `first_weight` multiplies the first BatchNorm layer's term
(distill.first_bn_weight), and `whole_group` matches the statistics of all the images of the forward
together (distill.stats=group), so that single batches may vary as batches of real images do."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..core.errors import UserError

BN_EPS = 1e-6


class _MeanVar(torch.autograd.Function):
    """Mean and biased variance over `dims` in two plain passes, and a one-pass backward:
    dx = dmean / n + dvar * 2 (x - mean) / n. torch.var_mean's Welford pass and its autograd
    backward took 7x longer on the CPU (measured); the values agree to float rounding."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, dims: tuple[int, ...]):
        mean = x.mean(dims, keepdim=True)
        centred = x - mean
        var = (centred * centred).mean(dims, keepdim=True)
        ctx.save_for_backward(centred)
        ctx.dims = dims
        return mean, var

    @staticmethod
    def backward(ctx, d_mean: torch.Tensor, d_var: torch.Tensor):
        (centred,) = ctx.saved_tensors
        n = 1
        for d in ctx.dims:
            n *= centred.shape[d]
        return torch.addcmul(d_mean / n, centred, d_var * (2.0 / n)), None


def group_stats(x: torch.Tensor, groups: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-group, per-channel mean and std over batch, height and width: two (G, C) tensors."""
    if x.dtype in (torch.bfloat16, torch.float16):  # under autocast: the statistics in float32
        x = x.float()
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        # NHWC: a free (G, B/G * H * W, C) view, reduced over its middle dim with C innermost (the
        # NCHW-shaped reshape below would copy the tensor first).
        g, dims = x.permute(0, 2, 3, 1).reshape(groups, -1, x.shape[1]), (1,)
    else:
        g, dims = x.reshape(groups, x.shape[0] // groups, x.shape[1], -1), (1, 3)
    mean, var = _MeanVar.apply(g, dims)
    return mean.reshape(groups, x.shape[1]), torch.sqrt(var.reshape(groups, x.shape[1]) + BN_EPS)


def stat_loss(mean: torch.Tensor, std: torch.Tensor, target_mean: torch.Tensor,
              target_std: torch.Tensor, batch: int) -> torch.Tensor:
    """(G,) squared distances of mean and std to the targets, divided by the batch size."""
    return ((mean - target_mean).pow(2).sum(-1) + (std - target_std).pow(2).sum(-1)) / batch


class BNStatsLoss:
    """Forward pre-hooks on every BatchNorm2d that compare each batch's input statistics with the
    running statistics stored in the layer. Use as a context manager around the teacher's forward."""

    def __init__(self, teacher: nn.Module, first_weight: float = 1.0, whole_group: bool = False):
        self.layers = [m for m in teacher.modules() if isinstance(m, nn.BatchNorm2d)]
        if not self.layers:
            raise UserError("distillation needs a teacher with BatchNorm layers (its statistics are the "
                            "target); use distill=noise or distill=real for this model")
        self.first_weight, self.whole_group = float(first_weight), bool(whole_group)
        self.groups = 1
        self.terms: list[torch.Tensor] = []
        self.handles: list = []

    def _hook(self, bn: nn.BatchNorm2d, args):
        x = args[0]
        mean, std = group_stats(x, self.groups)
        target_std = torch.sqrt(bn.running_var + BN_EPS)
        term = stat_loss(mean, std, bn.running_mean, target_std, x.shape[0] // self.groups)
        self.terms.append(term * self.first_weight if not self.terms else term)

    def __enter__(self) -> "BNStatsLoss":
        self.handles = [bn.register_forward_pre_hook(self._hook) for bn in self.layers]
        return self

    def __exit__(self, *exc) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []

    def forward(self, teacher: nn.Module, images: torch.Tensor, groups: int):
        """(bn_loss, image_loss, output): the two terms, each (G,), BN term summed over layers, image term
        toward N(0, 1); and the teacher's output, for a loss on its logits. With `whole_group` every
        batch carries the group's one loss, divided by G (the group's total is that loss)."""
        fitted = 1 if self.whole_group else groups
        self.groups, self.terms = fitted, []
        out = teacher(images)
        bn = torch.stack(self.terms).sum(0)
        mean, std = group_stats(images, fitted)
        img = stat_loss(mean, std, torch.zeros_like(mean[0]), torch.ones_like(std[0]), images.shape[0] // fitted)
        if fitted != groups:
            bn, img = bn.expand(groups) / groups, img.expand(groups) / groups
        return bn, img, out
