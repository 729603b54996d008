"""The LSQ activation quantizer (per tensor, learned step, straight-through rounding) with QDrop."""
from __future__ import annotations

import torch
import torch.nn as nn

from .grid import act_levels, search_act_scale


class ActQuantizer(nn.Module):
    def __init__(self, bits: int, p: float = 2.4):
        super().__init__()
        self.bits, self.p = bits, p
        self.scale = nn.Parameter(torch.tensor(1.0))
        self.register_buffer("signed", torch.tensor(False))
        self.register_buffer("initialized", torch.tensor(False))
        self.calibrating = False  # the next forward sets the step from its input
        self.drop_prob = 0.0  # QDrop: probability of leaving an element in FP (training only)

    @torch.no_grad()
    def init_from(self, x: torch.Tensor) -> None:
        signed = bool(x.min() < 0)
        self.signed.fill_(signed)
        self.scale.fill_(search_act_scale(x, self.bits, signed, self.p))
        self.initialized.fill_(True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.calibrating:
            self.init_from(x)
            self.calibrating = False
        if not bool(self.initialized):
            return x
        lo, hi = act_levels(self.bits, bool(self.signed))
        xs = x / self.scale
        xs = xs + (torch.round(xs) - xs).detach()  # straight-through rounding: LSQ's step gradient
        xq = torch.clamp(xs, lo, hi) * self.scale
        if self.training and self.drop_prob > 0:
            xq = torch.where(torch.rand_like(x) < self.drop_prob, x, xq)
        return xq

    def extra_repr(self) -> str:
        return f"bits={self.bits}, signed={bool(self.signed)}, scale={float(self.scale):.4g}"
