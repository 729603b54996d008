"""The LSQ activation quantizer (per tensor, learned step, straight-through rounding) with QDrop."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..core import compiled
from . import kernels
from .grid import act_levels, search_act_scale
from .lsq import lsq_qdrop
from .qdrop import drop_mask


class ActQuantizer(nn.Module):
    """`signed` and `initialized` decide the output, so they are buffers (in state_dict), mirrored in
    Python attributes so that a forward pass never reads a tensor (no device sync, traceable)."""

    def __init__(self, bits: int, p: float = 2.4):
        super().__init__()
        self.bits, self.p = bits, p
        self.scale = nn.Parameter(torch.tensor(1.0))
        self.register_buffer("signed", torch.tensor(False))
        self.register_buffer("initialized", torch.tensor(False))
        self.is_signed = self.is_initialized = False
        self.calibrating = False  # the next forward sets the step from its input
        self.drop_prob = 0.0  # QDrop: probability of leaving an element in FP (training only)
        self.rounded_grad = False  # recon.lsq_grad=rounded (see quant/lsq.py)

    @torch.no_grad()
    def init_from(self, x: torch.Tensor) -> None:
        signed = bool(x.min() < 0)
        self.signed.fill_(signed)
        self.scale.fill_(search_act_scale(x, self.bits, signed, self.p))
        self.initialized.fill_(True)
        self.is_signed, self.is_initialized = signed, True

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self.is_signed, self.is_initialized = bool(self.signed), bool(self.initialized)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.calibrating:
            self.init_from(x)
            self.calibrating = False
        if not self.is_initialized:
            return x
        lo, hi = act_levels(self.bits, self.is_signed)
        if x.dtype in (torch.bfloat16, torch.float16):  # under autocast: fake-quantize in float32
            x = x.float()
        # QDrop: each element stays FP with probability drop_prob (training only)
        mask = drop_mask(x, self.drop_prob) if self.training and self.drop_prob > 0 else None
        if compiled.active():
            return kernels.FusedLsq.apply(x, self.scale, lo, hi, mask, self.rounded_grad)
        return lsq_qdrop(x, self.scale, lo, hi, mask, self.rounded_grad)

    def extra_repr(self) -> str:
        return f"bits={self.bits}, signed={self.is_signed}, scale={float(self.scale):.4g}"
