"""QDrop's random mix of full-precision and quantized activations, made cheap on the CPU.

Per element: the FP value with probability p, else the quantized one. Two costs dominated a CPU
reconstruction step (measured in experiments/bench): `torch.rand_like` (one 32-bit draw per element)
and `torch.where` (unvectorised here, about 20x slower than `torch.lerp`). So on the CPU the mask
comes from 16-bit slices of 64-bit draws (p resolved to 1/65536; 0.5 exactly) and the mix is
`lerp(q, fp, mask)`, which for a 0/1 mask returns exactly q or fp and has where's gradients."""
from __future__ import annotations

import torch

LEVELS = 1 << 16


def drop_mask(like: torch.Tensor, p: float) -> torch.Tensor:
    """A 0/1 mask shaped and typed like `like`: 1 with probability p (keep the FP value)."""
    if p <= 0:
        return torch.zeros_like(like)
    if p >= 1:
        return torch.ones_like(like)
    if like.device.type != "cpu":
        return (torch.rand_like(like) < p).to(like.dtype)
    n = like.numel()
    words = torch.randint(-(2 ** 63), 2 ** 63 - 1, ((n + 3) // 4,), dtype=torch.int64)
    halves = words.view(torch.int16)[:n].view(like.shape)  # uniform on [-32768, 32767]
    return (halves < round(p * LEVELS) - LEVELS // 2).to(like.dtype)


def qdrop_mix(fp: torch.Tensor, quantized: torch.Tensor, p: float) -> torch.Tensor:
    """fp where the mask is 1, quantized elsewhere; gradients flow to both like torch.where."""
    if p <= 0:
        return quantized
    return torch.lerp(quantized, fp, drop_mask(quantized, p))
