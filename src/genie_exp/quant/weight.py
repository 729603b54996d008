"""The Genie-M weight quantizer: per output channel, asymmetric, a fixed integer base B = floor(w / s0),
AdaRound rounding variables V and a step size s that can be learned jointly with V.

    w_q = s * (clamp(B + h(V) + zp, 0, 2^b - 1) - zp),   h(V) = clip(sigmoid(V) * (zeta - gamma) + gamma, 0, 1)
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn

from . import kernels
from .grid import fake_quant_asym, search_weight_range
from .rounding import GAMMA, ZETA, rectified_sigmoid

MODES = ("nearest", "soft", "hard")


class WeightQuantizer(nn.Module):
    """Modes: 'nearest' (RTN with the searched step), 'soft' (learning), 'hard' (after learning).

    The mode decides the output, so it is state: the `mode_id` buffer (in state_dict, restored by
    load_state_dict), mirrored in a Python attribute so that a forward pass never reads a tensor."""

    def __init__(self, weight: torch.Tensor, bits: int, p: float = 2.4):
        super().__init__()
        self.bits = bits
        scale, zp = search_weight_range(weight, bits, p)
        shape = (-1,) + (1,) * (weight.dim() - 1)
        self.scale = nn.Parameter(scale.view(shape).to(weight.dtype))
        self.register_buffer("zero_point", zp.view(shape).to(weight.dtype))
        w_s = weight.detach() / self.scale.detach()
        self.register_buffer("base", torch.floor(w_s))
        rest = (w_s - self.base).clamp(0, 1)
        # h(V) == rest at init, so soft rounding starts at the FP weight and hard rounding at nearest.
        self.rounding = nn.Parameter(torch.logit(((rest - GAMMA) / (ZETA - GAMMA)).clamp(1e-6, 1 - 1e-6)))
        self.register_buffer("mode_id", torch.tensor(0, dtype=torch.uint8))
        self._mode = "nearest"
        # The final weights, computed once; a buffer so `.to(device)` moves it, not saved in state dicts
        # (they follow from the saved state: recomputed on the first forward after a load).
        self.register_buffer("frozen", None, persistent=False)
        # (weight, exponent) of the rounding regulariser as 0-d tensors while a fused reconstruction
        # step runs: the soft weights' backward then carries its gradient too
        self.regulariser: Optional[tuple[torch.Tensor, torch.Tensor]] = None

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        self.mode_id.fill_(MODES.index(value))
        self._mode = value

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._mode = MODES[int(self.mode_id)]
        self.frozen = None

    @property
    def qmax(self) -> int:
        return 2 ** self.bits - 1

    def soft_rounding(self) -> torch.Tensor:
        return rectified_sigmoid(self.rounding)

    def integer_codes(self, weight: torch.Tensor) -> torch.Tensor:
        """The integers in [0, 2^b - 1] the weights are stored as (zero point included)."""
        if self._mode == "nearest":
            q = torch.round(weight / self.scale)
        elif self._mode == "soft":
            q = self.base + self.soft_rounding()
        else:
            q = self.base + (self.rounding >= 0).to(self.base.dtype)
        return torch.clamp(q + self.zero_point, 0, self.qmax)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if self.frozen is not None:
            return self.frozen
        if self._mode == "hard":  # decided: computed once (also after a load), never learned again
            with torch.no_grad():
                self.frozen = ((self.integer_codes(weight) - self.zero_point) * self.scale).detach()
            return self.frozen
        if self._mode == "nearest":
            return fake_quant_asym(weight, self.scale, self.zero_point, self.bits)
        if self.regulariser is not None:  # inside a fused reconstruction step (quant/kernels.py)
            rw, beta = self.regulariser
            return kernels.FusedSoftWeight.apply(self.rounding, self.scale, self.base, self.zero_point, self.qmax,
                                                 rw, beta)
        return (self.integer_codes(weight) - self.zero_point) * self.scale

    def round_loss(self, beta: float) -> torch.Tensor:
        """AdaRound's regulariser: pushes every h(V) to 0 or 1 as beta anneals."""
        return (1 - (2 * self.soft_rounding() - 1).abs().pow(beta)).sum()

    @torch.no_grad()
    def freeze(self, weight: torch.Tensor) -> None:
        """Hard rounding, and the quantized weights kept so they are not recomputed every forward."""
        if self.mode == "soft":
            self.mode = "hard"
        self.frozen = None
        self.frozen = self.forward(weight).detach()

    def unfreeze(self) -> None:
        self.frozen = None
