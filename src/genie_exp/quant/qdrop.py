"""QDrop's random mix of full-precision and quantized activations, made cheap on the CPU.

Per element: the FP value with probability p, else the quantized one. The random draws dominated a CPU
reconstruction step (experiments/bench): `torch.rand_like` costs one 32-bit draw per element. So on the
CPU, p = 0.5 (the paper's) takes ONE random bit per element: 64-bit draws viewed as bytes, each byte
expanded to 8 floats through a 256 x 8 table (one embedding lookup); other p come from 16-bit slices
of 64-bit draws (p resolved to 1/65536). The mix is `lerp(q, fp, mask)`, which for a 0/1 mask returns
exactly q or fp and has torch.where's gradients (where itself is unvectorised on the CPU, about 20x
slower). The mask is drawn in NCHW order (so NHWC and NCHW runs draw the same mask) and handed over in
the memory layout of the tensor it masks: a channels_last activation mixed with an NCHW mask made
every elementwise op that touches both several times slower."""
from __future__ import annotations

import torch
import torch.nn.functional as F

LEVELS = 1 << 16
_BITS = ((torch.arange(256)[:, None] >> torch.arange(8)) & 1).float()  # byte -> its 8 bits as floats


def _bit_mask(n: int, dtype: torch.dtype) -> torch.Tensor:
    words = torch.randint(-(2 ** 63), 2 ** 63 - 1, ((n + 63) // 64,), dtype=torch.int64)
    return F.embedding(words.view(torch.uint8).long(), _BITS.to(dtype)).view(-1)[:n]


def _sliced_mask(n: int, p: float, dtype: torch.dtype) -> torch.Tensor:
    words = torch.randint(-(2 ** 63), 2 ** 63 - 1, ((n + 3) // 4,), dtype=torch.int64)
    halves = words.view(torch.int16)[:n]  # uniform on [-32768, 32767]
    return (halves < round(p * LEVELS) - LEVELS // 2).to(dtype)


def drop_mask(like: torch.Tensor, p: float) -> torch.Tensor:
    """A 0/1 mask shaped, typed and laid out like `like`: 1 with probability p (keep the FP value)."""
    if p <= 0:
        return torch.zeros_like(like)
    if p >= 1:
        return torch.ones_like(like)
    if like.device.type != "cpu":
        return (torch.rand_like(like) < p).to(like.dtype)
    n = like.numel()
    mask = (_bit_mask(n, like.dtype) if p == 0.5 else _sliced_mask(n, p, like.dtype)).view(like.shape)
    if like.dim() == 4 and not like.is_contiguous() and like.is_contiguous(memory_format=torch.channels_last):
        mask = mask.contiguous(memory_format=torch.channels_last)
    return mask


def qdrop_mix(fp: torch.Tensor, quantized: torch.Tensor, p: float) -> torch.Tensor:
    """fp where the mask is 1, quantized elsewhere; gradients flow to both like torch.where."""
    if p <= 0:
        return quantized
    return torch.lerp(quantized, fp, drop_mask(quantized, p))
