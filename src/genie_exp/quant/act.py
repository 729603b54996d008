"""The LSQ activation quantizer (per tensor, learned step, straight-through rounding) with QDrop."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..core import compiled
from . import kernels
from ..core.errors import UserError
from .grid import ACT_GRIDS, search_act_grid
from .lsq import lsq_qdrop
from .qdrop import drop_mask


class ActQuantizer(nn.Module):
    """`offset` (how many levels lie below zero: 0 unsigned, 2^(bits-1) the symmetric signed grid, in
    between a grid whose zero sits where the calibration range put it; quant/grid.py) and
    `initialized` decide the output, so they are buffers (in state_dict), mirrored in Python attributes
    so that a forward pass never reads a tensor (no device sync, traceable). The `signed` buffer
    (offset > 0) stays in the state for the files saved before offsets existed, which it maps.
    `grid`: "symmetric" (the paper's) or "auto" (quant.act_grid)."""

    def __init__(self, bits: int, p: float = 2.4, grid: str = "symmetric"):
        super().__init__()
        if grid not in ACT_GRIDS:
            raise UserError(f"unknown quant.act_grid '{grid}' (choose from: {', '.join(ACT_GRIDS)})")
        self.bits, self.p, self.grid = bits, p, grid
        self.scale = nn.Parameter(torch.tensor(1.0))
        self.register_buffer("signed", torch.tensor(False))
        self.register_buffer("offset", torch.tensor(0))
        self.register_buffer("initialized", torch.tensor(False))
        self.is_initialized = False
        self.low = 0  # the offset, mirrored
        self.calibrating = False  # the next forward sets the step from its input
        self.drop_prob = 0.0  # QDrop: probability of leaving an element in FP (training only)
        self.rounded_grad = False  # recon.lsq_grad=rounded (see quant/lsq.py)

    @torch.no_grad()
    def init_from(self, x: torch.Tensor) -> None:
        scale, offset = search_act_grid(x, self.bits, self.grid, self.p)
        self.scale.fill_(scale)
        self.offset.fill_(offset)
        self.signed.fill_(offset > 0)
        self.initialized.fill_(True)
        self.low, self.is_initialized = offset, True

    @property
    def is_signed(self) -> bool:
        return self.low > 0

    def levels(self) -> tuple[int, int]:
        """The integer range: round(clamp(x / scale, lo, hi)) * scale."""
        return -self.low, 2 ** self.bits - 1 - self.low

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        if prefix + "offset" not in state_dict and prefix + "signed" in state_dict:
            # a state with a sign flag and no offset (quantized.pt files of that layout): signed is the symmetric grid
            signed = bool(state_dict[prefix + "signed"])
            state_dict[prefix + "offset"] = torch.tensor(2 ** (self.bits - 1) if signed else 0)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self.is_initialized, self.low = bool(self.initialized), int(self.offset)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.calibrating:
            self.init_from(x)
            self.calibrating = False
        if not self.is_initialized:
            return x
        lo, hi = self.levels()
        if x.dtype in (torch.bfloat16, torch.float16):  # under autocast: fake-quantize in float32
            x = x.float()
        # QDrop: each element stays FP with probability drop_prob (training only)
        mask = drop_mask(x, self.drop_prob) if self.training and self.drop_prob > 0 else None
        if compiled.active():
            return kernels.FusedLsq.apply(x, self.scale, lo, hi, mask, self.rounded_grad)
        return lsq_qdrop(x, self.scale, lo, hi, mask, self.rounded_grad)

    def extra_repr(self) -> str:
        lo, hi = self.levels()
        return f"bits={self.bits}, levels=[{lo}, {hi}], scale={float(self.scale.detach()):.4g}"
