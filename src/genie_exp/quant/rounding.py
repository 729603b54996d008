"""AdaRound's rectified sigmoid h(V) = clip(sigmoid(V) * (zeta - gamma) + gamma, 0, 1), shared by the
weight quantizer and its fused kernels."""
from __future__ import annotations

import torch

ZETA, GAMMA = 1.1, -0.1


def rectified_sigmoid(v: torch.Tensor) -> torch.Tensor:
    return torch.clamp(torch.sigmoid(v) * (ZETA - GAMMA) + GAMMA, 0, 1)
